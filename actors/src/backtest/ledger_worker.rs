//! [`LedgerWorker`]: a long backtest's ledgers, folded on a thread of their own.
//!
//! Why: turning fills into trades ([`Ledger::fill`]) is work the run never reads back
//! (a backtest's decisions see the core's position, not its trades), yet on the peers'
//! workload (57,901 fills) it was about 7% of the engine's time on the run's thread: the
//! money arithmetic of each round trip, its record, and the page faults of a growing
//! trade list. Here the run only appends each fill to a batch; full batches go to a
//! thread that owns the ledgers and folds them in the order they were sent, so the
//! trades are exactly the ones the run's own thread would have made. The ledgers come
//! back at the end of the run ([`LedgerWorker::finish`]), before anything reads them.
//!
//! A live session keeps its ledger on its own thread: it reads the trades as it goes.
//! The ledgers own their symbol and source strings (not the run's shared symbol), so the
//! worker's clones of them never touch memory the run's thread is writing.

use super::batch_thread::BatchThread;
use super::ledger::{Ledger, LedgerFill};
use tradpal_messages::SharedStr;

/// Fills gathered before they go to the worker (about 300 KB a batch: a run of 60,000
/// fills wakes it fifteen times).
pub const LEDGER_BATCH_FILLS: usize = 4096;

/// Full batches on their way to the worker at most (a bounded queue: the run waits
/// rather than buffering without end).
pub const LEDGER_BATCHES_QUEUED_MAX: usize = 4;

/// What the run tells the ledger of leg `k`, in order.
enum Entry {
    Fill(usize, LedgerFill),
    /// Trades opened from now on come from this source (an AI decision's driver).
    Source(usize, SharedStr),
}

pub struct LedgerWorker {
    batch: Vec<Entry>,
    thread: BatchThread<Entry, Vec<Ledger>>,
    /// The source last sent per leg (a decision that names the same one sends nothing).
    sources: Vec<Option<SharedStr>>,
}

impl LedgerWorker {
    /// Moves `ledgers` (one per leg) to a new thread; gives them back when no thread
    /// can be started (the run then folds them itself).
    pub fn start(ledgers: Vec<Ledger>) -> Result<LedgerWorker, Vec<Ledger>> {
        let legs = ledgers.len();
        let fold = |ledgers: &mut Vec<Ledger>, batch: &mut Vec<Entry>| {
            for entry in batch.drain(..) {
                match entry {
                    Entry::Fill(k, fill) => ledgers[k].fill(fill),
                    Entry::Source(k, source) => ledgers[k].set_source(&source),
                }
            }
        };
        let thread = BatchThread::start("ledger", ledgers, LEDGER_BATCHES_QUEUED_MAX, fold)?;
        Ok(LedgerWorker { batch: Vec::with_capacity(LEDGER_BATCH_FILLS), thread, sources: vec![None; legs] })
    }

    /// Leg `k`'s next fill.
    pub fn fill(&mut self, k: usize, fill: LedgerFill) {
        self.push(Entry::Fill(k, fill));
    }

    /// Leg `k`'s trades opened from now on come from `source`.
    pub fn set_source(&mut self, k: usize, source: &str) {
        if self.sources[k].as_deref() == Some(source) {
            return;
        }
        let source = SharedStr::from(source);
        self.sources[k] = Some(source.clone());
        self.push(Entry::Source(k, source));
    }

    fn push(&mut self, entry: Entry) {
        self.batch.push(entry);
        if self.batch.len() >= LEDGER_BATCH_FILLS {
            self.thread.send(&mut self.batch, "fills");
        }
    }

    /// The ledgers, every fill sent folded in.
    pub fn finish(mut self) -> Vec<Ledger> {
        if !self.batch.is_empty() {
            self.thread.send(&mut self.batch, "fills");
        }
        self.thread.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradpal_messages::{Fixed, Side, Timestamp};

    #[test]
    fn the_worker_folds_what_the_run_would_have_folded() {
        // Leg `i % 2`'s `m`-th fill: sides alternate and each fill after the first takes
        // the position through flat (from `size(m - 1)` one way to `size(m)` the other),
        // so every fill closes a trade (a reversal, its fee split).
        let size = |m: usize| 1 + (m % 3) as i64;
        let fill = |i: usize| {
            let m = i / 2;
            LedgerFill {
                side: if m.is_multiple_of(2) { Side::Buy } else { Side::Sell },
                quantity: Fixed::from_int(if m == 0 { size(0) } else { size(m - 1) + size(m) }),
                price: Fixed::from_int(100 + (i % 17) as i64),
                fee: Fixed::from_raw(1_000 + i as i128),
                time: Timestamp(i as i64),
                bar: i,
            }
        };
        let fresh = || vec![Ledger::new("A/USDT", "test"), Ledger::new("B/USDT", "test")];
        let mut here = fresh();
        let mut worker = LedgerWorker::start(fresh()).unwrap_or_else(|_| panic!("no thread"));
        // Several batches and a partial one, two legs, a source change midway.
        for i in 0..LEDGER_BATCH_FILLS * 2 + 7 {
            let k = i % 2;
            if i == LEDGER_BATCH_FILLS + 1 {
                here[k].set_source("ml");
                worker.set_source(k, "ml");
                worker.set_source(k, "ml"); // the same source again sends nothing
            }
            here[k].fill(fill(i));
            worker.fill(k, fill(i));
        }
        let there = worker.finish();
        for (a, b) in here.iter().zip(&there) {
            assert!(!a.closed.is_empty());
            assert_eq!(a.closed, b.closed);
            assert_eq!(a.open_trade(Timestamp(0), 0, Fixed::from_int(100)), b.open_trade(Timestamp(0), 0, Fixed::from_int(100)));
        }
        let sources: Vec<&str> = there[1].closed.iter().map(|t| t.source.as_str()).collect();
        assert!(sources.contains(&"ml") && sources.contains(&"test"), "{} trades: {:?}", sources.len(), &sources[..sources.len().min(5)]);
    }
}
