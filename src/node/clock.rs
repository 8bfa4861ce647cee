//! The time as the core's loop read it when it woke: one reading per turn, passed down to
//! every part, so no part reads a clock and every timer is tested with made-up times.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// One reading of both clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// For waits, time-outs and schedules.
    pub at: Instant,
    /// Wall-clock milliseconds since the Unix epoch, for what is stored or shown.
    pub wall: u64,
}

impl Now {
    /// Reads both clocks (the loop does, once per turn; tests make their own).
    pub fn read() -> Now {
        Now {
            at: Instant::now(),
            wall: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    /// The same moment `d` later, on both clocks (tests make up times with it).
    #[cfg(test)]
    pub fn after(self, d: std::time::Duration) -> Now {
        Now {
            at: self.at + d,
            wall: self.wall + u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
        }
    }
}
