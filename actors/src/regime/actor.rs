//! The regime actor: fits a model per symbol and timeframe on the most recent stored
//! bars (seeded, cached until new bars arrive), filters them causally, combines the
//! timeframes, and journals every regime change (`RegimeChanged`) it has not journaled
//! before. History is read back from those journaled changes, so it survives restarts.
//!
//! Every change of either axis is journaled, as `{trend}_{volatility}_vol`
//! ([`label_name`]; entries journaled before read as a bare trend name), so the history
//! shows trend and volatility transitions with both labels, the confidence, the timeframe
//! and the bar time; `days` counts back from the symbol's last stored bar.
//!
//! Regimes are detected as bars arrive, not only when asked: the runtime's doorbell sends
//! [`RegimeMsg::BarsArrived`] for every journaled candle record; the actor gathers the
//! symbols for [`REFRESH_DEBOUNCE_MS`] and then refits each (the same path as
//! `GET /api/regime/current`), journaling the changes. A symbol with too few bars is
//! skipped quietly until it has enough.
//!
//! Fits run on a blocking thread. A fitted model is kept per symbol and timeframe and
//! newer bars are filtered on with it (one step each, the tracker's own `update`); it is
//! fitted again on the latest window every [`REFIT_EVERY_BARS`] bars.

use super::api::{classify, ClassifyRequest, ClassifyResponse};
use super::error::RegimeError;
use super::fit::{fit, FitParams, FIT_BARS_MIN};
use super::hysteresis::HysteresisParams;
use super::model::RegimeModel;
use super::timeframes::{combine, CombinedRegime, TimeframeProbs, TimeframeWeights};
use super::tracker::{BarRegime, RegimeTracker, Tracked};
use crate::context::{ActorError, RequestMeta, Services};
use crate::fault::Fault;
use crate::market_data::actor::MarketDataMsg;
use crate::names;
use crate::session::actor::Answer;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use serde::Serialize;
use std::collections::BTreeMap;
use tradpal_messages::regime::{Trend, Vol};
use tradpal_messages::{Candle, CorrelationId, ErrorCode, ErrorReply, Event, EventKind, RegimeChanged, Timeframe, Timestamp};

/// Most recent bars a model is fitted on, per timeframe.
pub const FIT_WINDOW_BARS_MAX: usize = 5_000;
/// Longest a regime request waits for the market-data actor, in milliseconds.
pub const MARKET_DATA_WAIT_MS: u64 = 10_000;
/// How long arriving bars are gathered before the regimes of their symbols are refitted:
/// a burst of candle records (an import, a NATS backlog) costs one fit per symbol.
pub const REFRESH_DEBOUNCE_MS: u64 = 250;
/// Transitions a history answer lists at most (the most recent ones).
pub const HISTORY_ENTRIES_MAX: usize = 1_000;

/// One timeframe's view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeframeView {
    pub timeframe: Timeframe,
    pub regime: String,
    pub volatility: String,
    pub confidence: f64,
    pub bars: usize,
    pub as_of: Timestamp,
    pub current: BarRegime,
}

/// `GET /api/regime/current/{symbol}` and `/confidence/{symbol}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegimeView {
    pub symbol: String,
    /// The combined trend regime: `bull`, `bear` or `sideways`.
    pub regime: String,
    pub volatility: String,
    /// Combined probability of `regime`.
    pub confidence: f64,
    pub combined: CombinedRegime,
    pub timeframes: BTreeMap<String, TimeframeView>,
    /// Timeframes with too little data, and how many bars they need.
    pub skipped: BTreeMap<String, String>,
}

/// One journaled change. Trend and volatility labels both; entries journaled before
/// volatility was recorded have `volatility: null`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    /// Open time of the bar at which the change was detected.
    pub date: Timestamp,
    /// The trend after the change: `bull`, `bear` or `sideways`.
    pub regime: String,
    /// The volatility after the change: `low`, `normal` or `high`.
    pub volatility: Option<String>,
    /// Probability of the new label (the pair for a timeframe; the trend for `combined`).
    pub confidence: f64,
    /// `combined` or a timeframe.
    pub timeframe: String,
    /// The trend and volatility before (empty / null for the first entry).
    pub from: String,
    pub from_volatility: Option<String>,
    /// For `combined` entries: each timeframe's `trend/volatility` label at that bar (its
    /// latest change at or before it), beside the pooled one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeframes: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegimeHistory {
    pub symbol: String,
    pub days: u32,
    /// The timeframe asked for (`combined` or one timeframe), or none for all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeframe: Option<String>,
    /// The bar `days` counts back from: the symbol's last stored bar (its latest journaled
    /// change when no bar is stored).
    pub until: Timestamp,
    pub regime_transitions: Vec<HistoryEntry>,
}

/// A journaled label: `{trend}_{volatility}_vol` (e.g. `bear_high_vol`), or a bare trend
/// name as journaled before volatility was recorded.
pub fn label_name(trend: Trend, volatility: Vol) -> String {
    format!("{trend}_{volatility}_vol")
}

/// Splits a journaled label into trend and volatility (see [`label_name`]).
pub fn parse_label(name: &str) -> (String, Option<String>) {
    match name.strip_suffix("_vol").and_then(|rest| rest.split_once('_')) {
        Some((trend, vol)) => (trend.to_string(), Some(vol.to_string())),
        None => (name.to_string(), None),
    }
}

#[derive(Debug)]
pub enum RegimeMsg {
    Current {
        symbol: String,
        meta: RequestMeta,
        reply: Answer<RegimeView>,
    },
    /// Changes within `days` of the last stored bar; one timeframe's (or `combined`'s)
    /// when `timeframe` is given (checked by the caller: a timeframe name or `combined`).
    History {
        symbol: String,
        days: u32,
        timeframe: Option<String>,
        reply: Answer<RegimeHistory>,
    },
    Classify {
        request: Box<ClassifyRequest>,
        reply: Answer<ClassifyResponse>,
    },
    /// The model fitted on `symbol`'s latest `timeframe` bars (fitted now if stale): what
    /// an `ai_ensemble` run pins as its regime model.
    Model {
        symbol: String,
        timeframe: Timeframe,
        reply: Answer<RegimeModel>,
    },
    /// Candles of `symbol` were journaled: refit it soon (debounced).
    BarsArrived {
        symbol: String,
    },
    /// The debounce elapsed: refit every symbol that received bars.
    Refresh,
    Fault(Fault),
}

struct CachedFit {
    last_bar: Timestamp,
    tracked: Tracked,
    /// The tracker at `last_bar`: newer bars are filtered on with the same model.
    tracker: RegimeTracker,
    /// Bars filtered since the model was fitted.
    since_fit: usize,
}

/// New bars filtered with a fitted model before it is fitted again on the latest window:
/// bars arriving one by one cost one filter step each, not a fit each.
pub const REFIT_EVERY_BARS: usize = 500;

#[derive(Default)]
pub struct RegimeState {
    fits: BTreeMap<(String, Timeframe), CachedFit>,
    /// Journaled changes per symbol, in journal order.
    changes: BTreeMap<String, Vec<RegimeChanged>>,
    /// Symbols that received bars since the last refresh, and whether one is scheduled.
    dirty: std::collections::BTreeSet<String>,
    refresh_scheduled: bool,
    /// The last view of each symbol with the stored series' bar counts it was made from:
    /// served again while nothing was stored since (a bar arriving drops it too).
    views: BTreeMap<String, (Vec<(Timeframe, usize)>, RegimeView)>,
}

impl RegimeState {
    fn last_change(&self, symbol: &str, tf: Option<Timeframe>) -> Option<&RegimeChanged> {
        self.changes.get(symbol)?.iter().rev().find(|c| c.timeframe == tf)
    }
}

#[derive(Debug, Clone)]
pub struct RegimeActor {
    pub services: Services,
}

pub fn regime_error(e: RegimeError) -> ErrorReply {
    ErrorReply::new(ErrorCode::BadRequest, e.to_string())
}

impl Actor for RegimeActor {
    type Msg = RegimeMsg;
    type State = RegimeState;
    type Arguments = ();

    async fn pre_start(&self, _myself: ActorRef<Self::Msg>, _args: ()) -> Result<RegimeState, ActorProcessingErr> {
        let state = self
            .services
            .fold(&[EventKind::RegimeChanged], RegimeState::default(), |st, env| {
                if let Event::RegimeChanged(c) = &env.event {
                    st.changes.entry(c.symbol.clone()).or_default().push(c.clone());
                }
                Ok(())
            })
            .await?;
        Ok(state)
    }

    async fn handle(&self, myself: ActorRef<Self::Msg>, msg: RegimeMsg, state: &mut RegimeState) -> Result<(), ActorProcessingErr> {
        match msg {
            RegimeMsg::BarsArrived { symbol } => {
                state.views.remove(&symbol);
                state.dirty.insert(symbol);
                if !state.refresh_scheduled {
                    state.refresh_scheduled = true;
                    myself.send_after(std::time::Duration::from_millis(REFRESH_DEBOUNCE_MS), || RegimeMsg::Refresh);
                }
            }
            RegimeMsg::Refresh => {
                state.refresh_scheduled = false;
                let meta = RequestMeta { request_id: None, correlation_id: CorrelationId(0) };
                for symbol in std::mem::take(&mut state.dirty) {
                    match self.current(state, &symbol, &meta).await {
                        Ok(_) => {}
                        Err(ActorError::Refused(e)) => tracing::debug!(%symbol, why = %e.message, "no regime yet"),
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            RegimeMsg::Current { symbol, meta, reply } => {
                let r = self.current(state, &symbol, &meta).await;
                let _ = reply.send(r.map_err(|e| e.to_reply()));
            }
            RegimeMsg::History { symbol, days, timeframe, reply } => {
                let until = last_stored_bar(&symbol).await;
                let _ = reply.send(history(state, &symbol, days, timeframe.as_deref(), until));
            }
            RegimeMsg::Classify { request, reply } => {
                let r = tokio::task::spawn_blocking(move || classify(&request).map_err(regime_error)).await;
                let _ = reply.send(r.unwrap_or_else(|e| Err(ErrorReply::new(ErrorCode::Internal, e.to_string()))));
            }
            RegimeMsg::Model { symbol, timeframe, reply } => {
                let _ = reply.send(self.model(state, &symbol, timeframe).await);
            }
            RegimeMsg::Fault(f) => return Err(f.trigger(names::REGIME)),
        }
        Ok(())
    }
}

async fn recent_bars(symbol: &str, tf: Timeframe) -> Result<Vec<Candle>, ErrorReply> {
    let msg = |reply| MarketDataMsg::Recent { symbol: symbol.to_string(), timeframe: tf, bars_max: FIT_WINDOW_BARS_MAX, reply };
    crate::context::ask(names::MARKET_DATA, MARKET_DATA_WAIT_MS, msg).await?
}

fn fit_and_track(candles: Vec<Candle>, tf: Timeframe) -> Result<(Tracked, RegimeTracker), RegimeError> {
    let model = fit(&candles, tf, &FitParams::default())?;
    let mut tracker = RegimeTracker::new(model, &HysteresisParams::default())?;
    let mut tracked = Tracked { bars: Vec::with_capacity(candles.len()), transitions: Vec::new() };
    for c in &candles {
        if let Some(t) = tracker.update(c)? {
            tracked.transitions.push(t);
        }
        tracked.bars.extend(tracker.current().copied());
    }
    Ok((tracked, tracker))
}

/// Filters the bars after the cached fit's last one with its model; false when a refit is
/// due instead (too many bars since the fit, or a gap the window does not cover).
fn extend_fit(cached: &mut CachedFit, candles: &[Candle]) -> bool {
    let new: Vec<&Candle> = candles.iter().filter(|c| c.open_time > cached.last_bar).collect();
    let covered = candles.first().is_some_and(|c| c.open_time <= cached.last_bar);
    if !covered || cached.since_fit + new.len() > REFIT_EVERY_BARS {
        return false;
    }
    for c in new {
        match cached.tracker.update(c) {
            Ok(t) => {
                cached.tracked.transitions.extend(t);
                cached.tracked.bars.extend(cached.tracker.current().copied());
                cached.last_bar = c.open_time;
                cached.since_fit += 1;
            }
            Err(_) => return false,
        }
    }
    true
}

impl RegimeActor {
    /// See [`RegimeMsg::Model`].
    async fn model(&self, state: &mut RegimeState, symbol: &str, tf: Timeframe) -> Result<RegimeModel, ErrorReply> {
        match fitted(state, symbol, tf).await.map_err(|e| e.to_reply())? {
            Fitted::Yes => Ok(state.fits[&(symbol.to_string(), tf)].tracker.model().clone()),
            Fitted::BelowStored => Err(ErrorReply::new(ErrorCode::BadRequest, format!("{symbol} is not stored at {tf} or finer"))),
            Fitted::TooFew(why) => Err(ErrorReply::new(ErrorCode::BadRequest, format!("too little data for {symbol}: {why}"))),
        }
    }

    /// The symbol's view: the cached one while its stored series are unchanged (one cheap
    /// question to the market-data actor instead of a read per timeframe), else made anew.
    async fn current(&self, state: &mut RegimeState, symbol: &str, meta: &RequestMeta) -> Result<RegimeView, ActorError> {
        let summary = crate::context::ask(names::MARKET_DATA, MARKET_DATA_WAIT_MS, |reply| MarketDataMsg::Summary { reply }).await?;
        let stamp: Vec<(Timeframe, usize)> = summary.into_iter().filter(|(s, _, _)| s == symbol).map(|(_, tf, n)| (tf, n)).collect();
        if let Some((seen, view)) = state.views.get(symbol) {
            if *seen == stamp {
                return Ok(view.clone());
            }
        }
        let view = self.view(state, symbol, meta).await?;
        state.views.insert(symbol.to_string(), (stamp, view.clone()));
        Ok(view)
    }

    async fn view(&self, state: &mut RegimeState, symbol: &str, meta: &RequestMeta) -> Result<RegimeView, ActorError> {
        let mut views = BTreeMap::new();
        let mut skipped = BTreeMap::new();
        for tf in Timeframe::ALL {
            match fitted(state, symbol, tf).await? {
                Fitted::Yes => {}
                Fitted::BelowStored => continue,
                Fitted::TooFew(why) => {
                    skipped.insert(tf.as_str().to_string(), why);
                    continue;
                }
            }
            let fit = &state.fits[&(symbol.to_string(), tf)];
            let current = *fit.tracked.bars.last().expect("a fit has bars");
            views.insert(tf, (fit.tracked.bars.len(), current));
        }
        if views.is_empty() {
            let why = skipped.values().next().cloned().unwrap_or_else(|| "no timeframe has data".into());
            return Err(ErrorReply::new(ErrorCode::BadRequest, format!("too little data for {symbol}: {why}")).into());
        }
        let probs: Vec<TimeframeProbs> = views
            .iter()
            .map(|(tf, (_, c))| TimeframeProbs { timeframe: *tf, trend: c.probs.trend, volatility: c.probs.volatility })
            .collect();
        let combined = combine(&probs, &TimeframeWeights::default()).map_err(regime_error)?;
        self.journal_changes(state, symbol, &combined, meta).await?;
        let timeframes = views
            .into_iter()
            .map(|(tf, (bars, c))| {
                let view = TimeframeView {
                    timeframe: tf,
                    regime: c.trend.as_str().to_string(),
                    volatility: c.volatility.as_str().to_string(),
                    confidence: c.trend_confidence,
                    bars,
                    as_of: c.open_time,
                    current: c,
                };
                (tf.as_str().to_string(), view)
            })
            .collect();
        Ok(RegimeView {
            symbol: symbol.to_string(),
            regime: combined.trend.as_str().to_string(),
            volatility: combined.volatility.as_str().to_string(),
            confidence: combined.trend_confidence,
            combined,
            timeframes,
            skipped,
        })
    }

    /// Journals each timeframe's transitions newer than its last journaled change, and
    /// the combined view when its label differs from the last journaled combined one.
    async fn journal_changes(
        &self,
        state: &mut RegimeState,
        symbol: &str,
        combined: &CombinedRegime,
        meta: &RequestMeta,
    ) -> Result<(), ActorError> {
        let mut drafts = Vec::new();
        for ((sym, tf), fit) in state.fits.iter().filter(|((s, _), _)| s == symbol) {
            let last = state.last_change(sym, Some(*tf)).map(|c| c.bar);
            for t in fit.tracked.transitions.iter().filter(|t| last.is_none_or(|l| t.open_time > l)) {
                drafts.push(RegimeChanged {
                    symbol: sym.clone(),
                    timeframe: Some(*tf),
                    bar: t.open_time,
                    from: t.from.map(|f| label_name(f.trend, f.volatility)).unwrap_or_default(),
                    to: label_name(t.to.trend, t.to.volatility),
                    confidence: t.confidence.clamp(0.0, 1.0),
                });
            }
        }
        let to = label_name(combined.trend, combined.volatility);
        let last_combined = state.last_change(symbol, None);
        if last_combined.is_none_or(|c| c.to != to) {
            let bar = state.fits.iter().filter(|((s, _), _)| s == symbol).map(|(_, f)| f.last_bar).max().unwrap_or_default();
            drafts.push(RegimeChanged {
                symbol: symbol.to_string(),
                timeframe: None,
                bar,
                from: last_combined.map(|c| c.to.clone()).unwrap_or_default(),
                to,
                confidence: combined.trend_confidence.clamp(0.0, 1.0),
            });
        }
        if drafts.is_empty() {
            return Ok(());
        }
        let meta = RequestMeta { correlation_id: CorrelationId(meta.correlation_id.0), ..meta.clone() };
        let envs = self
            .services
            .record_batch(drafts.iter().map(|c| self.services.draft(&meta, Event::RegimeChanged(c.clone()))).collect())
            .await?;
        for env in envs {
            if let Event::RegimeChanged(c) = env.event {
                state.changes.entry(c.symbol.clone()).or_default().push(c);
            }
        }
        Ok(())
    }
}

/// Open time of `symbol`'s last stored bar (at its finest stored timeframe), if any.
async fn last_stored_bar(symbol: &str) -> Option<Timestamp> {
    for tf in Timeframe::ALL {
        let msg = |reply| MarketDataMsg::Recent { symbol: symbol.to_string(), timeframe: tf, bars_max: 1, reply };
        if let Ok(Ok(bars)) = crate::context::ask(names::MARKET_DATA, MARKET_DATA_WAIT_MS, msg).await {
            if let Some(c) = bars.last() {
                return Some(c.open_time);
            }
        }
    }
    None
}

fn entry(c: &RegimeChanged, timeframes: Option<BTreeMap<String, String>>) -> HistoryEntry {
    let (regime, volatility) = parse_label(&c.to);
    let (from, from_volatility) = parse_label(&c.from);
    HistoryEntry {
        date: c.bar,
        regime,
        volatility,
        confidence: c.confidence,
        timeframe: c.timeframe.map(|t| t.as_str().to_string()).unwrap_or_else(|| "combined".into()),
        from,
        from_volatility,
        timeframes,
    }
}

/// Each timeframe's label at `bar`: its latest journaled change at or before it.
fn labels_at(changes: &[RegimeChanged], bar: Timestamp) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for c in changes.iter().filter(|c| c.bar <= bar) {
        if let Some(tf) = c.timeframe {
            let (trend, vol) = parse_label(&c.to);
            out.insert(tf.as_str().to_string(), vol.map_or(trend.clone(), |v| format!("{trend}/{v}")));
        }
    }
    out
}

/// Journaled changes of `symbol` within `days` before `until` (its last stored bar; the
/// latest change when none is given: data time, so a replay of old data answers the
/// same), of one `timeframe` when given, newest last.
fn history(
    state: &RegimeState,
    symbol: &str,
    days: u32,
    timeframe: Option<&str>,
    until: Option<Timestamp>,
) -> Result<RegimeHistory, ErrorReply> {
    let changes = state.changes.get(symbol).ok_or_else(|| {
        ErrorReply::new(
            ErrorCode::NotFound,
            format!("no regime history for {symbol}: ask /api/regime/current/{symbol} first, or import data"),
        )
    })?;
    let latest = until.unwrap_or_else(|| changes.iter().map(|c| c.bar).max().unwrap_or_default());
    let since = Timestamp(latest.0.saturating_sub(i64::from(days) * 86_400 * tradpal_messages::time::NANOS_PER_SEC));
    let wanted = |c: &RegimeChanged| match timeframe {
        None => true,
        Some("combined") => c.timeframe.is_none(),
        Some(tf) => c.timeframe.is_some_and(|t| t.as_str() == tf),
    };
    let mut entries: Vec<HistoryEntry> = changes
        .iter()
        .filter(|c| c.bar >= since && wanted(c))
        .map(|c| entry(c, c.timeframe.is_none().then(|| labels_at(changes, c.bar))))
        .collect();
    entries.sort_by_key(|e| e.date);
    let skip = entries.len().saturating_sub(HISTORY_ENTRIES_MAX);
    Ok(RegimeHistory {
        symbol: symbol.to_string(),
        days,
        timeframe: timeframe.map(str::to_string),
        until: latest,
        regime_transitions: entries.split_off(skip),
    })
}

/// Whether `symbol`'s `tf` bars have a current fit.
enum Fitted {
    Yes,
    /// `tf` is finer than what is stored.
    BelowStored,
    /// Too few bars (why).
    TooFew(String),
}

/// Brings the cached fit of `symbol` at `tf` up to its latest stored bar: extended by
/// filtering when it can be, fitted again otherwise.
async fn fitted(state: &mut RegimeState, symbol: &str, tf: Timeframe) -> Result<Fitted, ActorError> {
    let candles = match recent_bars(symbol, tf).await {
        Ok(c) => c,
        Err(e) if e.code == ErrorCode::BadRequest => return Ok(Fitted::BelowStored),
        Err(e) => return Err(e.into()),
    };
    if candles.len() < FIT_BARS_MIN {
        return Ok(Fitted::TooFew(format!("need at least {FIT_BARS_MIN} bars of {tf} data, got {}", candles.len())));
    }
    let last_bar = candles[candles.len() - 1].open_time;
    let key = (symbol.to_string(), tf);
    let stale = state.fits.get(&key).is_none_or(|c| c.last_bar != last_bar);
    let extended = stale && state.fits.get_mut(&key).is_some_and(|c| extend_fit(c, &candles));
    if stale && !extended {
        let (tracked, tracker) = tokio::task::spawn_blocking(move || fit_and_track(candles, tf))
            .await
            .map_err(|e| ErrorReply::new(ErrorCode::Internal, e.to_string()))?
            .map_err(regime_error)?;
        state.fits.insert(key, CachedFit { last_bar, tracked, tracker, since_fit: 0 });
    }
    Ok(Fitted::Yes)
}
