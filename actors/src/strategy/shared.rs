//! Indicator columns shared by the many runs of a parameter grid over one series.
//!
//! A grid over `sma_cross` runs the engine once per `(fast, slow)` point, and every run
//! would recompute both SMAs bar by bar, `fast + slow` adds a bar. The points only have a
//! few distinct periods, so [`SharedColumns::for_specs`] computes each period's SMA
//! column once over the run's closes (the batch function, bit-identical to the
//! incremental one), within a memory budget ([`SHARED_BYTES_MAX`]: the most-used
//! periods first), and [`build_shared`] builds strategies that read them. A strategy
//! without shared columns is built as [`super::build`] does; the results are the same
//! either way (tested in `tests.rs`), only faster.

use super::params::Params;
use super::sma_cross::SmaColumn;
use super::{build, SmaCross, Strategy, StrategyError, StrategySpec};
use crate::market_data::indicators::sma_column;
use std::collections::BTreeMap;
use std::sync::Arc;
use tradpal_messages::Candle;

/// Most memory the shared columns of one batch may take (8 bytes a bar a column: a
/// [`Column`](crate::market_data::indicators::Column) of f64): 512 MiB, 64 columns of a million bars. A grid with more distinct periods shares the most-used
/// ones; its other points compute their SMAs themselves.
pub const SHARED_BYTES_MAX: usize = 512 << 20;

/// SMA columns by period, all over the same bars.
#[derive(Debug, Clone, Default)]
pub struct SharedColumns {
    sma: BTreeMap<usize, SmaColumn>,
}

impl SharedColumns {
    /// The columns the `specs` can share over `bars`: each SMA period of an
    /// `sma_cross` / `sma_cross_long` spec, once, within [`SHARED_BYTES_MAX`]. Specs that
    /// do not check are skipped (their build fails later with its own message).
    pub fn for_specs<'a>(bars: &[Candle], specs: impl IntoIterator<Item = &'a StrategySpec>) -> Self {
        Self::within(bars, specs, SHARED_BYTES_MAX)
    }

    /// [`Self::for_specs`] from the bars' closes already gathered (`closes[i]` is bar
    /// `i`'s close): a single run also needs them for its buy-and-hold benchmark.
    pub fn for_closes<'a>(closes: &[f64], specs: impl IntoIterator<Item = &'a StrategySpec>) -> Self {
        Self::of_closes(closes.len(), || std::borrow::Cow::Borrowed(closes), specs, SHARED_BYTES_MAX)
    }

    /// [`Self::for_specs`] within `bytes_max`: the periods most specs use first (ties:
    /// the shorter period), as many as fit.
    pub(super) fn within<'a>(bars: &[Candle], specs: impl IntoIterator<Item = &'a StrategySpec>, bytes_max: usize) -> Self {
        let closes = || std::borrow::Cow::Owned(bars.iter().map(|b| b.close).collect());
        Self::of_closes(bars.len(), closes, specs, bytes_max)
    }

    /// [`Self::within`] over `bars` bars whose closes `closes()` gives (called only when
    /// a column is wanted).
    fn of_closes<'a, 'c>(
        bars: usize,
        closes: impl FnOnce() -> std::borrow::Cow<'c, [f64]>,
        specs: impl IntoIterator<Item = &'a StrategySpec>,
        bytes_max: usize,
    ) -> Self {
        let mut uses = BTreeMap::<usize, usize>::new();
        for spec in specs {
            if let Some((fast, slow)) = sma_periods(spec) {
                *uses.entry(fast).or_default() += 1;
                *uses.entry(slow).or_default() += 1;
            }
        }
        let column_bytes = bars.max(1).saturating_mul(std::mem::size_of::<f64>());
        let mut periods: Vec<(usize, usize)> = uses.into_iter().collect();
        periods.sort_by_key(|&(period, uses)| (std::cmp::Reverse(uses), period));
        periods.truncate(bytes_max / column_bytes);
        if periods.is_empty() {
            return SharedColumns::default();
        }
        let closes = closes();
        let sma = periods.into_iter().filter_map(|(p, _)| Some((p, Arc::new(sma_column(&closes, p).ok()?)))).collect();
        SharedColumns { sma }
    }

    /// The periods held, shortest first.
    pub fn periods(&self) -> impl Iterator<Item = usize> + '_ {
        self.sma.keys().copied()
    }

    /// Number of columns held.
    pub fn len(&self) -> usize {
        self.sma.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sma.is_empty()
    }
}

/// `(fast, slow)` of a spec that builds an `sma_cross` / `sma_cross_long`.
fn sma_periods(spec: &StrategySpec) -> Option<(usize, usize)> {
    if spec.name != "sma_cross" && spec.name != "sma_cross_long" {
        return None;
    }
    let p = Params::check(spec).ok()?;
    Some((p.period("fast").ok()?, p.period("slow").ok()?))
}

/// [`build`], reading the SMAs from `shared` when it holds both of the spec's periods.
/// The run must be over exactly the bars `shared` was computed on.
pub fn build_shared(spec: &StrategySpec, shared: &SharedColumns) -> Result<Box<dyn Strategy>, StrategyError> {
    let built = build(spec)?; // every check and error exactly as without sharing
    let Some((fast, slow)) = sma_periods(spec) else { return Ok(built) };
    let (Some(f), Some(s)) = (shared.sma.get(&fast), shared.sma.get(&slow)) else { return Ok(built) };
    let p = Params::check(spec)?;
    let strategy = SmaCross::new(fast, slow, p.fraction()?, spec.name == "sma_cross")?.entry(p.entry_on_cross()?);
    Ok(Box::new(strategy.with_columns(Arc::clone(f), Arc::clone(s))))
}
