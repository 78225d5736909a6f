//! `tradpal ml train|predict|models`.
//!
//! `ml train --data FILE.csv --timeframe TF` trains in this process on a candle file
//! (the same core, request checks and report as `POST /api/ml/train`) and prints the
//! out-of-sample metrics beside the baseline (JSON with `--json`; `--save FILE` writes
//! the model document with its weights). `ml predict` and `ml models` ask the running
//! service over HTTP (the service owns the registry).

use super::progress;
use super::trading::{call, resolve, Target};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use tradpal_actors::ml::metrics::Scores;
use tradpal_actors::ml::request::TrainRequest;
use tradpal_actors::ml::train::{train, TrainReport};
use tradpal_messages::Timeframe;

/// Progress steps the bar counts (the core reports fractions).
const PROGRESS_STEPS: usize = 1_000;

#[derive(clap::Subcommand, Debug)]
pub enum MlCommand {
    /// Train a model on a candle CSV in this process and print its out-of-sample metrics.
    Train(TrainArgs),
    /// Predict with a trained model of the running service.
    Predict(PredictArgs),
    /// List the running service's models, or show one with --model-id.
    Models(ModelsArgs),
}

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// OHLCV candle CSV.
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long)]
    pub timeframe: Timeframe,
    /// Symbol the file holds (recorded in the model).
    #[arg(long, default_value = "BTC/USDT")]
    pub symbol: String,
    /// Feature groups, comma separated (rsi,macd,bb,volume,returns,atr,volatility,regime); default all but regime.
    #[arg(long, value_delimiter = ',')]
    pub features: Vec<String>,
    /// price_direction or forward_return.
    #[arg(long, default_value = "price_direction")]
    pub target: String,
    #[arg(long)]
    pub horizon: Option<usize>,
    /// gbm, lightgbm, xgboost, logistic, mlp, neural_network, ensemble.
    #[arg(long, default_value = "gbm")]
    pub model_type: String,
    /// Tune with the seeded TPE on purged CV folds of the training rows.
    #[arg(long)]
    pub hyperparameter_optimization: bool,
    #[arg(long)]
    pub hpo_trials: Option<usize>,
    /// Drop features that do not help on the training folds (permutation importance).
    #[arg(long)]
    pub feature_selection: bool,
    #[arg(long)]
    pub test_fraction: Option<f64>,
    #[arg(long)]
    pub embargo_bars: Option<usize>,
    #[arg(long)]
    pub cv_folds: Option<usize>,
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long)]
    pub num_iterations: Option<usize>,
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Print the whole report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the model document (metadata, metrics and weights) to this file.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Draw the progress bar even when stderr is not a terminal.
    #[arg(long)]
    pub progress: bool,
    #[arg(long)]
    pub quiet: bool,
    /// Benchmark mode (scripts/bench_ml.sh): also write DIR/matrix.csv (the exact rows
    /// and features) and DIR/rust.json (fit, predict and batch scoring timings).
    #[arg(long, value_name = "DIR")]
    pub bench_dir: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct PredictArgs {
    #[arg(long)]
    pub model_id: String,
    /// The feature vector, comma separated, in the model's feature order.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub features: Vec<f64>,
    /// Predict for the latest complete stored bar of this symbol instead.
    #[arg(long)]
    pub symbol: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

#[derive(clap::Args, Debug)]
pub struct ModelsArgs {
    #[arg(long)]
    pub model_id: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

pub fn run(cmd: MlCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        MlCommand::Train(a) => run_train(a),
        MlCommand::Predict(a) => {
            let (base, key) = match resolve(&a.target)? {
                Ok(v) => v,
                Err(code) => return Ok(code),
            };
            let mut body = serde_json::json!({ "model_id": a.model_id });
            match a.symbol {
                Some(s) => body["symbol"] = s.into(),
                None => body["features"] = a.features.into(),
            }
            call(reqwest::Method::POST, &format!("{base}/api/ml/predict"), &key, Some(body))
        }
        MlCommand::Models(a) => {
            let (base, key) = match resolve(&a.target)? {
                Ok(v) => v,
                Err(code) => return Ok(code),
            };
            let url = match a.model_id {
                Some(id) => format!("{base}/api/ml/models/{id}"),
                None => format!("{base}/api/ml/models"),
            };
            call(reqwest::Method::GET, &url, &key, None)
        }
    }
}

#[allow(clippy::disallowed_methods)] // the run's wall time, printed for the user
fn run_train(a: TrainArgs) -> anyhow::Result<ExitCode> {
    let req = TrainRequest {
        symbol: a.symbol.clone(),
        timeframe: Some(a.timeframe.as_str().to_string()),
        features: (!a.features.is_empty()).then(|| a.features.clone()),
        target: Some(a.target.clone()),
        horizon: a.horizon,
        model_type: Some(a.model_type.clone()),
        hyperparameter_optimization: a.hyperparameter_optimization,
        hpo_trials: a.hpo_trials,
        feature_selection: a.feature_selection,
        start_date: None,
        end_date: None,
        test_fraction: a.test_fraction,
        embargo_bars: a.embargo_bars,
        cv_folds: a.cv_folds,
        seed: a.seed,
        num_iterations: a.num_iterations,
        epochs: a.epochs,
        name: None,
    };
    let plan = match req.plan() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let bars = match super::candle_file::read(&a.data, Some(a.timeframe), "training")? {
        Ok((b, _)) => b,
        Err(code) => return Ok(code),
    };
    let started = std::time::Instant::now();
    let show = progress::wanted(a.progress, a.quiet);
    let result = progress::with_bar("training", "steps", PROGRESS_STEPS, show, |done| {
        train(&bars, &plan.spec, &mut |f| done.store((f * PROGRESS_STEPS as f64) as usize, Ordering::Relaxed))
    });
    let trained = match result {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let mut doc = serde_json::to_value(&trained.report)?;
    doc["model_type"] = plan.model_type.clone().into();
    doc["train_seconds"] = seconds.into();
    if let Some(path) = &a.save {
        let mut saved = doc.clone();
        saved["weights"] = serde_json::to_value(trained.model.weights())?;
        std::fs::write(path, serde_json::to_vec(&saved)?)?;
    }
    if let Some(dir) = &a.bench_dir {
        doc["bench"] = super::ml_bench::run(dir, &bars, &plan.spec, &trained.report)?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print_summary(&plan.model_type, &trained.report, bars.len(), seconds);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(model_type: &str, r: &TrainReport, bars: usize, seconds: f64) {
    println!("model        {model_type}: {}", r.implementation);
    println!(
        "data         {bars} bars, train {} rows ({} .. {}), test {} rows ({} .. {}), purged {}",
        r.train_window.rows,
        r.train_window.start,
        r.train_window.end,
        r.test_window.rows,
        r.test_window.start,
        r.test_window.end,
        r.purged_rows
    );
    println!("features     {}", r.features.join(", "));
    println!("causality    passed ({} rows recomputed on truncated data)", r.causality_rows_checked);
    match &r.out_of_sample {
        Scores::Class { model, baseline, .. } => {
            println!("out-of-sample   model    baseline");
            println!("  auc          {:.4}   {:.4}", model.auc, baseline.auc);
            println!("  log_loss     {:.4}   {:.4}", model.log_loss, baseline.log_loss);
            println!("  brier        {:.4}   {:.4}", model.brier, baseline.brier);
            println!("  accuracy     {:.4}   {:.4}", model.accuracy, baseline.accuracy);
        }
        Scores::Reg { model, baseline, .. } => {
            println!("out-of-sample   model    baseline");
            println!("  r2           {:.5}  {:.5}", model.r2, baseline.r2);
            println!("  mae          {:.6} {:.6}", model.mae, baseline.mae);
            println!("  ic           {:?}", model.ic);
        }
    }
    if let Some(m) = r.cross_validation.mean {
        println!("cv           {} mean {m:.4} ({})", r.cross_validation.metric, r.cross_validation.method);
    }
    println!("train time   {seconds:.2} s");
}
