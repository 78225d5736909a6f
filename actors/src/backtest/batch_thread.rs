//! [`BatchThread`]: a run's helper thread that folds batches into a state it owns, in
//! the order they were sent. The event log's hash (`events.rs`) and the ledgers
//! (`ledger_worker.rs`) both use it.
//!
//! The run fills a batch and hands it over whole: one wake-up per batch, not one per
//! item. A queue of at most `queued_max` batches bounds what is in flight (the run
//! waits rather than buffering without end). Folded batches come back emptied for
//! reuse, so a long run allocates no buffer per batch. The state comes back with
//! [`BatchThread::finish`], once every batch sent is folded.

use std::sync::mpsc;
use std::thread::JoinHandle;

pub struct BatchThread<T: Send + 'static, S: Send + 'static> {
    /// The thread's name, in the panic of a run whose helper is gone.
    name: &'static str,
    batches: mpsc::SyncSender<Vec<T>>,
    /// Folded batches, emptied, for reuse.
    emptied: mpsc::Receiver<Vec<T>>,
    done: JoinHandle<S>,
}

impl<T: Send + 'static, S: Send + 'static> BatchThread<T, S> {
    /// Starts thread `name` owning `state`, calling `fold` on each batch sent (the
    /// batch is cleared after it). Gives `state` back when no thread can be started.
    pub fn start(
        name: &'static str,
        state: S,
        queued_max: usize,
        mut fold: impl FnMut(&mut S, &mut Vec<T>) + Send + 'static,
    ) -> Result<Self, S> {
        let (batches, queued) = mpsc::sync_channel::<Vec<T>>(queued_max);
        let (give_back, emptied) = mpsc::channel();
        // The state follows once the thread runs, so that it is still here to give back
        // if the thread cannot be started.
        let (hand_over, handed) = mpsc::sync_channel::<S>(1);
        let work = move || {
            let mut state = handed.recv().expect("the state is handed over once the thread is started");
            for mut batch in queued {
                fold(&mut state, &mut batch);
                batch.clear();
                let _ = give_back.send(batch); // the run may have finished: then dropped
            }
            state
        };
        let Ok(done) = std::thread::Builder::new().name(name.into()).spawn(work) else { return Err(state) };
        // A thread that is running has its receiver: this cannot fail short of a panic
        // there, which `finish` raises.
        let _ = hand_over.send(state);
        Ok(BatchThread { name, batches, emptied, done })
    }

    /// Sends `batch` (taken: left empty, with room for as many items), waiting while
    /// the queue is full. `unit` names the items in the panic when the thread is gone.
    pub fn send(&mut self, batch: &mut Vec<T>, unit: &str) {
        let next = self.emptied.try_recv().unwrap_or_else(|_| Vec::with_capacity(batch.capacity()));
        let full = std::mem::replace(batch, next);
        if let Err(mpsc::SendError(full)) = self.batches.send(full) {
            // The thread is gone (it cannot fail, short of a panic): what it folded
            // cannot be recovered, so neither can the run's result.
            panic!("the {} thread stopped; {} {unit} not folded", self.name, full.len());
        }
    }

    /// The state, every batch sent folded in (a panic of the thread is raised here).
    pub fn finish(self) -> S {
        drop(self.batches); // ends the thread's loop once it has folded the queue
        self.done.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_folded_in_order_and_the_buffers_come_back() {
        let mut t = BatchThread::start("test-fold", Vec::new(), 2, |seen: &mut Vec<u32>, b: &mut Vec<u32>| {
            seen.extend_from_slice(b);
        })
        .unwrap_or_else(|_| panic!("no thread"));
        let mut batch = Vec::with_capacity(8);
        for i in 0..100u32 {
            batch.push(i);
            if batch.len() == 8 {
                t.send(&mut batch, "numbers");
                assert!(batch.is_empty() && batch.capacity() >= 8, "an empty batch with room is left");
            }
        }
        t.send(&mut batch, "numbers");
        assert_eq!(t.finish(), (0..100).collect::<Vec<_>>());
    }
}
