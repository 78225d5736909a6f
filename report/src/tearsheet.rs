//! The report's tables as a tearsheet reads: every metric with its label and unit
//! (percentages, ratios, money with two decimals, counts), a sentence saying how returns
//! were annualised, and attribution as tables (one row per side, source, symbol, month;
//! one per drawdown) instead of JSON in a cell.

use crate::escape;
use serde_json::Value;
use std::fmt::Write;

/// How a value is shown.
#[derive(Clone, Copy)]
enum Unit {
    /// A fraction as a percentage, signed (`+12.34%`).
    Pct,
    /// A loss fraction shown negative (`max_drawdown` 0.25 is `-25.00%`).
    Loss,
    /// A unitless ratio, two decimals.
    Ratio,
    /// Money in the quote currency, two decimals.
    Money,
    /// A whole count.
    Count,
    /// Text (times).
    Text,
}

/// One metric row: its key in the report, its label, its unit.
type Row = (&'static str, &'static str, Unit);

/// `(group, rows)`: the metrics table, in reading order.
const METRICS: &[(&str, &[Row])] = &[
    (
        "Returns",
        &[
            ("total_return", "Total return", Unit::Pct),
            ("cagr", "CAGR", Unit::Pct),
            ("buy_and_hold_return", "Buy & hold return", Unit::Pct),
            ("annual_volatility", "Annual volatility", Unit::Pct),
            ("alpha", "Alpha (annual)", Unit::Pct),
            ("beta", "Beta", Unit::Ratio),
        ],
    ),
    (
        "Risk-adjusted",
        &[
            ("sharpe_ratio", "Sharpe ratio", Unit::Ratio),
            ("sortino_ratio", "Sortino ratio", Unit::Ratio),
            ("calmar_ratio", "Calmar ratio", Unit::Ratio),
            ("probabilistic_sharpe_ratio", "Probabilistic Sharpe (vs 0)", Unit::Pct),
        ],
    ),
    (
        "Drawdown",
        &[
            ("max_drawdown", "Max drawdown", Unit::Loss),
            ("max_drawdown_duration_bars", "Longest drawdown, bars", Unit::Count),
            ("max_drawdown_duration_start", "Longest drawdown from", Unit::Text),
            ("max_drawdown_duration_end", "Longest drawdown recovered", Unit::Text),
        ],
    ),
    (
        "Trades",
        &[
            ("number_of_trades", "Closed trades", Unit::Count),
            ("win_rate", "Win rate", Unit::Pct),
            ("profit_factor", "Profit factor", Unit::Ratio),
            ("expectancy", "Expectancy per trade", Unit::Money),
            ("avg_trade_pnl", "Average trade P&L", Unit::Money),
            ("avg_trade_return", "Average trade return", Unit::Pct),
            ("best_trade_pnl", "Best trade P&L", Unit::Money),
            ("worst_trade_pnl", "Worst trade P&L", Unit::Money),
            ("sqn", "SQN", Unit::Ratio),
            ("exposure_time", "Time in the market", Unit::Pct),
        ],
    ),
];

fn show(v: &Value, unit: Unit) -> String {
    let Some(x) = v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())) else {
        return match (v, unit) {
            (Value::String(s), _) => escape(s),
            _ => "n/a".into(),
        };
    };
    match unit {
        Unit::Pct => format!("{:+.2}%", x * 100.0),
        Unit::Loss => format!("{:.2}%", -x.abs() * 100.0),
        Unit::Ratio => format!("{x:.2}"),
        Unit::Money => format!("{x:.2}"),
        Unit::Count => format!("{x:.0}"),
        Unit::Text => escape(v.as_str().unwrap_or("")),
    }
}

/// The metrics, grouped, with labels and units, and how they were annualised.
pub fn metrics(s: &mut String, m: &Value) {
    s.push_str("<div class=\"metrics\">");
    for (group, rows) in METRICS {
        let _ = write!(s, "<table><tr><th colspan=\"2\">{group}</th></tr>");
        for (key, label, unit) in *rows {
            let _ = write!(s, "<tr><td class=\"k\">{label}</td><td data-metric=\"{key}\">{}</td></tr>", show(&m[*key], *unit));
        }
        s.push_str("</table>");
    }
    s.push_str("</div>");
    let a = &m["annualisation"];
    if let (Some(ppy), Some(years)) = (a["periods_per_year"].as_f64(), a["years"].as_f64()) {
        let _ = write!(
            s,
            "<p class=\"note\">Sharpe, Sortino and volatility are annualised by the {} calendar: {ppy:.1} bars of {} a year. CAGR compounds over {years:.2} calendar years.</p>",
            escape(a["calendar"].as_str().unwrap_or("observed")),
            escape(a["bar_interval"].as_str().unwrap_or(""))
        );
    }
}

/// Columns of a P&L bucket row.
const BUCKET: &[Row] = &[
    ("trades", "Trades", Unit::Count),
    ("wins", "Wins", Unit::Count),
    ("losses", "Losses", Unit::Count),
    ("win_rate", "Win rate", Unit::Pct),
    ("gross_pnl", "Gross P&amp;L", Unit::Money),
    ("fees", "Fees", Unit::Money),
    ("net_pnl", "Net P&amp;L", Unit::Money),
];

/// Attribution: one table per grouping, one row per bucket; the drawdowns as rows.
pub fn attribution(s: &mut String, a: &Value) {
    let groups = [("by_side", "By side"), ("by_source", "By signal source"), ("by_symbol", "By symbol"), ("by_month", "By month of exit")];
    for (key, title) in groups {
        let Some(map) = a[key].as_object().filter(|m| !m.is_empty()) else { continue };
        let _ = write!(s, "<h3>{title}</h3><table class=\"attribution\" data-group=\"{key}\"><tr><th></th>");
        for (_, label, _) in BUCKET {
            let _ = write!(s, "<th>{label}</th>");
        }
        s.push_str("</tr>");
        let total = std::iter::once(("total".to_string(), &a["total"])).filter(|(_, v)| v.is_object());
        for (name, row) in map.iter().map(|(k, v)| (k.clone(), v)).chain(total) {
            let _ = write!(s, "<tr><td class=\"k\">{}</td>", escape(&name));
            for (field, _, unit) in BUCKET {
                let _ = write!(s, "<td>{}</td>", show(&row[*field], *unit));
            }
            s.push_str("</tr>");
        }
        s.push_str("</table>");
    }
    let Some(dds) = a["drawdowns"].as_array().filter(|d| !d.is_empty()) else { return };
    s.push_str("<h3>Deepest drawdowns</h3><table class=\"attribution\" data-group=\"drawdowns\"><tr><th>From</th><th>Trough</th><th>Recovered</th><th>Depth</th><th>Bars</th><th>Trades</th><th>Net P&amp;L</th></tr>");
    for d in dds {
        let _ = write!(
            s,
            "<tr><td class=\"k\">{}</td><td class=\"k\">{}</td><td class=\"k\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            show(&d["start"], Unit::Text),
            show(&d["trough"], Unit::Text),
            if d["end"].is_null() { "not yet".into() } else { show(&d["end"], Unit::Text) },
            show(&d["depth"], Unit::Loss),
            show(&d["bars"], Unit::Count),
            show(&d["trades"], Unit::Count),
            show(&d["net_pnl"], Unit::Money),
        );
    }
    s.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metrics_read_as_percentages_and_ratios_and_attribution_as_tables() {
        let m = json!({"total_return": 0.1234, "max_drawdown": 0.3788, "sharpe_ratio": 1.23456, "number_of_trades": 94, "cagr": null,
                       "annualisation": {"calendar": "observed", "periods_per_year": 251.9, "bar_interval": "1d", "years": 8.53}});
        let mut s = String::new();
        metrics(&mut s, &m);
        for want in [
            "+12.34%",
            "-37.88%",
            ">1.23<",
            ">94<",
            "Max drawdown",
            "by the observed calendar: 251.9 bars of 1d a year",
            "8.53 calendar years",
        ] {
            assert!(s.contains(want), "{want} in {s}");
        }
        assert!(!s.contains("max_drawdown<") && !s.contains('{'), "no raw keys or JSON: {s}");
        let a = json!({"by_side": {"long": {"trades": 3, "wins": 2, "losses": 1, "win_rate": 0.6667, "gross_pnl": 10.0, "fees": 1.0, "net_pnl": 9.0}},
                       "total": {"trades": 3, "wins": 2, "losses": 1, "win_rate": 0.6667, "gross_pnl": 10.0, "fees": 1.0, "net_pnl": 9.0},
                       "drawdowns": [{"start": "2005-01-01T00:00:00Z", "trough": "2005-02-01T00:00:00Z", "end": null, "depth": 0.2, "bars": 30, "trades": 2, "net_pnl": -5.5}]});
        let mut s = String::new();
        attribution(&mut s, &a);
        for want in ["By side", ">long<", ">total<", "+66.67%", ">9.00<", "Deepest drawdowns", "not yet", "-20.00%", "-5.50"] {
            assert!(s.contains(want), "{want} in {s}");
        }
        assert!(!s.contains('{'), "no JSON in cells: {s}");
    }
}
