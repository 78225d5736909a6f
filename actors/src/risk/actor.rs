//! The risk actor: answers sizing, limit, portfolio-risk and stress requests with the
//! pure functions of this module, journals every limit breach (`RiskLimitBreached`)
//! before answering, and builds portfolio inputs from stored candles when a request
//! names positions instead of return series.
//!
//! Heavy requests (Monte Carlo) run on a blocking thread.

use super::error::RiskError;
use super::exposure::Position;
use super::inputs::ReturnsBySymbol;
use super::limits::{check_limits, CheckLimitsRequest, CheckLimitsResponse};
use super::portfolio::{assess_portfolio, MonteCarloSpec, PortfolioRiskRequest, PortfolioRiskResponse};
use super::sizing::{calculate_position_size, PositionSizeRequest, PositionSizeResponse};
use super::stress::{stress_test, StressTestRequest, StressTestResponse};
use super::stress_mc::{Distribution, StressMonteCarlo};
use crate::context::{ActorError, RequestMeta, Services};
use crate::fault::Fault;
use crate::market_data::actor::MarketDataMsg;
use crate::names;
use crate::session::actor::Answer;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::collections::BTreeMap;
use tradpal_messages::{Candle, ErrorCode, ErrorReply, Timeframe};

/// Most recent bars per symbol that returns are computed from.
pub const HISTORY_BARS_MAX: usize = 2_000;

/// Positions named by symbol and quantity, valued and given returns from stored candles.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPortfolio {
    pub positions: Vec<(String, f64)>,
    pub timeframe: Timeframe,
    pub confidence: Option<f64>,
    /// Monte Carlo paths and seed, if wanted.
    pub monte_carlo: Option<(usize, u64)>,
    /// Stress horizon in periods (stress requests only).
    pub horizon: usize,
}

#[derive(Debug)]
pub enum RiskMsg {
    Size { req: Box<PositionSizeRequest>, reply: Answer<PositionSizeResponse> },
    CheckLimits { req: Box<CheckLimitsRequest>, meta: RequestMeta, reply: Answer<CheckLimitsResponse> },
    Portfolio { req: Box<PortfolioRiskRequest>, reply: Answer<PortfolioRiskResponse> },
    Stress { req: Box<StressTestRequest>, reply: Answer<StressTestResponse> },
    PortfolioFromStore { spec: StoredPortfolio, reply: Answer<PortfolioRiskResponse> },
    StressFromStore { spec: StoredPortfolio, reply: Answer<StressTestResponse> },
    Fault(Fault),
}

#[derive(Debug, Clone)]
pub struct RiskActor {
    pub services: Services,
}

pub fn risk_error(e: RiskError) -> ErrorReply {
    ErrorReply::new(ErrorCode::BadRequest, e.to_string())
}

/// Runs `f` on a blocking thread and maps its error.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, RiskError> + Send + 'static) -> Result<T, ErrorReply> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ErrorReply::new(ErrorCode::Internal, e.to_string()))?.map_err(risk_error)
}

impl Actor for RiskActor {
    type Msg = RiskMsg;
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _myself: ActorRef<Self::Msg>, _args: ()) -> Result<(), ActorProcessingErr> {
        Ok(())
    }

    async fn handle(&self, _myself: ActorRef<Self::Msg>, msg: RiskMsg, _state: &mut ()) -> Result<(), ActorProcessingErr> {
        match msg {
            RiskMsg::Size { req, reply } => {
                let _ = reply.send(calculate_position_size(&req).map_err(risk_error));
            }
            RiskMsg::CheckLimits { req, meta, reply } => {
                let r = self.check_limits(&req, &meta).await;
                let _ = reply.send(r.map_err(|e| e.to_reply()));
            }
            RiskMsg::Portfolio { req, reply } => {
                let _ = reply.send(blocking(move || assess_portfolio(&req)).await);
            }
            RiskMsg::Stress { req, reply } => {
                let _ = reply.send(blocking(move || stress_test(&req)).await);
            }
            RiskMsg::PortfolioFromStore { spec, reply } => {
                let r = match stored_inputs(&spec).await {
                    Ok((positions, returns, value)) => {
                        let req = PortfolioRiskRequest {
                            confidence: spec.confidence,
                            portfolio_value: Some(value),
                            returns_by_symbol: Some(returns),
                            positions: Some(positions),
                            periods_per_year: Some(periods_per_year(spec.timeframe)),
                            monte_carlo: spec.monte_carlo.map(|(paths, seed)| MonteCarloSpec { paths, seed }),
                            ..PortfolioRiskRequest::default()
                        };
                        blocking(move || assess_portfolio(&req)).await
                    }
                    Err(e) => Err(e),
                };
                let _ = reply.send(r);
            }
            RiskMsg::StressFromStore { spec, reply } => {
                let r = match stored_inputs(&spec).await {
                    Ok((positions, returns, value)) => {
                        let req = StressTestRequest {
                            portfolio_value: value,
                            positions,
                            scenarios: None,
                            custom_scenarios: Vec::new(),
                            asset_classes: BTreeMap::new(),
                            returns_by_symbol: Some(returns),
                            monte_carlo: spec.monte_carlo.map(|(paths, seed)| StressMonteCarlo {
                                paths,
                                horizon: spec.horizon,
                                seed,
                                distribution: Distribution::default(),
                            }),
                            sensitivity: Default::default(),
                            confidence: spec.confidence,
                        };
                        blocking(move || stress_test(&req)).await
                    }
                    Err(e) => Err(e),
                };
                let _ = reply.send(r);
            }
            RiskMsg::Fault(f) => return Err(f.trigger(names::RISK)),
        }
        Ok(())
    }
}

impl RiskActor {
    /// Checks client-supplied figures against the limits and answers: nothing else. A
    /// check has no side effects: journaling its breaches would move the kill switch on
    /// invented numbers, so any caller could halt trading. The kill switch moves only on
    /// breaches the service measures on its own accounts (execution and sessions).
    async fn check_limits(&self, req: &CheckLimitsRequest, _meta: &RequestMeta) -> Result<CheckLimitsResponse, ActorError> {
        let resp = check_limits(req).map_err(risk_error)?;
        if !resp.breaches.is_empty() {
            tracing::info!(breaches = resp.breaches.len(), "risk check: limits would be breached (nothing recorded)");
        }
        Ok(resp)
    }
}

fn periods_per_year(tf: Timeframe) -> f64 {
    365.0 * 86_400.0 / tf.seconds() as f64
}

async fn recent(symbol: &str, tf: Timeframe) -> Result<Vec<Candle>, ErrorReply> {
    let msg = |reply| MarketDataMsg::Recent { symbol: symbol.to_string(), timeframe: tf, bars_max: HISTORY_BARS_MAX, reply };
    crate::context::ask(names::MARKET_DATA, 10_000, msg).await?
}

/// Positions marked at the last close, and simple returns per symbol on the bar times
/// every symbol has (so the series are aligned), from the stored candles.
async fn stored_inputs(spec: &StoredPortfolio) -> Result<(Vec<Position>, ReturnsBySymbol, f64), ErrorReply> {
    if spec.positions.is_empty() {
        return Err(ErrorReply::new(ErrorCode::BadRequest, "positions: the portfolio is empty (name at least one SYMBOL:QUANTITY)"));
    }
    let mut closes: BTreeMap<String, BTreeMap<i64, f64>> = BTreeMap::new();
    for (symbol, _) in &spec.positions {
        let bars = recent(symbol, spec.timeframe).await?;
        closes.insert(symbol.clone(), bars.iter().map(|c| (c.open_time.0, c.close)).collect());
    }
    let common: Vec<i64> = {
        let mut it = closes.values();
        let first: Vec<i64> = it.next().map(|m| m.keys().copied().collect()).unwrap_or_default();
        first.into_iter().filter(|t| closes.values().all(|m| m.contains_key(t))).collect()
    };
    if common.len() < 3 {
        return Err(ErrorReply::new(
            ErrorCode::BadRequest,
            format!("the symbols share only {} {} bars; returns need at least 3", common.len(), spec.timeframe),
        ));
    }
    let mut returns = ReturnsBySymbol::new();
    let mut positions = Vec::new();
    let mut value = 0.0;
    for (symbol, quantity) in &spec.positions {
        let series: Vec<f64> = common.iter().map(|t| closes[symbol][t]).collect();
        returns.insert(symbol.clone(), series.windows(2).map(|w| w[1] / w[0] - 1.0).collect());
        let price = *series.last().expect("at least 3 bars");
        value += (quantity * price).abs();
        positions.push(Position { symbol: symbol.clone(), quantity: *quantity, price });
    }
    Ok((positions, returns, value))
}
