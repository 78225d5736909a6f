//! Inline SVG charts (pure string building): a line / area chart over evenly spaced
//! points and a year x month heat map. Every number is formatted with fixed decimals and
//! every text goes through [`crate::escape`].

use crate::escape;
use std::fmt::Write;

/// A chart's drawing area inside its viewBox (`0 0 width height`): the plot is inset by
/// `left` (for the y labels) and `pad` on the other sides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub pad: f64,
}

/// The frame of the line charts.
pub const LINE_FRAME: Frame = Frame { width: 900.0, height: 260.0, left: 70.0, pad: 20.0 };

impl Frame {
    /// x of point `i` of `n`, evenly spaced across the plot (a lone point sits left).
    pub fn x(&self, i: usize, n: usize) -> f64 {
        let span = self.width - self.left - self.pad;
        self.left + if n > 1 { span * i as f64 / (n - 1) as f64 } else { 0.0 }
    }

    /// y of `v` on a scale from `lo` (bottom) to `hi` (top); a flat scale draws mid-height.
    pub fn y(&self, v: f64, lo: f64, hi: f64) -> f64 {
        let (top, bottom) = (self.pad, self.height - self.pad);
        if hi - lo <= 0.0 || !v.is_finite() {
            return (top + bottom) / 2.0;
        }
        bottom - (bottom - top) * ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
    }
}

/// The smallest and largest finite values (`(0, 0)` when none).
pub fn bounds(ys: &[f64]) -> (f64, f64) {
    let finite = ys.iter().copied().filter(|v| v.is_finite());
    let lo = finite.clone().fold(f64::INFINITY, f64::min);
    let hi = finite.fold(f64::NEG_INFINITY, f64::max);
    if lo.is_finite() {
        (lo, hi)
    } else {
        (0.0, 0.0)
    }
}

/// The SVG path (`M x y L x y ...`) of `ys`, evenly spaced in x, scaled to `[lo, hi]`.
pub fn path(ys: &[f64], frame: &Frame, lo: f64, hi: f64) -> String {
    let mut d = String::with_capacity(ys.len() * 16);
    for (i, v) in ys.iter().enumerate() {
        let cmd = if i == 0 { 'M' } else { 'L' };
        let _ = write!(d, "{cmd}{:.1} {:.1} ", frame.x(i, ys.len()), frame.y(*v, lo, hi));
    }
    d.trim_end().to_string()
}

/// One line chart: the series, its min / max on the y axis, the first / last labels on
/// the x axis. `area` fills between the line and the top (the underwater chart).
pub struct LineChart<'a> {
    pub title: &'a str,
    pub ys: &'a [f64],
    pub first_label: &'a str,
    pub last_label: &'a str,
    pub colour: &'a str,
    pub area: bool,
    pub format: fn(f64) -> String,
    /// A second series drawn under the first, grey and dashed (the benchmark), on the
    /// same scale; same length as `ys`.
    pub benchmark: Option<&'a [f64]>,
}

impl LineChart<'_> {
    /// The inline `<svg>` element (see [`standalone`] for a file).
    pub fn render(&self) -> String {
        let f = LINE_FRAME;
        let (mut lo, mut hi) = bounds(self.ys);
        if let Some(b) = self.benchmark {
            let (blo, bhi) = bounds(b);
            (lo, hi) = (lo.min(blo), hi.max(bhi));
        }
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}"><title>{t}</title>"#,
            w = f.width,
            h = f.height,
            t = escape(self.title)
        );
        let _ = write!(
            s,
            r##"<rect x="{l}" y="{p}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#ccc"/>"##,
            l = f.left,
            p = f.pad,
            pw = f.width - f.left - f.pad,
            ph = f.height - 2.0 * f.pad
        );
        if let Some(b) = self.benchmark.filter(|b| !b.is_empty()) {
            let _ = write!(
                s,
                r##"<path d="{}" fill="none" stroke="#999" stroke-width="1" stroke-dasharray="4 3" class="benchmark"/>"##,
                path(b, &f, lo, hi)
            );
        }
        if !self.ys.is_empty() {
            let d = path(self.ys, &f, lo, hi);
            if self.area {
                let (x0, x1) = (f.x(0, self.ys.len()), f.x(self.ys.len() - 1, self.ys.len()));
                let _ = write!(
                    s,
                    r#"<path d="{d} L{x1:.1} {p:.1} L{x0:.1} {p:.1} Z" fill="{c}" fill-opacity="0.3" stroke="none"/>"#,
                    p = f.pad,
                    c = self.colour
                );
            }
            let _ = write!(s, r#"<path d="{d}" fill="none" stroke="{c}" stroke-width="1.5"/>"#, c = self.colour);
        }
        let text = |s: &mut String, x: f64, y: f64, anchor: &str, t: &str| {
            let _ = write!(
                s,
                r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="11" font-family="sans-serif">{}</text>"#,
                escape(t)
            );
        };
        text(&mut s, f.left - 4.0, f.pad + 4.0, "end", &(self.format)(hi));
        text(&mut s, f.left - 4.0, f.height - f.pad, "end", &(self.format)(lo));
        text(&mut s, f.left, f.height - 4.0, "start", self.first_label);
        text(&mut s, f.width - f.pad, f.height - 4.0, "end", self.last_label);
        s.push_str("</svg>");
        s
    }
}

/// An inline `<svg>` as a standalone file: the namespace declared (inline SVG in HTML
/// needs none, so the page itself names no URL at all).
pub fn standalone(svg: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n", svg.replacen("<svg ", "<svg xmlns=\"http://www.w3.org/2000/svg\" ", 1))
}

/// The fill of a heat-map cell: green for gains, red for losses, stronger with `|r| /
/// scale` (white at 0).
pub fn heat_colour(r: f64, scale: f64) -> String {
    let k = if scale > 0.0 && r.is_finite() { (r.abs() / scale).clamp(0.0, 1.0) } else { 0.0 };
    let fade = |full: f64| (255.0 - (255.0 - full) * k).round() as u8;
    if r >= 0.0 {
        format!("rgb({},{},{})", fade(30.0), fade(150.0), fade(60.0))
    } else {
        format!("rgb({},{},{})", fade(200.0), fade(40.0), fade(40.0))
    }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// The year x month grid of monthly returns (`(year, month 1..=12, return)`), one row
/// per year present; missing months are blank.
pub fn heat_map(title: &str, cells: &[(i64, u32, f64)]) -> String {
    let years: std::collections::BTreeSet<i64> = cells.iter().map(|c| c.0).collect();
    let (cw, ch, left, top) = (64.0, 26.0, 60.0, 24.0);
    let (w, h) = (left + 12.0 * cw + 10.0, top + years.len() as f64 * ch + 10.0);
    let scale = cells.iter().map(|c| c.2.abs()).filter(|v| v.is_finite()).fold(0.0, f64::max);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = escape(title)
    );
    for (m, name) in MONTHS.iter().enumerate() {
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="16" text-anchor="middle" font-size="11" font-family="sans-serif">{name}</text>"#,
            left + (m as f64 + 0.5) * cw
        );
    }
    for (row, year) in years.iter().enumerate() {
        let y = top + row as f64 * ch;
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11" font-family="sans-serif">{year}</text>"#,
            left - 6.0,
            y + ch / 2.0 + 4.0
        );
        for &(_, month, r) in cells.iter().filter(|c| c.0 == *year && (1..=12).contains(&c.1)) {
            let x = left + (month - 1) as f64 * cw;
            let _ = write!(
                s,
                r##"<rect class="month" x="{x:.1}" y="{y:.1}" width="{cw}" height="{ch}" fill="{}" stroke="#fff"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10" font-family="sans-serif">{:+.1}%</text>"##,
                heat_colour(r, scale),
                x + cw / 2.0,
                y + ch / 2.0 + 4.0,
                r * 100.0
            );
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coords(d: &str) -> Vec<(f64, f64)> {
        d.split(['M', 'L'])
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                let mut it = p.split_whitespace().map(|n| n.parse::<f64>().unwrap());
                (it.next().unwrap(), it.next().unwrap())
            })
            .collect()
    }

    #[test]
    fn path_is_monotone_in_x_and_inside_the_view_box() {
        let ys: Vec<f64> = (0..500).map(|i| 100.0 + (i as f64 * 0.37).sin() * 20.0 - i as f64 * 0.05).collect();
        let (lo, hi) = bounds(&ys);
        let f = LINE_FRAME;
        let pts = coords(&path(&ys, &f, lo, hi));
        assert_eq!(pts.len(), ys.len());
        assert!(pts.windows(2).all(|w| w[1].0 > w[0].0), "x strictly increasing");
        assert!(pts.iter().all(|&(x, y)| (0.0..=f.width).contains(&x) && (0.0..=f.height).contains(&y)));
        // The extremes touch the plot's top and bottom edges.
        let ymin = pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let ymax = pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        assert_eq!((ymin, ymax), (f.pad, f.height - f.pad));
        // A higher value is drawn higher (smaller y).
        let i_hi = ys.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert_eq!(pts[i_hi].1, f.pad);
    }

    #[test]
    fn flat_lone_and_non_finite_series_stay_inside() {
        let f = LINE_FRAME;
        for ys in [vec![5.0; 10], vec![3.0], vec![1.0, f64::NAN, 2.0]] {
            let (lo, hi) = bounds(&ys);
            for (x, y) in coords(&path(&ys, &f, lo, hi)) {
                assert!((0.0..=f.width).contains(&x) && (0.0..=f.height).contains(&y), "{ys:?}");
            }
        }
    }

    #[test]
    fn heat_colours_by_sign_and_magnitude() {
        assert_eq!(heat_colour(0.0, 0.1), "rgb(255,255,255)");
        assert_eq!(heat_colour(0.1, 0.1), "rgb(30,150,60)");
        assert_eq!(heat_colour(-0.1, 0.1), "rgb(200,40,40)");
        let m = heat_map("t", &[(2022, 1, 0.05), (2022, 2, -0.02), (2023, 12, 0.01)]);
        assert_eq!(m.matches(r#"class="month""#).count(), 3);
        assert!(m.contains(">2022<") && m.contains(">2023<"));
    }
}
