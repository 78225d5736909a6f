//! Features by the spec's group names, computed bar by bar with the market-data indicator
//! structs (the one implementation live and batch share), so a feature at bar `i` reads
//! bars `0..=i` only. [`super::causality`] checks exactly that.
//!
//! Every group is scale-free where the raw indicator is in price units (MACD and ATR are
//! divided by the close), so a model trained at one price level applies at another.
//!
//! | group | columns |
//! |---|---|
//! | `rsi` | `rsi_14` (0-100) |
//! | `macd` | `macd_hist_rel` (MACD(12,26,9) histogram / close) |
//! | `bb` | `bb_percent_b` (Bollinger(20, 2) %b) |
//! | `volume` | `volume_ratio_20` (volume / its 20-bar mean) |
//! | `returns` | `log_return_1`, `log_return_5` |
//! | `atr` | `atr_rel` (ATR(14) / close) |
//! | `volatility` | `volatility_20` (std of 20 one-bar returns) |
//! | `regime` | `trend_50` (close / SMA(50) - 1), `vol_ratio_20_100` (volatility 20 / 100): simple regime proxies, not in the default set |

use super::error::MlError;
use crate::market_data::indicators::{Atr, Bollinger, Indicator, Macd, Returns, Rsi, Sma, Volatility, VolumeFeatures};
use serde::{Deserialize, Serialize};
use tradpal_messages::Candle;

/// The group names accepted.
pub const GROUPS: [&str; 8] = ["rsi", "macd", "bb", "volume", "returns", "atr", "volatility", "regime"];
/// Bars before every group has a value (the regime group's 100-bar volatility is the
/// longest warm-up; without it, MACD's 26 + 9 - 1).
pub const WARM_UP_BARS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureGroup {
    Rsi,
    Macd,
    Bb,
    Volume,
    Returns,
    Atr,
    Volatility,
    Regime,
}

impl FeatureGroup {
    /// The default set (every group but `regime`).
    pub const ALL: [FeatureGroup; 7] = [Self::Rsi, Self::Macd, Self::Bb, Self::Volume, Self::Returns, Self::Atr, Self::Volatility];
    const ACCEPTED: [FeatureGroup; 8] =
        [Self::Rsi, Self::Macd, Self::Bb, Self::Volume, Self::Returns, Self::Atr, Self::Volatility, Self::Regime];

    pub fn parse(name: &str) -> Result<Self, MlError> {
        GROUPS
            .iter()
            .position(|g| *g == name)
            .map(|i| Self::ACCEPTED[i])
            .ok_or_else(|| MlError::UnknownFeature { name: name.chars().take(64).collect(), valid: GROUPS.join(", ") })
    }

    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Rsi => &["rsi_14"],
            Self::Macd => &["macd_hist_rel"],
            Self::Bb => &["bb_percent_b"],
            Self::Volume => &["volume_ratio_20"],
            Self::Returns => &["log_return_1", "log_return_5"],
            Self::Atr => &["atr_rel"],
            Self::Volatility => &["volatility_20"],
            Self::Regime => &["trend_50", "vol_ratio_20_100"],
        }
    }
}

/// The column names of `groups`, in order.
pub fn names(groups: &[FeatureGroup]) -> Vec<String> {
    groups.iter().flat_map(|g| g.columns().iter().map(|c| c.to_string())).collect()
}

/// Every indicator the groups need, fed one candle at a time.
#[derive(Debug, Clone)]
pub struct FeatureState {
    rsi: Rsi,
    macd: Macd,
    bb: Bollinger,
    volume: VolumeFeatures,
    r1: Returns,
    r5: Returns,
    atr: Atr,
    volatility: Volatility,
    sma50: Sma,
    vol100: Volatility,
}

impl Default for FeatureState {
    fn default() -> Self {
        Self {
            rsi: Rsi::default(),
            macd: Macd::default(),
            bb: Bollinger::default(),
            volume: VolumeFeatures::default(),
            r1: Returns::default(),
            r5: Returns::new(5).expect("5 is a valid period"),
            atr: Atr::default(),
            volatility: Volatility::default(),
            sma50: Sma::new(50).expect("50 is a valid period"),
            vol100: Volatility::new(100).expect("100 is a valid period"),
        }
    }
}

/// One bar's value of every column (`None` while warming up).
struct Values {
    rsi: Option<f64>,
    macd: Option<f64>,
    bb: Option<f64>,
    volume: Option<f64>,
    r1: Option<f64>,
    r5: Option<f64>,
    atr: Option<f64>,
    volatility: Option<f64>,
    trend: Option<f64>,
    vol_ratio: Option<f64>,
}

impl FeatureState {
    /// Feeds `c`; returns the row of `groups` at this bar, `None` while any value is
    /// warming up or not finite (a zero-volume window, say).
    pub fn update(&mut self, c: Candle, groups: &[FeatureGroup], out: &mut Vec<f64>) -> bool {
        let volatility = self.volatility.update(c.close);
        let long = self.vol100.update(c.close);
        let v = Values {
            rsi: self.rsi.update(c.close),
            macd: self.macd.update(c.close).and_then(|m| m.histogram).map(|h| h / c.close),
            bb: self.bb.update(c.close).map(|b| b.percent_b),
            volume: self.volume.update(c.volume).map(|v| v.ratio),
            r1: self.r1.update(c.close).map(|r| r.log),
            r5: self.r5.update(c.close).map(|r| r.log),
            atr: self.atr.update(c).map(|a| a / c.close),
            volatility,
            trend: self.sma50.update(c.close).map(|m| c.close / m - 1.0),
            vol_ratio: volatility.zip(long).map(|(s, l)| s / l),
        };
        out.clear();
        for g in groups {
            let cols: &[Option<f64>] = match g {
                FeatureGroup::Rsi => &[v.rsi],
                FeatureGroup::Macd => &[v.macd],
                FeatureGroup::Bb => &[v.bb],
                FeatureGroup::Volume => &[v.volume],
                FeatureGroup::Returns => &[v.r1, v.r5],
                FeatureGroup::Atr => &[v.atr],
                FeatureGroup::Volatility => &[v.volatility],
                FeatureGroup::Regime => &[v.trend, v.vol_ratio],
            };
            for x in cols {
                match x {
                    Some(x) if x.is_finite() => out.push(*x),
                    _ => return false,
                }
            }
        }
        true
    }
}

/// Feature rows over a candle series: row `r` belongs to bar `bars[r]` and reads bars
/// `0..=bars[r]` only. Rows are row-major in `values`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeatureFrame {
    pub names: Vec<String>,
    pub bars: Vec<usize>,
    pub values: Vec<f64>,
}

impl FeatureFrame {
    pub fn cols(&self) -> usize {
        self.names.len()
    }

    pub fn rows(&self) -> usize {
        self.bars.len()
    }

    pub fn row(&self, r: usize) -> &[f64] {
        let d = self.cols();
        &self.values[r * d..(r + 1) * d]
    }
}

/// The features of `groups` at every bar of `candles` where they all have a value.
pub fn compute(candles: &[Candle], groups: &[FeatureGroup]) -> FeatureFrame {
    let mut state = FeatureState::default();
    let mut frame = FeatureFrame { names: names(groups), ..FeatureFrame::default() };
    let mut row = Vec::with_capacity(frame.cols());
    for (i, c) in candles.iter().enumerate() {
        if state.update(*c, groups, &mut row) {
            frame.bars.push(i);
            frame.values.extend_from_slice(&row);
        }
    }
    frame
}

/// The features at the last bar of `candles` (what `predict` by symbol uses), or `None`
/// when that bar has no complete row.
pub fn latest(candles: &[Candle], groups: &[FeatureGroup]) -> Option<Vec<f64>> {
    let mut state = FeatureState::default();
    let mut row = Vec::new();
    let mut complete = false;
    for c in candles {
        complete = state.update(*c, groups, &mut row);
    }
    complete.then_some(row)
}
