//! `tradpal audit order ID --data-dir D`: an order's audit chain from the journal (the
//! same as `GET /api/audit/orders/{id}`), offline (stop the service first: one process
//! owns the journal).

use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;
use tradpal_journal::{Journal, JournalOptions};
use tradpal_messages::OrderId;

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// The trigger, decision, risk check, order and fills of one order, as JSON.
    Order {
        order_id: OrderId,
        #[arg(long, value_name = "DIR", env = "TRADPAL_DATA_DIR", default_value = "./tradpal-data")]
        data_dir: PathBuf,
    },
}

pub fn run(cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    let AuditCommand::Order { order_id, data_dir } = cmd;
    let (journal, _) = Journal::open(&data_dir, JournalOptions::default())
        .map_err(|e| anyhow::anyhow!("cannot open the journal in {} (is the service running on it?): {e}", data_dir.display()))?;
    let chain = tradpal_actors::audit::order_chain(&journal, order_id);
    journal.close()?;
    match chain {
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
