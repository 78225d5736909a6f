//! The market-data actor: the one door through which candles enter the system.
//!
//! Every input path (CSV import, HTTP, and later NATS and smart-trade requests) sends
//! the same `Ingest` message; the actor plans it against the store (pure), journals
//! the accepted bars durably in one batch, and only then adds them to the store. On
//! (re)start it rebuilds the store by folding every `CandlesIngested` record.

use super::csv::CsvRecord;
use super::indicators::{compute_all, IndicatorTable};
use super::rejection::Rejection;
use super::store::{CandlePage, CandleStore, StoreError};
use super::validate::{Gap, ValidationReport};
use crate::context::{ActorError, RequestMeta, Services};
use crate::fault::Fault;
use crate::session::actor::Answer;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde::Serialize;
use tradpal_messages::event::CANDLES_PER_RECORD_MAX;
use tradpal_messages::{CandlesIngested, DataSource, ErrorCode, ErrorReply, Event, EventKind, Timeframe, Timestamp};

/// Rejections and gaps listed in an ingest report (the totals are always exact).
pub const REPORT_ITEMS_MAX: usize = 100;
/// Most bars an indicator request computes over (the most recent ones in the range).
pub const INDICATOR_BARS_MAX: usize = 200_000;

/// What to do with a batch that has rejected rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RejectPolicy {
    /// Store nothing unless every row is good (the default: a half-imported file is a
    /// silent hole in every backtest run on it).
    #[default]
    AllOrNothing,
    /// Store the good rows, report the bad ones.
    KeepGood,
}

/// The outcome of one ingest, for the CLI and the HTTP reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IngestReport {
    pub symbol: String,
    pub timeframe: Timeframe,
    /// Whether the accepted bars were journaled and stored.
    pub stored: bool,
    pub accepted: usize,
    pub duplicates_dropped: usize,
    pub rejected_total: usize,
    pub rejected: Vec<Rejection>,
    pub gaps_total: usize,
    pub missing_bars_total: i64,
    pub gaps: Vec<Gap>,
    pub first_bar: Option<Timestamp>,
    pub last_bar: Option<Timestamp>,
    /// Journal sequences of the records written (empty when nothing was new).
    pub sequences: Vec<u64>,
}

impl IngestReport {
    fn new(symbol: &str, report: &ValidationReport) -> Self {
        Self {
            symbol: symbol.to_string(),
            timeframe: report.timeframe,
            stored: false,
            accepted: report.accepted.len(),
            duplicates_dropped: report.duplicates_dropped,
            rejected_total: report.rejected_total,
            rejected: report.rejected.iter().take(REPORT_ITEMS_MAX).cloned().collect(),
            gaps_total: report.gaps.len(),
            missing_bars_total: report.missing_bars_total(),
            gaps: report.gaps.iter().take(REPORT_ITEMS_MAX).copied().collect(),
            first_bar: report.accepted.first().map(|c| c.open_time),
            last_bar: report.accepted.last().map(|c| c.open_time),
            sequences: Vec::new(),
        }
    }
}

/// Indicator series over a range, with the timeframe's open times.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorReply {
    pub symbol: String,
    pub timeframe: Timeframe,
    /// True when the range held more than `INDICATOR_BARS_MAX` bars and only the most
    /// recent ones were used.
    pub truncated: bool,
    #[serde(flatten)]
    pub table: IndicatorTable,
}

#[derive(Debug)]
pub enum MarketDataMsg {
    Ingest {
        symbol: String,
        timeframe: Timeframe,
        source: DataSource,
        rows: Vec<CsvRecord>,
        policy: RejectPolicy,
        meta: RequestMeta,
        reply: Answer<IngestReport>,
    },
    Range {
        symbol: String,
        timeframe: Timeframe,
        start: Option<Timestamp>,
        end: Option<Timestamp>,
        limit: usize,
        reply: Answer<CandlePage>,
    },
    Indicators {
        symbol: String,
        timeframe: Timeframe,
        start: Option<Timestamp>,
        end: Option<Timestamp>,
        names: Option<Vec<String>>,
        reply: Answer<IndicatorReply>,
    },
    /// The most recent `bars_max` complete bars of `timeframe`, oldest first.
    Recent {
        symbol: String,
        timeframe: Timeframe,
        bars_max: usize,
        reply: Answer<Vec<tradpal_messages::Candle>>,
    },
    /// `(symbol, timeframe, bars)` of every stored series.
    Summary {
        reply: RpcReplyPort<Vec<(String, Timeframe, usize)>>,
    },
    Fault(Fault),
}

#[derive(Debug, Clone)]
pub struct MarketDataActor {
    pub services: Services,
}

pub fn store_error(e: StoreError) -> ErrorReply {
    let code = match e {
        StoreError::UnknownSymbol { .. } => ErrorCode::NotFound,
        StoreError::NoSource { .. } | StoreError::Resample(_) => ErrorCode::BadRequest,
        StoreError::AlreadyStored { .. } => ErrorCode::Internal,
    };
    ErrorReply::new(code, e.to_string())
}

/// Folds every `CandlesIngested` record of the journal into a fresh store.
pub async fn rebuild(services: &Services) -> Result<CandleStore, ActorError> {
    services
        .fold(&[EventKind::CandlesIngested], CandleStore::default(), |store, env| match &env.event {
            Event::CandlesIngested(e) => Ok(store.apply(e)?),
            _ => Ok(()),
        })
        .await
}

impl Actor for MarketDataActor {
    type Msg = MarketDataMsg;
    type State = CandleStore;
    type Arguments = ();

    async fn pre_start(&self, _myself: ActorRef<Self::Msg>, _args: ()) -> Result<CandleStore, ActorProcessingErr> {
        let store = rebuild(&self.services).await?;
        let bars: usize = store.summary().iter().map(|(_, _, n)| n).sum();
        tracing::info!(series = store.summary().len(), bars, "market-data store rebuilt from journal");
        Ok(store)
    }

    async fn handle(&self, _myself: ActorRef<Self::Msg>, msg: MarketDataMsg, store: &mut CandleStore) -> Result<(), ActorProcessingErr> {
        match msg {
            MarketDataMsg::Ingest { symbol, timeframe, source, rows, policy, meta, reply } => {
                let result = self.ingest(store, &symbol, timeframe, source, rows, policy, &meta).await;
                let _ = reply.send(result.map_err(|e| e.to_reply()));
            }
            MarketDataMsg::Range { symbol, timeframe, start, end, limit, reply } => {
                let _ = reply.send(store.range(&symbol, timeframe, start, end, limit).map_err(store_error));
            }
            MarketDataMsg::Indicators { symbol, timeframe, start, end, names, reply } => {
                let _ = reply.send(indicators(store, &symbol, timeframe, start, end, names.as_deref()));
            }
            MarketDataMsg::Recent { symbol, timeframe, bars_max, reply } => {
                let _ = reply.send(store.recent(&symbol, timeframe, bars_max).map_err(store_error));
            }
            MarketDataMsg::Summary { reply } => {
                let _ = reply.send(store.summary());
            }
            MarketDataMsg::Fault(f) => return Err(f.trigger("market_data")),
        }
        Ok(())
    }
}

impl MarketDataActor {
    #[allow(clippy::too_many_arguments)]
    async fn ingest(
        &self,
        store: &mut CandleStore,
        symbol: &str,
        timeframe: Timeframe,
        source: DataSource,
        rows: Vec<CsvRecord>,
        policy: RejectPolicy,
        meta: &RequestMeta,
    ) -> Result<IngestReport, ActorError> {
        if !tradpal_messages::is_valid_symbol(symbol) {
            return Err(ErrorReply::new(
                ErrorCode::BadRequest,
                format!("invalid symbol {symbol:?}: expected BASE/QUOTE, e.g. \"BTC/USDT\""),
            )
            .into());
        }
        let plan = store.plan(symbol, timeframe, rows);
        let mut report = IngestReport::new(symbol, &plan);
        if plan.accepted.is_empty() || (plan.rejected_total > 0 && policy == RejectPolicy::AllOrNothing) {
            return Ok(report);
        }
        let drafts = plan
            .accepted
            .chunks(CANDLES_PER_RECORD_MAX)
            .map(|chunk| {
                let e = CandlesIngested { symbol: symbol.to_string(), timeframe, source, candles: chunk.to_vec() };
                self.services.draft(meta, Event::CandlesIngested(e))
            })
            .collect();
        let envelopes = self.services.record_batch(drafts).await?;
        for env in &envelopes {
            if let Event::CandlesIngested(e) = &env.event {
                store.apply(e).map_err(|why| ErrorReply::new(ErrorCode::Internal, why.to_string()))?;
            }
        }
        report.stored = true;
        report.sequences = envelopes.iter().map(|e| e.sequence).collect();
        tracing::info!(%symbol, %timeframe, accepted = report.accepted, duplicates = report.duplicates_dropped, "candles ingested");
        Ok(report)
    }
}

fn indicators(
    store: &CandleStore,
    symbol: &str,
    timeframe: Timeframe,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
    names: Option<&[String]>,
) -> Result<IndicatorReply, ErrorReply> {
    let mut bars = Vec::new();
    let mut cursor = start;
    loop {
        let page = store.range(symbol, timeframe, cursor, end, super::store::CANDLES_PAGE_MAX).map_err(store_error)?;
        bars.extend(page.bars.iter().filter(|b| b.complete).map(|b| b.candle));
        match page.next_start {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let truncated = bars.len() > INDICATOR_BARS_MAX;
    let bars = &bars[bars.len().saturating_sub(INDICATOR_BARS_MAX)..];
    let mut table = compute_all(bars);
    if let Some(names) = names {
        for name in names {
            if !table.columns.contains_key(name) {
                let known: Vec<&str> = table.columns.keys().map(String::as_str).collect();
                return Err(ErrorReply::new(
                    ErrorCode::BadRequest,
                    format!("unknown indicator {name:?}: expected some of {}", known.join(", ")),
                ));
            }
        }
        table.columns.retain(|k, _| names.contains(k));
    }
    Ok(IndicatorReply { symbol: symbol.to_string(), timeframe, truncated, table })
}
