//! The run's event stream: every event the execution core emitted (and the funding),
//! in order, folded into a blake3 hash. Two runs with the same inputs must give the same
//! hash; any difference in any order, fill, fee or id changes it.
//!
//! Each event is hashed as its JSON encoding (the journal's outside form: money as
//! decimal strings, no floats) preceded by its length as 8 little-endian bytes, so the
//! framing is unambiguous.

use tradpal_messages::Event;

pub struct EventLog {
    hasher: blake3::Hasher,
    count: u64,
    kept: Option<Vec<Event>>,
    buffer: Vec<u8>,
}

impl EventLog {
    /// `keep`: also keep every event (memory grows with the number of orders).
    pub fn new(keep: bool) -> Self {
        EventLog { hasher: blake3::Hasher::new(), count: 0, kept: keep.then(Vec::new), buffer: Vec::with_capacity(1024) }
    }

    pub fn record(&mut self, event: &Event) {
        self.buffer.clear();
        serde_json::to_writer(&mut self.buffer, event).expect("events always serialize to JSON");
        self.hasher.update(&(self.buffer.len() as u64).to_le_bytes());
        self.hasher.update(&self.buffer);
        self.count += 1;
        if let Some(kept) = self.kept.as_mut() {
            kept.push(event.clone());
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The hash (hex), the number of events, and the events if kept.
    pub fn finish(self) -> (String, u64, Vec<Event>) {
        (self.hasher.finalize().to_hex().to_string(), self.count, self.kept.unwrap_or_default())
    }
}
