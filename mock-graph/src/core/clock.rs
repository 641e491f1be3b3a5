//! The per-tenant virtual clock. Every rule that depends on time (credential validity windows,
//! assertion lifetimes, token expiry, replication lag) reads this clock, never the system clock
//! directly, so tests move time instead of sleeping.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// A clock that either follows the system clock with an offset or stands still at a set time.
#[derive(Clone, Debug)]
pub struct VirtualClock {
    offset: Duration,
    frozen_at: Option<OffsetDateTime>,
}

/// How a fixture describes a tenant's clock.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClockFixture {
    /// The tenant's current time when the fixture is loaded; absent means the system time.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub now: Option<OffsetDateTime>,
    /// A frozen clock only moves when told to; a running one also follows the system clock.
    #[serde(default)]
    pub frozen: bool,
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::system()
    }
}

impl VirtualClock {
    /// Follows the system clock.
    pub fn system() -> Self {
        VirtualClock {
            offset: Duration::ZERO,
            frozen_at: None,
        }
    }

    /// Stands still at `at` until advanced or set.
    pub fn frozen(at: OffsetDateTime) -> Self {
        VirtualClock {
            offset: Duration::ZERO,
            frozen_at: Some(at),
        }
    }

    pub fn from_fixture(f: &ClockFixture) -> Self {
        match (f.now, f.frozen) {
            (Some(now), true) => Self::frozen(now),
            (None, true) => Self::frozen(trim(OffsetDateTime::now_utc())),
            (Some(now), false) => {
                let mut c = Self::system();
                c.set(now);
                c
            }
            (None, false) => Self::system(),
        }
    }

    pub fn to_fixture(&self) -> ClockFixture {
        ClockFixture {
            now: Some(self.now()),
            frozen: self.frozen_at.is_some(),
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        match self.frozen_at {
            Some(t) => t,
            None => trim(OffsetDateTime::now_utc() + self.offset),
        }
    }

    pub fn advance(&mut self, by: Duration) {
        match &mut self.frozen_at {
            Some(t) => *t += by,
            None => self.offset += by,
        }
    }

    pub fn set(&mut self, to: OffsetDateTime) {
        match &mut self.frozen_at {
            Some(t) => *t = to,
            None => self.offset = to - OffsetDateTime::now_utc(),
        }
    }
}

/// Directory timestamps carry whole seconds; sub-second noise would only make snapshots differ.
fn trim(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn frozen_clock_moves_only_when_told() {
        let mut c = VirtualClock::frozen(datetime!(2026-01-01 0:00 UTC));
        assert_eq!(c.now(), datetime!(2026-01-01 0:00 UTC));
        c.advance(Duration::days(150));
        assert_eq!(c.now(), datetime!(2026-05-31 0:00 UTC));
        c.set(datetime!(2030-01-01 0:00 UTC));
        assert_eq!(c.now(), datetime!(2030-01-01 0:00 UTC));
    }

    #[test]
    fn running_clock_keeps_its_offset() {
        let mut c = VirtualClock::system();
        c.advance(Duration::days(10));
        let ahead = c.now() - OffsetDateTime::now_utc();
        assert!(ahead > Duration::days(10) - Duration::seconds(5));
        assert!(ahead < Duration::days(10) + Duration::seconds(5));
    }
}
