//! The AI ensemble actor: `POST /api/trading/smart-trade`.
//!
//! One decision: the bars (the request's `market_data`, or the symbol's stored bars),
//! the ML part (the symbol's latest ready direction model, or `model_id`, asked of the ML
//! actor), the regime part (the regime actor's combined view for stored bars; a fit of
//! the request's bars when it brings its own), the RL part (the symbol's latest trained
//! agent, or `agent_id`, observed on the bars from flat as `POST /api/rl/infer` does),
//! combined by [`super::core::decide`]; the size from the risk core's fixed
//! fractional sizing on the paper account's equity. The decision is journaled
//! (`AiDecision`) before anything acts on it; with `execute: true` it then goes through
//! risk and execution as a market order whose client id names the decision.
//!
//! When no part can speak because nothing is trained, the answer is 409 saying how to
//! train a model.

use super::core::{decide, Action, Decision, Inputs, LeftOut, MlInput, RegimeInput, RlInput, Rules, Weights};
use crate::context::{ActorError, RequestMeta, Services};
use crate::execution::actor::ExecutionMsg;
use crate::execution::view::SubmitReply;
use crate::execution::OrderRequest;
use crate::fault::Fault;
use crate::market_data::actor::MarketDataMsg;
use crate::ml::actor::MlMsg;
use crate::names;
use crate::regime::actor::RegimeMsg;
use crate::risk::sizing::{calculate_position_size, FixedFractional, PositionSizeRequest, SizingMethod};
use crate::rl::actor::RlMsg;
use crate::rl::agent::{infer, Inference};
use crate::rl::obs::{Features, OBS_DIM};
use crate::session::actor::Answer;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde::{Deserialize, Serialize};
use tradpal_messages::{Candle, ErrorCode, ErrorReply, Event, Fixed, ModelId, Rounding, Side, Timeframe, Timestamp};

/// Most bars a request's `market_data` may carry.
pub const MARKET_DATA_BARS_MAX: usize = 10_000;
/// Stored bars a decision reads: the RL observation's window (`rl::actor::INFER_BARS`;
/// the ML and regime actors read their own windows).
pub const STORED_BARS_MAX: usize = crate::rl::actor::INFER_BARS;
/// Longest a call to another actor may take.
pub const PEER_CALL_MS: u64 = 10_000;
/// The stop distance sizing assumes when the request names none.
pub const DEFAULT_STOP_LOSS: f64 = 0.02;

/// The spec's `market_data`: closes and volumes, oldest first.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketData {
    pub close: Vec<f64>,
    #[serde(default)]
    pub volume: Vec<f64>,
}

/// `POST /api/trading/smart-trade`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmartTradeRequest {
    pub symbol: String,
    #[serde(default)]
    pub market_data: Option<MarketData>,
    #[serde(default)]
    pub timeframe: Option<Timeframe>,
    #[serde(default)]
    pub model_id: Option<ModelId>,
    /// The RL agent (`rl-<n>`); default the symbol's latest trained agent.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// Send the decision to execution as a market order.
    #[serde(default)]
    pub execute: bool,
    /// Stop distance for the risk sizing, a fraction of price (default 0.02).
    #[serde(default)]
    pub stop_loss: Option<f64>,
    /// The score a decision must reach to act, in [0, 1] (default 0.1).
    #[serde(default)]
    pub threshold: Option<f64>,
}

/// What the ensemble's settings are (the config's weights and feature flags).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnsembleSettings {
    pub weights: Weights,
    pub ml_enabled: bool,
    pub rl_enabled: bool,
    pub regime_enabled: bool,
    pub risk_per_trade: f64,
    pub max_position_size: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SmartTradeReply {
    pub symbol: String,
    pub action: Action,
    /// Units of the base asset (the risk sizing's capped quantity; 0 for hold).
    pub quantity: f64,
    pub confidence: f64,
    pub decision: Decision,
    pub price: f64,
    pub bar_time: Timestamp,
    /// Journal sequence of the `AiDecision` record.
    pub decision_sequence: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<SubmitReply>,
}

#[derive(Debug)]
pub enum EnsembleMsg {
    SmartTrade { req: Box<SmartTradeRequest>, meta: RequestMeta, reply: Answer<SmartTradeReply> },
    Fault(Fault),
}

#[derive(Debug, Clone)]
pub struct EnsembleActor {
    pub services: Services,
    pub settings: EnsembleSettings,
}

fn bad(m: impl Into<String>) -> ErrorReply {
    ErrorReply::new(ErrorCode::BadRequest, m)
}

/// [`crate::context::ask`] with this actor's timeout.
async fn ask<M: ractor::Message, T: Send + 'static>(name: &str, msg: impl FnOnce(RpcReplyPort<T>) -> M) -> Result<T, ErrorReply> {
    crate::context::ask(name, PEER_CALL_MS, msg).await
}

/// The request's own bars: checked closes and volumes as candles one `timeframe` apart.
fn request_bars(md: &MarketData, timeframe: Timeframe) -> Result<Vec<Candle>, ErrorReply> {
    if md.close.is_empty() || md.close.len() > MARKET_DATA_BARS_MAX {
        return Err(bad(format!("market_data.close: 1..={MARKET_DATA_BARS_MAX} prices, got {}", md.close.len())));
    }
    if !md.volume.is_empty() && md.volume.len() != md.close.len() {
        return Err(bad(format!("market_data.volume: {} values for {} closes", md.volume.len(), md.close.len())));
    }
    if let Some(i) = md.close.iter().position(|c| !(c.is_finite() && *c > 0.0)) {
        return Err(bad(format!("market_data.close[{i}]: must be a finite price > 0, got {}", md.close[i])));
    }
    if let Some(i) = md.volume.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
        return Err(bad(format!("market_data.volume[{i}]: must be finite and >= 0, got {}", md.volume[i])));
    }
    Ok(md
        .close
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let volume = md.volume.get(i).copied().unwrap_or(0.0);
            Candle { open_time: Timestamp(i as i64 * timeframe.nanos()), open: c, high: c, low: c, close: c, volume }
        })
        .collect())
}

impl Actor for EnsembleActor {
    type Msg = EnsembleMsg;
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _myself: ActorRef<Self::Msg>, _args: ()) -> Result<(), ActorProcessingErr> {
        Ok(())
    }

    async fn handle(&self, _myself: ActorRef<Self::Msg>, msg: EnsembleMsg, _state: &mut ()) -> Result<(), ActorProcessingErr> {
        match msg {
            EnsembleMsg::SmartTrade { req, meta, reply } => {
                let r = self.smart_trade(*req, &meta).await;
                let _ = reply.send(r.map_err(|e| e.to_reply()));
            }
            EnsembleMsg::Fault(f) => return Err(f.trigger(names::AI_ENSEMBLE)),
        }
        Ok(())
    }
}

impl EnsembleActor {
    async fn bars(&self, req: &SmartTradeRequest) -> Result<(Vec<Candle>, Timeframe, bool), ErrorReply> {
        if let Some(md) = &req.market_data {
            let tf = req.timeframe.unwrap_or(Timeframe::H1);
            return Ok((request_bars(md, tf)?, tf, true));
        }
        let tf = crate::backtest::bars::timeframe_or_finest(req.timeframe, &req.symbol).await?;
        let symbol = req.symbol.clone();
        let msg = |reply| MarketDataMsg::Recent { symbol, timeframe: tf, bars_max: STORED_BARS_MAX, reply };
        let bars = ask(names::MARKET_DATA, msg).await??;
        if bars.is_empty() {
            return Err(ErrorReply::new(ErrorCode::NotFound, format!("no complete {tf} bars stored for {}", req.symbol)));
        }
        Ok((bars, tf, false))
    }

    async fn ml_part(&self, req: &SmartTradeRequest, bars: &[Candle], own: bool) -> Result<MlInput, LeftOut> {
        if !self.settings.ml_enabled {
            return Err(LeftOut::Disabled("ENABLE_ML_TRAINING"));
        }
        let (symbol, model_id, candles) = (req.symbol.clone(), req.model_id, own.then(|| bars.to_vec()));
        let v = ask(names::ML, |reply| MlMsg::Score { symbol, model_id, candles, reply }).await.and_then(|r| r).map_err(|e| e.message)?;
        Ok(MlInput {
            probability: v["probability"].as_f64().unwrap_or(f64::NAN),
            model_id: v["model_id"].as_str().unwrap_or_default().to_string(),
            version: v["version"].as_u64().unwrap_or(0) as u32,
        })
    }

    async fn regime_part(
        &self,
        req: &SmartTradeRequest,
        bars: &[Candle],
        tf: Timeframe,
        own: bool,
        meta: &RequestMeta,
    ) -> Result<RegimeInput, LeftOut> {
        if !self.settings.regime_enabled {
            return Err(LeftOut::Disabled("ENABLE_MARKET_REGIME"));
        }
        if own {
            let request = crate::regime::api::ClassifyRequest {
                timeframe: tf,
                candles: bars.to_vec(),
                fit: Default::default(),
                hysteresis: Default::default(),
                include_bars: false,
            };
            let r = crate::regime::api::classify(&request).map_err(|e| e.to_string())?;
            let p = r.current.probs.trend;
            return Ok(RegimeInput { bull: p.p[0], bear: p.p[1], sideways: p.p[2], regime: r.current.trend.as_str().into() });
        }
        let (symbol, meta) = (req.symbol.clone(), meta.clone());
        let v = ask(names::REGIME, |reply| RegimeMsg::Current { symbol, meta, reply }).await.and_then(|r| r).map_err(|e| e.message)?;
        let p = v.combined.trend_probs;
        Ok(RegimeInput { bull: p.p[0], bear: p.p[1], sideways: p.p[2], regime: v.regime })
    }

    /// The agent's action probabilities on the last bar, observed from flat (as
    /// `POST /api/rl/infer` does): `agent_id`, or the symbol's latest trained agent.
    async fn rl_part(&self, req: &SmartTradeRequest, bars: &[Candle]) -> Result<RlInput, LeftOut> {
        if !self.settings.rl_enabled {
            return Err(LeftOut::Disabled("ENABLE_REINFORCEMENT_LEARNING"));
        }
        let (symbol, agent_id) = (req.symbol.clone(), req.agent_id.clone());
        let a = ask(names::RL, |reply| RlMsg::Resolve { symbol, agent_id, reply }).await.and_then(|r| r).map_err(|e| e.message)?;
        // The latest `INFER_BARS`, as `/api/rl/infer` reads: the same answer, a quarter of the work.
        let bars = bars[bars.len().saturating_sub(crate::rl::actor::INFER_BARS)..].to_vec();
        let agent = a.agent.clone();
        let out = tokio::task::spawn_blocking(move || -> Result<Inference, LeftOut> {
            let features = Features::build(&bars, agent.regime.as_ref()).map_err(|e| LeftOut::Unavailable(e.to_string()))?;
            let mut obs = [0.0; OBS_DIM];
            features.observe(bars.len() - 1, 0.0, 0.0, &mut obs);
            Ok(infer(&agent, &obs))
        })
        .await
        .map_err(|e| e.to_string())??;
        Ok(RlInput { probabilities: out.probabilities, agent_id: a.agent_id, version: a.version })
    }

    async fn smart_trade(&self, req: SmartTradeRequest, meta: &RequestMeta) -> Result<SmartTradeReply, ActorError> {
        crate::session::core::validate_symbol(&req.symbol)?;
        let stop_loss = req.stop_loss.unwrap_or(DEFAULT_STOP_LOSS);
        if !(stop_loss.is_finite() && stop_loss > 0.0 && stop_loss < 1.0) {
            return Err(bad(format!("stop_loss: a fraction of price in (0, 1), got {stop_loss}")).into());
        }
        let threshold = req.threshold.unwrap_or(super::core::DEFAULT_THRESHOLD);
        if !(0.0..=1.0).contains(&threshold) {
            return Err(bad(format!("threshold: a score in [0, 1], got {threshold}")).into());
        }
        let (bars, tf, own) = self.bars(&req).await?;
        // The parts are independent: asked at once (the ML and regime actors and the RL
        // observation's blocking task run side by side).
        let (ml, regime, rl) =
            tokio::join!(self.ml_part(&req, &bars, own), self.regime_part(&req, &bars, tf, own, meta), self.rl_part(&req, &bars));
        if ml.is_err() && rl.is_err() && (self.settings.ml_enabled || self.settings.rl_enabled) {
            let why = [ml.as_ref().err(), rl.as_ref().err()].into_iter().flatten().map(LeftOut::to_string).collect::<Vec<_>>().join("; ");
            return Err(ErrorReply::new(ErrorCode::Conflict, format!("no model or agent to decide with: {why}")).into());
        }
        let decision = decide(&Inputs { ml, rl, regime }, &Rules { weights: self.settings.weights, threshold, ..Rules::default() });
        let last = *bars.last().expect("bars are not empty");
        let quantity = self.size(&decision, last.close, stop_loss).await?;
        let event = decision.record(&req.symbol, last.open_time, quantity);
        let env = self.services.record(self.services.draft(meta, Event::AiDecision(event))).await?;
        let order = match (req.execute, decision.action, quantity > 0.0) {
            (true, Action::Buy | Action::Sell, true) => {
                Some(self.execute(&req.symbol, decision.action, quantity, env.sequence, meta).await?)
            }
            _ => None,
        };
        Ok(SmartTradeReply {
            symbol: req.symbol,
            action: decision.action,
            quantity,
            confidence: decision.confidence,
            price: last.close,
            bar_time: last.open_time,
            decision_sequence: env.sequence,
            decision,
            order,
        })
    }

    /// The risk core's fixed fractional size on the paper account's equity (capped).
    async fn size(&self, decision: &Decision, price: f64, stop_loss: f64) -> Result<f64, ErrorReply> {
        if decision.action == Action::Hold {
            return Ok(0.0);
        }
        let portfolio = ask(names::EXECUTION, |reply| ExecutionMsg::Portfolio { reply }).await??;
        let req = PositionSizeRequest {
            portfolio_value: portfolio.equity.to_f64(),
            current_price: Some(price),
            max_position_size: Some(self.settings.max_position_size),
            method: SizingMethod::FixedFractional(FixedFractional { risk_per_trade: self.settings.risk_per_trade, stop_loss }),
        };
        let sized = calculate_position_size(&req).map_err(|e| bad(format!("sizing: {e}")))?;
        Ok(sized.capped_quantity.unwrap_or(0.0))
    }

    async fn execute(
        &self,
        symbol: &str,
        action: Action,
        quantity: f64,
        sequence: u64,
        meta: &RequestMeta,
    ) -> Result<SubmitReply, ErrorReply> {
        let side = if action == Action::Buy { Side::Buy } else { Side::Sell };
        let qty = Fixed::from_f64_rounded(quantity, Rounding::Down).map_err(|e| bad(format!("quantity: {e}")))?;
        let inst = crate::execution::instrument::Instruments::binance_usdt().get(symbol).map_err(|e| bad(e.to_string()))?.into_owned();
        let qty = qty.round_to_step(inst.lot_size, Rounding::Down).unwrap_or(Fixed::ZERO);
        let mut order = OrderRequest::market(symbol, side, qty);
        order.client_order_id = Some(format!("ai-{sequence}"));
        let (req, meta) = (Box::new(order), meta.clone());
        ask(names::EXECUTION, |reply| ExecutionMsg::Submit { req, meta, reply }).await?
    }
}
