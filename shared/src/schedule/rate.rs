//! `rate(value unit)`: a positive whole number and minute(s), hour(s) or
//! day(s), singular for 1 and plural above, as the EventBridge user guide's
//! rate expressions have it.

use std::fmt;

use chrono::{DateTime, Duration, Utc};

use super::error::{RateProblem, ScheduleError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RateUnit {
    Minutes,
    Hours,
    Days,
}

impl RateUnit {
    const ALL: [Self; 3] = [Self::Minutes, Self::Hours, Self::Days];

    fn singular(self) -> &'static str {
        match self {
            Self::Minutes => "minute",
            Self::Hours => "hour",
            Self::Days => "day",
        }
    }

    fn minutes(self) -> i64 {
        match self {
            Self::Minutes => 1,
            Self::Hours => 60,
            // A day is 24 hours, also across a daylight-saving change (Scheduler's rule).
            Self::Days => 24 * 60,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    value: u32,
    unit: RateUnit,
}

impl Rate {
    pub fn parse(inner: &str) -> Result<Self, ScheduleError> {
        let problem = |p| ScheduleError::Rate(p);
        let mut parts = inner.split_whitespace();
        let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(problem(RateProblem::Shape));
        };
        let value = value
            .parse::<u32>()
            .ok()
            .filter(|v| *v >= 1 && value.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| problem(RateProblem::Value(value.to_owned())))?;
        let (unit, plural) = RateUnit::ALL
            .into_iter()
            .find_map(|u| match unit.strip_prefix(u.singular()) {
                Some("") => Some((u, false)),
                Some("s") => Some((u, true)),
                _ => None,
            })
            .ok_or_else(|| problem(RateProblem::Unit(unit.to_owned())))?;
        let rate = Self { value, unit };
        if plural != (value > 1) {
            return Err(problem(RateProblem::Number {
                value,
                expected: rate.to_string(),
            }));
        }
        Ok(rate)
    }

    /// One rate after `now`; `None` past what a time can hold.
    pub fn next_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let minutes = i64::from(self.value) * self.unit.minutes();
        now.checked_add_signed(Duration::try_minutes(minutes)?)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.value == 1 { "" } else { "s" };
        write!(f, "rate({} {}{plural})", self.value, self.unit.singular())
    }
}
