//! `tradpal journal verify|dump`: audit the record.
//!
//! `verify` is read-only: it never truncates or reindexes, so it is safe on a copy
//! taken from a crashed machine. `dump` opens the journal like the service does (a torn
//! tail left by a crash is cut first) and prints records as JSON lines.

use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;
use tradpal_journal::{Journal, JournalOptions};
use tradpal_messages::{codec, SessionId};

#[derive(Subcommand, Debug)]
pub enum JournalCommand {
    /// Check every record: checksum, hash chain, dense sequence, decoding, invariants,
    /// and that the journal still reaches its acknowledged high-water mark.
    /// Exits 1 naming the first bad record or the missing acknowledged records.
    Verify {
        /// Data directory (TRADPAL_DATA_DIR, as for every command).
        #[arg(long, value_name = "DIR", env = "TRADPAL_DATA_DIR", default_value = "./tradpal-data")]
        data_dir: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print records as JSON lines.
    Dump {
        /// Data directory (TRADPAL_DATA_DIR, as for every command).
        #[arg(long, value_name = "DIR", env = "TRADPAL_DATA_DIR", default_value = "./tradpal-data")]
        data_dir: PathBuf,
        /// First sequence (default 1).
        #[arg(long)]
        from: Option<u64>,
        /// Last sequence, inclusive (default: the last).
        #[arg(long)]
        to: Option<u64>,
        /// Only this session's records.
        #[arg(long)]
        session: Option<SessionId>,
    },
}

pub fn run(cmd: JournalCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        JournalCommand::Verify { data_dir, json } => verify(data_dir, json),
        JournalCommand::Dump { data_dir, from, to, session } => dump(data_dir, from, to, session),
    }
}

fn verify(data_dir: PathBuf, json: bool) -> anyhow::Result<ExitCode> {
    let report = match tradpal_journal::verify(&data_dir) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    if json {
        let problem = report.problem.as_ref().map(|p| p.to_string());
        let counts: serde_json::Map<String, serde_json::Value> =
            report.kinds.iter().map(|(k, n)| (k.as_str().to_string(), serde_json::json!(n))).collect();
        let out = serde_json::json!({
            "ok": report.is_ok(),
            "records": report.records,
            "segments": report.segments,
            "bytes": report.bytes,
            "first_sequence": report.first_sequence,
            "last_sequence": report.last_sequence,
            "chain_hash": report.chain_hash,
            "first_timestamp": report.first_timestamp.map(|t| t.to_rfc3339()),
            "last_timestamp": report.last_timestamp.map(|t| t.to_rfc3339()),
            "kinds": counts,
            "problem": problem,
            "acknowledged_through": report.acknowledged_through,
            "acknowledged_gap": report.acknowledged_gap.map(|g| serde_json::json!({"first": g.first, "last": g.last})),
            "watermark_error": report.watermark_error,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{report}");
    }
    Ok(if report.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn dump(data_dir: PathBuf, from: Option<u64>, to: Option<u64>, session: Option<SessionId>) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let (journal, _recovery) = Journal::open(&data_dir, JournalOptions::default())?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let last = journal.last_sequence();
    let records: Box<dyn Iterator<Item = Result<_, _>>> = match session {
        Some(id) => Box::new(journal.read_session(id)),
        None => Box::new(journal.read_range(from.unwrap_or(1).max(1), to.unwrap_or(last).min(last))),
    };
    for env in records {
        let env = env?;
        if from.is_some_and(|f| env.sequence < f) || to.is_some_and(|t| env.sequence > t) {
            continue;
        }
        out.write_all(&codec::to_json(&env))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    drop(out);
    journal.close()?;
    Ok(ExitCode::SUCCESS)
}
