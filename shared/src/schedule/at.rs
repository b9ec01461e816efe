//! `at(yyyy-mm-ddThh:mm:ss)`: one time, on the schedule's wall clock.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use jiff::tz::TimeZone;

use super::error::ScheduleError;

const FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At(NaiveDateTime);

impl At {
    pub fn parse(inner: &str) -> Result<Self, ScheduleError> {
        let invalid = || ScheduleError::At(inner.to_owned());
        let at = NaiveDateTime::parse_from_str(inner, FORMAT).map_err(|_| invalid())?;
        // chrono is lenient (signs, wide years, leap seconds): insist on the
        // canonical text, 19 characters with a four-digit year.
        let leap_second = chrono::Timelike::nanosecond(&at) >= 1_000_000_000;
        if inner.len() != "yyyy-mm-ddThh:mm:ss".len() || at.format(FORMAT).to_string() != inner || leap_second {
            return Err(invalid());
        }
        Ok(Self(at))
    }

    /// The time, if after `now`.
    pub fn next_after(&self, now: DateTime<Utc>, zone: &TimeZone) -> Option<DateTime<Utc>> {
        let civil: jiff::civil::DateTime = self.0.format(FORMAT).to_string().parse().ok()?;
        let at = zone.to_ambiguous_zoned(civil).compatible().ok()?;
        super::to_chrono(at.timestamp()).filter(|at| *at > now)
    }
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at({})", self.0.format(FORMAT))
    }
}
