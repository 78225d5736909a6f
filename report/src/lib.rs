//! The HTML report of a backtest: one self-contained file (inline CSS and inline SVG, no
//! script, no external URL) built from the performance report JSON (the actors crate's
//! `backtest::report::performance`, also the result file), so the CLI and
//! `GET /api/backtest/report/{id}` render the same thing. Pure string building.
//!
//! A crate of its own because it is presentation, not trading: it reads the report only
//! as a `serde_json::Value` and depends on nothing else of the workspace, so the actors
//! (which serve it over HTTP) and the binary (`tradpal backtest --report`) both use it
//! without one reaching into the other, and editing a chart does not rebuild the actors.
//!
//! Sections: the headline (strategy, symbol, period), every metric of the report, the
//! equity curve, the drawdown (underwater) chart, the monthly returns heat map, any
//! extra analysis block the report carries ([`EXTRA_SECTIONS`]), and the trade list (at
//! most [`HTML_TRADES_MAX`] rows: the first and last halves, with a note when cut).
//! Every text from the report (the strategy's name and parameters come from users) is
//! escaped.
//!
//! The charts draw the report's equity curve, thinned by the actors' report to at most
//! `backtest::report::EQUITY_POINTS_MAX` points with every stretch's extremes and the
//! deepest drawdown kept, so the drawn trough is the metrics table's `max_drawdown`. The
//! equity chart has the buy-and-hold benchmark as a grey line.
//!
//! # Layout
//!
//! - `lib.rs`: [`render`], [`equity_svg`], [`escape`], the sections.
//! - `tearsheet.rs`: the metrics table (labels, units, groups; how returns were
//!   annualised) and attribution as tables.
//! - `svg.rs`: the chart builders ([`svg::path`], [`svg::LineChart`], [`svg::heat_map`]).

pub mod svg;
mod tearsheet;

use serde_json::Value;
use std::fmt::Write;

/// Most trades listed in the HTML (the first and the last half of them).
pub const HTML_TRADES_MAX: usize = 200;
/// Optional top-level blocks of the report shown as key / value tables when present.
pub const EXTRA_SECTIONS: &[(&str, &str)] = &[("monte_carlo", "Monte Carlo"), ("lookahead", "Look-ahead check")];

const STYLE: &str = "body{font-family:sans-serif;margin:24px;color:#222;max-width:1000px}\
h1{font-size:20px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;font-size:12px}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}\
th{background:#f4f4f4}td.k{text-align:left;color:#555}.note{color:#a60;font-size:12px}\
.metrics{display:flex;flex-wrap:wrap;gap:16px}.metrics table{min-width:230px}h3{font-size:14px}\
.pos{color:#1a7f37}.neg{color:#c62828}";

/// Escapes `& < > " '` for HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A JSON value as table text: numbers with fixed decimals, null as `n/a`, objects and
/// arrays compact.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "n/a".into(),
        Value::String(s) => escape(s),
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if x.abs() >= 1000.0 {
                format!("{x:.2}")
            } else {
                format!("{x:.4}")
            }
        }
        other => escape(&other.to_string()),
    }
}

fn text(v: &Value) -> String {
    escape(v.as_str().unwrap_or(""))
}

fn pct(x: f64) -> String {
    format!("{:+.2}%", x * 100.0)
}

fn money(x: f64) -> String {
    format!("{x:.2}")
}

/// The equity curve's values and its first / last times.
fn equity(doc: &Value) -> (Vec<f64>, String, String) {
    let pts = doc["equity_curve"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let ys = pts.iter().map(|p| p["equity"].as_f64().unwrap_or(f64::NAN)).collect();
    let time = |p: Option<&Value>| p.and_then(|p| p["time"].as_str()).unwrap_or("").to_string();
    (ys, time(pts.first()), time(pts.last()))
}

/// Drawdown from the running peak at each point (0 or negative).
pub fn underwater(ys: &[f64]) -> Vec<f64> {
    let mut peak = f64::NEG_INFINITY;
    ys.iter()
        .map(|&y| {
            peak = peak.max(y);
            if peak > 0.0 && y.is_finite() {
                y / peak - 1.0
            } else {
                0.0
            }
        })
        .collect()
}

fn equity_chart(doc: &Value) -> String {
    let (ys, first, last) = equity(doc);
    let bench: Vec<f64> =
        doc["benchmark_curve"].as_array().map_or_else(Vec::new, |b| b.iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect());
    svg::LineChart {
        title: "Equity (grey: buy and hold)",
        ys: &ys,
        first_label: &first,
        last_label: &last,
        colour: "#1f5fbf",
        area: false,
        format: money,
        benchmark: (bench.len() == ys.len()).then_some(&bench[..]),
    }
    .render()
}

/// The equity curve alone, as a standalone SVG file (`--equity-svg`).
pub fn equity_svg(doc: &Value) -> String {
    svg::standalone(&equity_chart(doc))
}

/// The whole page (see the module doc).
pub fn render(doc: &Value) -> String {
    let mut s = String::with_capacity(64 * 1024);
    let title = format!(
        "Backtest: {} on {} {}",
        doc["description"].as_str().unwrap_or(""),
        doc["symbol"].as_str().unwrap_or(""),
        doc["timeframe"].as_str().unwrap_or("")
    );
    let _ = write!(s, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1>", t = escape(&title));
    let m = &doc["metrics"];
    let _ = write!(
        s,
        "<p>{} .. {} &middot; {} bars &middot; equity {} &rarr; {} &middot; fees {} &middot; event stream <code>{}</code></p>",
        text(&m["start"]),
        text(&m["end"]),
        cell(&m["bars"]),
        cell(&doc["starting_cash"]),
        cell(&doc["final_equity"]),
        cell(&doc["fees_paid"]),
        text(&doc["event_stream_hash"])
    );
    for n in doc["notes"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let _ = write!(s, "<p class=\"note\">Note: {}</p>", text(n));
    }
    s.push_str("<h2>Metrics</h2>");
    tearsheet::metrics(&mut s, m);
    s.push_str("<h2>Equity curve</h2>");
    s.push_str(&equity_chart(doc));
    let (ys, first, last) = equity(doc);
    s.push_str("<h2>Drawdown</h2>");
    let dd = underwater(&ys);
    s.push_str(
        &svg::LineChart {
            title: "Drawdown",
            ys: &dd,
            first_label: &first,
            last_label: &last,
            colour: "#c62828",
            area: true,
            format: pct,
            benchmark: None,
        }
        .render(),
    );
    s.push_str("<h2>Monthly returns</h2>");
    s.push_str(&svg::heat_map("Monthly returns", &monthly(doc)));
    if doc["attribution"].is_object() {
        s.push_str("<h2>Attribution</h2>");
        tearsheet::attribution(&mut s, &doc["attribution"]);
    }
    for (key, name) in EXTRA_SECTIONS {
        if doc[*key].is_object() {
            let _ = write!(s, "<h2>{}</h2>", escape(name));
            key_values(&mut s, &doc[*key], key);
        }
    }
    trades(&mut s, doc);
    s.push_str("</body></html>\n");
    s
}

/// `(year, month, return)` of the report's monthly returns.
fn monthly(doc: &Value) -> Vec<(i64, u32, f64)> {
    let rows = doc["monthly_returns"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    rows.iter().filter_map(|r| Some((r["year"].as_i64()?, u32::try_from(r["month"].as_u64()?).ok()?, r["return"].as_f64()?))).collect()
}

/// An object's fields as a two-column table (in the object's key order).
fn key_values(s: &mut String, obj: &Value, class: &str) {
    let Some(map) = obj.as_object() else { return };
    let _ = write!(s, "<table class=\"{}\">", escape(class));
    for (k, v) in map {
        let _ = write!(s, "<tr><td class=\"k\">{}</td><td>{}</td></tr>", escape(k), cell(v));
    }
    s.push_str("</table>");
}

/// The trade list, at most [`HTML_TRADES_MAX`] rows.
fn trades(s: &mut String, doc: &Value) {
    let list = doc["trades"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let total = doc["trades_total"].as_u64().unwrap_or(list.len() as u64);
    let _ = write!(s, "<h2>Trades</h2><p data-trades-total=\"{total}\">{total} closed trades.</p>");
    let half = HTML_TRADES_MAX / 2;
    let (head, tail): (&[Value], &[Value]) =
        if list.len() > HTML_TRADES_MAX { (&list[..half], &list[list.len() - half..]) } else { (list, &[]) };
    if !tail.is_empty() {
        let _ = write!(
            s,
            "<p class=\"note\">Showing the first {half} and the last {half} of {} trades (HTML_TRADES_MAX = {HTML_TRADES_MAX}).</p>",
            list.len()
        );
    }
    if doc["trades_truncated"] == true {
        let _ = write!(s, "<p class=\"note\">The report itself keeps only the first {} of {total} trades.</p>", list.len());
    }
    s.push_str("<table><tr><th>#</th><th>position</th><th>entry</th><th>exit</th><th>entry price</th><th>exit price</th><th>quantity</th><th>P&amp;L</th><th>return</th><th>bars</th></tr>");
    let first_tail = list.len() - tail.len();
    for (i, t) in head.iter().enumerate().chain(tail.iter().enumerate().map(|(k, t)| (first_tail + k, t))) {
        if i == first_tail && !tail.is_empty() {
            s.push_str("<tr><td colspan=\"10\" class=\"k\">&hellip;</td></tr>");
        }
        let pnl = t["pnl"].as_f64().unwrap_or(0.0);
        let _ = write!(
            s,
            "<tr class=\"trade\"><td>{}</td><td class=\"k\">{}</td><td class=\"k\">{}</td><td class=\"k\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td></tr>",
            i + 1,
            // A round trip is a long (entered by a buy) or a short position.
            if t["side"] == "sell" { "short" } else { "long" },
            text(&t["entry_time"]),
            text(&t["exit_time"]),
            cell(&t["entry_price"]),
            cell(&t["exit_price"]),
            cell(&t["quantity"]),
            if pnl >= 0.0 { "pos" } else { "neg" },
            t["pnl"].as_f64().map_or_else(|| "n/a".into(), money),
            t["return_pct"].as_f64().map_or_else(|| "n/a".into(), pct),
            cell(&t["bars_held"]),
        );
    }
    s.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_user_text_and_bounds_trades() {
        let trade = json!({"side": "buy", "entry_time": "2022-01-01T00:00:00Z", "exit_time": "2022-01-01T01:00:00Z", "entry_price": 1.0, "exit_price": 2.0, "quantity": 1.0, "pnl": 1.0, "return_pct": 1.0, "bars_held": 60});
        let doc = json!({
            "description": "<script>alert('x')</script>", "symbol": "A/B", "timeframe": "1h",
            "metrics": {"total_return": 0.1, "bars": 3, "start": "2022-01-01T00:00:00Z", "end": "2022-01-01T02:00:00Z"},
            "notes": ["<b>\"q\"</b>"],
            "equity_curve": [{"time": "2022-01-01T00:00:00Z", "equity": 100.0}, {"time": "2022-01-01T01:00:00Z", "equity": 90.0}, {"time": "2022-01-01T02:00:00Z", "equity": 110.0}],
            "monthly_returns": [{"year": 2022, "month": 1, "return": 0.1}],
            "trades": vec![trade; 450], "trades_total": 450,
        });
        let html = render(&doc);
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;alert(&#39;x&#39;)"), "escaped");
        assert!(!html.contains("<b>") && html.contains("&quot;q&quot;"));
        assert_eq!(html.matches("<svg").count(), 3);
        assert_eq!(html.matches("class=\"trade\"").count(), HTML_TRADES_MAX);
        assert!(html.contains("data-trades-total=\"450\"") && html.contains("the last 100 of 450"));
        assert!(!html.contains("http"));
        let dd = underwater(&[100.0, 90.0, 110.0, 55.0]);
        let want = [0.0, -0.1, 0.0, -0.5];
        assert!(dd.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12), "{dd:?}");
    }
}
