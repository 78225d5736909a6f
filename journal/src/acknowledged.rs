//! The values behind the acknowledged high-water mark: [`Watermark`] (the last record the
//! journal acknowledged) and [`AcknowledgedGap`] (what a log that ends below the mark
//! lost). Plain values with no I/O: the mark file (`watermark.rs`), the errors
//! (`error.rs`), open and verify all use them, and this module uses none of those.

use crate::format::Hash;

/// The last acknowledged record: its sequence and chain hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watermark {
    pub sequence: u64,
    pub hash: Hash,
}

/// What the log is missing against the mark: acknowledged records `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcknowledgedGap {
    /// The first acknowledged sequence the log no longer has (the log's end + 1).
    pub first: u64,
    /// The acknowledged high-water mark.
    pub last: u64,
}

impl AcknowledgedGap {
    /// The gap between a log that ends at `log_ends_at` and the mark, if any.
    pub fn between(log_ends_at: u64, mark: Option<Watermark>) -> Option<AcknowledgedGap> {
        let mark = mark?;
        (log_ends_at < mark.sequence).then_some(AcknowledgedGap { first: log_ends_at + 1, last: mark.sequence })
    }

    pub fn records(&self) -> u64 {
        self.last - self.first + 1
    }
}

impl std::fmt::Display for AcknowledgedGap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "acknowledged records {}..={} ({} records) are missing: the journal ends at sequence {} but acknowledged through {}",
            self.first,
            self.last,
            self.records(),
            self.first - 1,
            self.last
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_is_named_only_when_the_log_ends_below_the_mark() {
        let mark = Some(Watermark { sequence: 10, hash: [0; 32] });
        assert_eq!(AcknowledgedGap::between(10, mark), None);
        assert_eq!(AcknowledgedGap::between(12, mark), None);
        assert_eq!(AcknowledgedGap::between(3, None), None);
        let gap = AcknowledgedGap::between(7, mark).unwrap();
        assert_eq!((gap.first, gap.last, gap.records()), (8, 10, 3));
        assert!(gap.to_string().contains("8..=10"), "{gap}");
    }
}
