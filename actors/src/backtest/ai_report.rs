//! The `ai_ensemble` section of a backtest's report: the models it was pinned to, the
//! P&L by the part that drove each trade (the trades' `source`: `ml`, `rl` or
//! `regime`), and a warning the numbers need: bars the models were trained on are
//! in-sample for them.

use super::result::BacktestResult;
use crate::strategy::AiModels;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The report's `ai_ensemble` section.
pub fn section(ai: &AiModels, result: &BacktestResult) -> Value {
    let p = &ai.pins;
    let mut by_part: BTreeMap<&str, (usize, f64)> = BTreeMap::new();
    for t in &result.trades {
        let e = by_part.entry(t.source.as_str()).or_default();
        e.0 += 1;
        e.1 += t.pnl;
    }
    let pnl_by_part: BTreeMap<&str, Value> = by_part.into_iter().map(|(k, (n, pnl))| (k, json!({ "trades": n, "net_pnl": pnl }))).collect();
    json!({
        "model": p.model_id.as_ref().map(|id| json!({ "model_id": id, "version": p.model_version })),
        "agent": p.agent_id.as_ref().map(|id| json!({ "agent_id": id, "version": p.agent_version })),
        "regime_model": if p.regime_model_json.is_some() { "pinned" } else { "none" },
        "weights": { "ml": p.ml_weight, "rl": p.rl_weight, "regime": p.regime_weight },
        "left_out": p.left_out,
        "pnl_by_part": pnl_by_part,
        "note": "the models were trained on stored bars of this symbol: bars of this backtest inside their training windows \
                 are in-sample for them (GET /api/ml/models/{id} and /api/rl/agents/{id} give the windows); judge the \
                 ensemble on bars after them",
    })
}
