//! The wall clock. Live runs hand it to cores; backtests hand them a `SimClock`.

use std::time::{SystemTime, UNIX_EPOCH};
use tradpal_messages::{Clock, Timestamp};

#[derive(Debug, Clone, Copy, Default)]
pub struct WallClock;

impl Clock for WallClock {
    // The wall clock itself: the one place live time enters.
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Timestamp {
        let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }
}
