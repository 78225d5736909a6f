//! `tradpal regime evaluate`: scores regime detection against ground-truth labels
//! (the synthetic generator's `--labels` file), out of sample: the model is fitted on
//! the first `--train-fraction` of the bars and scored only on the rest. Without
//! `--labels` (real data) it prints the sanity table (`regime::sanity`) of every bar:
//! shares per label, trailing and forward returns per trend, realised vol per
//! volatility, switches per 1,000 bars and a verdict (exit code 1 when it fails).

use anyhow::Context;
use clap::Subcommand;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;
use tradpal_actors::regime::actor::FIT_WINDOW_BARS_MAX;
use tradpal_actors::regime::calibration::calibrate;
use tradpal_actors::regime::evaluate::evaluate;
use tradpal_actors::regime::fit::{fit, FitParams};
use tradpal_actors::regime::hysteresis::HysteresisParams;
use tradpal_actors::regime::labels::{labels_for, parse_labels_csv};
use tradpal_actors::regime::sanity::sanity;
use tradpal_actors::regime::tracker::track;
use tradpal_messages::{Candle, Timeframe};

#[derive(Subcommand, Debug)]
pub enum RegimeCommand {
    /// Fit on the first part of FILE, classify it causally, and score the rest against
    /// LABELS (accuracy, precision/recall, confusion matrix, detection delay, false
    /// switches per 1,000 bars, calibration table). Prints JSON. Without LABELS: the
    /// sanity table of every bar (a table, or JSON with --json); exit code 1 if its
    /// verdict fails.
    Evaluate {
        /// OHLCV CSV file.
        #[arg(long)]
        data: PathBuf,
        /// `timestamp,trend,volatility` file (e.g. from `tradpal data synth --labels`).
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Without --labels: print the sanity report as JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Bar length of the file; default: inferred from the bars' spacing. A value that
        /// disagrees with the spacing is refused.
        #[arg(long)]
        timeframe: Option<Timeframe>,
        /// Fraction of the bars the model is fitted on; only the rest is scored.
        #[arg(long, default_value_t = 0.5)]
        train_fraction: f64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

pub fn run(cmd: RegimeCommand) -> anyhow::Result<ExitCode> {
    let RegimeCommand::Evaluate { data, labels, json, timeframe, train_fraction, seed } = cmd;
    if !(train_fraction > 0.0 && train_fraction < 1.0) {
        eprintln!("error: --train-fraction must be in (0, 1), got {train_fraction}");
        return Ok(ExitCode::from(2));
    }
    let (candles, timeframe) = match super::candle_file::read(&data, timeframe, "regime evaluation")? {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let split = ((candles.len() as f64) * train_fraction) as usize;
    let Some(labels) = labels else {
        return sanity_report(&candles, split, timeframe, seed, json);
    };
    let lf = std::fs::File::open(&labels).with_context(|| format!("cannot open {}", labels.display()))?;
    let truth = labels_for(&candles, &parse_labels_csv(BufReader::new(lf))?)?;
    let model = fit(&candles[..split], timeframe, &FitParams { seed, ..FitParams::default() })?;
    // Classify everything causally (bar t sees bars up to t), score only after the split.
    let tracked = track(&model, &candles, &HysteresisParams::default())?;
    let bars = &tracked.bars[split..];
    let truth = &truth[split..];
    let trend_truth: Vec<_> = truth.iter().map(|l| l.trend).collect();
    let vol_truth: Vec<_> = truth.iter().map(|l| l.volatility).collect();
    let trend = evaluate(&bars.iter().map(|b| b.trend).collect::<Vec<_>>(), &trend_truth)?;
    let volatility = evaluate(&bars.iter().map(|b| b.volatility).collect::<Vec<_>>(), &vol_truth)?;
    let calibration = calibrate(&bars.iter().map(|b| b.probs.trend).collect::<Vec<_>>(), &trend_truth)?;
    let out = serde_json::json!({
        "bars": candles.len(),
        "trained_on_bars": split,
        "scored_bars": bars.len(),
        "seed": seed,
        "trend": trend,
        "volatility": volatility,
        "trend_calibration": calibration,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

/// Real data: fit on the first `split` bars (at most `FIT_WINDOW_BARS_MAX`, as the
/// service does), classify every bar causally, print the sanity report.
fn sanity_report(candles: &[Candle], split: usize, timeframe: Timeframe, seed: u64, json: bool) -> anyhow::Result<ExitCode> {
    let train = &candles[..split.min(FIT_WINDOW_BARS_MAX)];
    let model = fit(train, timeframe, &FitParams { seed, ..FitParams::default() })?;
    let tracked = track(&model, candles, &HysteresisParams::default())?;
    let report = sanity(candles, &tracked.bars)?;
    if json {
        let out = serde_json::json!({ "trained_on_bars": train.len(), "detector": model.detector, "sanity": report });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("fitted on {} bars ({timeframe}); detector: {:?}", train.len(), model.detector);
        print!("{}", report.table());
    }
    Ok(if report.verdict.pass { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
