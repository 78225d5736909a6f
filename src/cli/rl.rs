//! `tradpal rl train|agents|evaluate|infer`: reinforcement-learning agents of the
//! running service, over HTTP (the service owns the journal and the agent files). Same
//! URL and key resolution as `tradpal trading-state`; prints the service's JSON.

use super::trading::{call, resolve, Target};
use reqwest::Method;
use serde_json::{json, Value};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum RlCommand {
    /// Start training an agent on stored bars (answers with its agent_id at once).
    Train(TrainArgs),
    /// List the agents, or show one (status, progress, training curve, evaluation).
    Agents {
        agent_id: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Evaluate an agent on held-out bars against buy-and-hold and random agents.
    Evaluate(EvaluateArgs),
    /// The agent's action on the latest complete stored bar of a symbol.
    Infer {
        #[arg(long)]
        agent_id: String,
        #[arg(long)]
        symbol: String,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    #[arg(long)]
    pub symbol: String,
    #[arg(long)]
    pub timeframe: Option<String>,
    /// dqn | ppo.
    #[arg(long, default_value = "ppo")]
    pub algorithm: String,
    #[arg(long, default_value_t = 20)]
    pub episodes: usize,
    /// pnl | differential_sharpe | drawdown_penalty.
    #[arg(long, default_value = "pnl")]
    pub reward: String,
    #[arg(long, default_value_t = 0.001)]
    pub commission: f64,
    #[arg(long, default_value_t = 1)]
    pub slippage_bps: u32,
    #[arg(long, default_value_t = 0.7)]
    pub train_fraction: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Fine-tune this agent instead of starting fresh.
    #[arg(long)]
    pub base_agent_id: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

#[derive(clap::Args, Debug)]
pub struct EvaluateArgs {
    #[arg(long)]
    pub agent_id: String,
    /// Default: the agent's own symbol.
    #[arg(long)]
    pub symbol: Option<String>,
    #[arg(long, default_value_t = 0.001)]
    pub commission: f64,
    #[arg(long, default_value_t = 1)]
    pub slippage_bps: u32,
    #[arg(long, default_value_t = 100)]
    pub random_agents: usize,
    #[command(flatten)]
    pub target: Target,
}

fn send(target: &Target, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<ExitCode> {
    match resolve(target)? {
        Ok((base, key)) => call(method, &format!("{base}{path}"), &key, body),
        Err(code) => Ok(code),
    }
}

pub fn run(cmd: RlCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RlCommand::Train(a) => {
            let mut body = json!({
                "symbol": a.symbol, "algorithm": a.algorithm, "episodes": a.episodes, "reward": a.reward,
                "commission": a.commission, "slippage_bps": a.slippage_bps, "train_fraction": a.train_fraction, "seed": a.seed,
            });
            if let Some(tf) = a.timeframe {
                body["timeframe"] = json!(tf);
            }
            if let Some(b) = a.base_agent_id {
                body["base_agent_id"] = json!(b);
            }
            send(&a.target, Method::POST, "/api/rl/train", Some(body))
        }
        RlCommand::Agents { agent_id, target } => match agent_id {
            Some(id) => send(&target, Method::GET, &format!("/api/rl/agents/{id}"), None),
            None => send(&target, Method::GET, "/api/rl/agents", None),
        },
        RlCommand::Evaluate(a) => {
            let mut body = json!({"agent_id": a.agent_id, "commission": a.commission, "slippage_bps": a.slippage_bps, "random_agents": a.random_agents});
            if let Some(s) = a.symbol {
                body["symbol"] = json!(s);
            }
            send(&a.target, Method::POST, "/api/rl/evaluate", Some(body))
        }
        RlCommand::Infer { agent_id, symbol, target } => {
            send(&target, Method::POST, "/api/rl/infer", Some(json!({"agent_id": agent_id, "symbol": symbol})))
        }
    }
}
