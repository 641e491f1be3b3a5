//! The per-tenant virtual clock. Every rule that depends on time (credential validity windows,
//! assertion lifetimes, token expiry, replication lag) reads this clock, never the system clock
//! directly, so tests move time instead of sleeping.

use serde::{Deserialize, Serialize};
use time::macros::datetime;
use time::{Duration, OffsetDateTime, UtcOffset};

/// The earliest time a tenant clock shows: the Unix epoch, where NumericDates (the times in
/// every token and assertion) start; earlier ones are negative, which many JWT libraries
/// refuse. (Tokens issued in the clock's first five minutes still carry a back-dated `iat` and
/// `nbf` a little below zero, as Entra back-dates them.)
pub const EARLIEST: OffsetDateTime = datetime!(1970-01-01 0:00 UTC);
/// The latest time a tenant clock shows. The mock derives later times from the clock (token
/// expiry, replication lag of up to `faults::MAX_LAG_SECONDS`, a century) and they must stay within the
/// calendar, which ends with the year 9999. A running clock that gets here stops here.
pub const LATEST: OffsetDateTime = datetime!(9000-01-01 0:00 UTC);

/// A clock was asked to show a time outside `EARLIEST..=LATEST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the tenant clock must stay between 1970-01-01T00:00:00Z and 9000-01-01T00:00:00Z (it shows {})",
    .now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
)]
pub struct ClockOutOfRange {
    /// What the clock shows; it is left unchanged.
    pub now: OffsetDateTime,
}

/// A clock that either follows the system clock with an offset or stands still at a set time.
/// It never shows a time outside `EARLIEST..=LATEST`.
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

    /// Stands still at `at` (brought into `EARLIEST..=LATEST`) until advanced or set.
    pub fn frozen(at: OffsetDateTime) -> Self {
        VirtualClock {
            offset: Duration::ZERO,
            frozen_at: Some(clamp(at)),
        }
    }

    /// The clock a fixture describes, or why it cannot be one.
    pub fn from_fixture(f: &ClockFixture) -> Result<Self, ClockOutOfRange> {
        match (f.now, f.frozen) {
            (Some(now), true) => {
                let mut c = Self::frozen(trim(OffsetDateTime::now_utc()));
                c.set(now)?;
                Ok(c)
            }
            (None, true) => Ok(Self::frozen(trim(OffsetDateTime::now_utc()))),
            (Some(now), false) => {
                let mut c = Self::system();
                c.set(now)?;
                Ok(c)
            }
            (None, false) => Ok(Self::system()),
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
            // `set` keeps the offset within the range; the clamp covers a system clock that is
            // itself far off, and nine centuries of running.
            None => trim(clamp(
                OffsetDateTime::now_utc()
                    .checked_add(self.offset)
                    .unwrap_or(LATEST),
            )),
        }
    }

    /// Moves the clock by `by`, or leaves it where it is if that would leave the range.
    pub fn advance(&mut self, by: Duration) -> Result<(), ClockOutOfRange> {
        let now = self.now();
        let to = now.checked_add(by).ok_or(ClockOutOfRange { now })?;
        self.set(to)
    }

    /// Sets the clock to `to` (in UTC), or leaves it where it is if `to` is out of range.
    pub fn set(&mut self, to: OffsetDateTime) -> Result<(), ClockOutOfRange> {
        let out = ClockOutOfRange { now: self.now() };
        // Compared before converting: an offset can put a calendar date of 9999 past the end of
        // the calendar in UTC, where the conversion would fail.
        if to < EARLIEST || to > LATEST {
            return Err(out);
        }
        let to = to.checked_to_offset(UtcOffset::UTC).ok_or(out)?;
        match &mut self.frozen_at {
            Some(t) => *t = to,
            None => self.offset = to - OffsetDateTime::now_utc(),
        }
        Ok(())
    }
}

fn clamp(t: OffsetDateTime) -> OffsetDateTime {
    t.clamp(EARLIEST, LATEST)
}

/// Directory timestamps carry whole seconds; sub-second noise would only make snapshots differ.
fn trim(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_moves_only_when_told() {
        let mut c = VirtualClock::frozen(datetime!(2026-01-01 0:00 UTC));
        assert_eq!(c.now(), datetime!(2026-01-01 0:00 UTC));
        c.advance(Duration::days(150)).expect("in range");
        assert_eq!(c.now(), datetime!(2026-05-31 0:00 UTC));
        c.set(datetime!(2030-01-01 0:00 UTC)).expect("in range");
        assert_eq!(c.now(), datetime!(2030-01-01 0:00 UTC));
    }

    #[test]
    fn running_clock_keeps_its_offset() {
        let mut c = VirtualClock::system();
        c.advance(Duration::days(10)).expect("in range");
        let ahead = c.now() - OffsetDateTime::now_utc();
        assert!(ahead > Duration::days(10) - Duration::seconds(5));
        assert!(ahead < Duration::days(10) + Duration::seconds(5));
    }

    /// Every move that would leave the range is refused and changes nothing, running or
    /// frozen; the ends themselves are reachable.
    #[test]
    fn the_clock_stays_in_its_range() {
        let start = datetime!(2026-01-01 0:00 UTC);
        for mut c in [VirtualClock::frozen(start), VirtualClock::system()] {
            let before = c.now();
            for by in [
                Duration::MAX,
                Duration::MIN,
                Duration::seconds(i64::MAX),
                Duration::seconds(i64::MIN),
                Duration::days(365 * 8000),
                Duration::days(-365 * 100),
            ] {
                assert!(c.advance(by).is_err(), "{by}");
                assert!((c.now() - before).abs() < Duration::seconds(5));
            }
            for to in [
                datetime!(9999-12-31 23:59:59 UTC),
                datetime!(8999-12-31 23:59:59 -23:59),
                datetime!(0000-01-01 0:00 UTC),
                datetime!(1969-12-31 23:59:59 UTC),
                datetime!(1970-01-01 0:00 +00:01),
            ] {
                assert!(c.set(to).is_err(), "{to}");
            }
            c.set(LATEST).expect("the latest time");
            assert!(c.now() <= LATEST);
            assert!(c.advance(Duration::seconds(1)).is_err());
            assert!(c.set(datetime!(8999-12-31 23:59:59 -00:01)).is_err());
            // The clock keeps UTC, whatever offset it was set with.
            c.set(datetime!(8999-12-31 23:00 -00:30))
                .expect("8999-12-31T23:30Z");
            assert_eq!(c.now().offset(), UtcOffset::UTC);
            c.set(EARLIEST).expect("the earliest time");
            assert!(c.advance(Duration::seconds(-1)).is_err());
        }
    }

    proptest::proptest! {
        /// Any number of seconds from any time in the range: the move lands exactly where it
        /// says inside the range, or is refused and changes nothing. Never a panic.
        #[test]
        fn any_advance_lands_in_range_or_changes_nothing(
            start in EARLIEST.unix_timestamp()..=LATEST.unix_timestamp(),
            by in proptest::prelude::any::<i64>(),
        ) {
            let start = OffsetDateTime::from_unix_timestamp(start).expect("in range");
            let mut c = VirtualClock::frozen(start);
            match c.advance(Duration::seconds(by)) {
                Ok(()) => {
                    proptest::prop_assert!((EARLIEST..=LATEST).contains(&c.now()));
                    proptest::prop_assert_eq!(c.now(), start + Duration::seconds(by));
                }
                Err(e) => {
                    proptest::prop_assert_eq!(c.now(), start);
                    proptest::prop_assert_eq!(e.now, start);
                    let target = i128::from(start.unix_timestamp()) + i128::from(by);
                    proptest::prop_assert!(
                        target < i128::from(EARLIEST.unix_timestamp())
                            || target > i128::from(LATEST.unix_timestamp())
                    );
                }
            }
        }
    }

    #[test]
    fn a_fixture_clock_out_of_range_is_refused() {
        for frozen in [true, false] {
            let f = ClockFixture {
                now: Some(datetime!(9999-12-31 23:59:59 UTC)),
                frozen,
            };
            assert!(VirtualClock::from_fixture(&f).is_err());
        }
        assert_eq!(
            VirtualClock::frozen(datetime!(9999-12-31 0:00 UTC)).now(),
            LATEST
        );
    }
}
