//! Per-tenant limits, so that no tenant takes the capacity the others share:
//! how many subscriptions, jobs, rules and event definitions it keeps, and how often a job may run. Each is
//! a template parameter; going over one is a 409 (or a 400 for a schedule) that
//! names it.

use chrono::{DateTime, Duration, Utc};
use jiff::tz::TimeZone;

use crate::config::{ConfigError, Environment};
use crate::error::{ApiError, FieldError};
use crate::schedule::ScheduleExpression;

pub const MAX_SUBSCRIPTIONS: &str = "MAX_SUBSCRIPTIONS_PER_TENANT";
pub const MAX_JOBS: &str = "MAX_JOBS_PER_TENANT";
pub const MAX_RULES: &str = "MAX_RULES_PER_TENANT";
pub const MAX_DEFINITIONS: &str = "MAX_EVENT_DEFINITIONS_PER_TENANT";
pub const MIN_SCHEDULE_MINUTES: &str = "MIN_SCHEDULE_MINUTES";

/// Fires of a cron expression looked at for its shortest interval: they are
/// consecutive, so the densest part of any pattern shows among them.
const FIRES_LOOKED_AT: usize = 64;

/// How many records of a kind a tenant may keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub max: u64,
    /// The template parameter that sets it, for the error.
    pub parameter: &'static str,
    pub kind: &'static str,
}

impl Quota {
    pub fn read(
        env: &Environment,
        variable: &'static str,
        parameter: &'static str,
        kind: &'static str,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            max: env.parsed_or(variable, 100)?,
            parameter,
            kind,
        })
    }

    /// Ok while a tenant holding `held` may add one more.
    pub fn check(&self, held: u64) -> Result<(), ApiError> {
        if held < self.max {
            Ok(())
        } else {
            Err(self.refusal(held))
        }
    }

    /// The 409 for a tenant holding `held`, naming the limit.
    pub fn refusal(&self, held: u64) -> ApiError {
        ApiError::Conflict(format!(
            "a tenant may have at most {} {}s ({}); this one has {held}",
            self.max, self.kind, self.parameter
        ))
    }
}

/// The shortest time between two runs of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleFloor {
    pub minutes: i64,
}

impl ScheduleFloor {
    /// `MIN_SCHEDULE_MINUTES`: 1 to 1,440, default 15.
    pub fn read(env: &Environment) -> Result<Self, ConfigError> {
        let minutes = env.parsed_or(MIN_SCHEDULE_MINUTES, 15)?;
        if !(1..=1440).contains(&minutes) {
            return Err(ConfigError::Invalid {
                name: MIN_SCHEDULE_MINUTES,
                reason: format!("{minutes} is not between 1 and 1440"),
            });
        }
        Ok(Self { minutes })
    }

    /// A 400 naming `field` when `expression` fires more often than the floor.
    pub fn check(
        &self,
        field: &str,
        expression: &ScheduleExpression,
        timezone: &TimeZone,
        now: DateTime<Utc>,
    ) -> Result<(), FieldError> {
        match shortest_interval(expression, timezone, now) {
            Some(interval) if interval < Duration::minutes(self.minutes) => Err(FieldError::new(
                field,
                format!(
                    "fires every {} minutes at times; a job may run at most every {} minutes (MinScheduleMinutes)",
                    interval.num_minutes(),
                    self.minutes
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// The shortest time between two consecutive fires; `None` for one that fires
/// at most once.
pub fn shortest_interval(expression: &ScheduleExpression, timezone: &TimeZone, now: DateTime<Utc>) -> Option<Duration> {
    let mut previous = expression.next_after(now, timezone)?;
    let mut shortest: Option<Duration> = None;
    for _ in 0..FIRES_LOOKED_AT {
        let Some(next) = expression.next_after(previous, timezone) else {
            break;
        };
        let gap = next - previous;
        shortest = Some(shortest.map_or(gap, |s| s.min(gap)));
        previous = next;
    }
    shortest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(raw: &str) -> Option<i64> {
        let expression = ScheduleExpression::parse(raw).expect("expression");
        shortest_interval(&expression, &TimeZone::UTC, Utc::now()).map(|d| d.num_minutes())
    }

    #[test]
    fn the_shortest_interval_of_each_form() {
        assert_eq!(interval("rate(1 minute)"), Some(1));
        assert_eq!(interval("rate(2 hours)"), Some(120));
        assert_eq!(interval("cron(0 9 * * ? *)"), Some(24 * 60));
        assert_eq!(interval("cron(0,5 9 * * ? *)"), Some(5));
        assert_eq!(interval("cron(55 23 * * ? *)"), Some(24 * 60));
        assert_eq!(interval("*/10 * * * *"), Some(10));
        assert_eq!(interval("at(2199-01-01T00:00:00)"), None);
    }

    #[test]
    fn a_schedule_more_often_than_the_floor_names_its_field() {
        let floor = ScheduleFloor { minutes: 15 };
        let every_minute = ScheduleExpression::parse("rate(1 minute)").expect("rate");
        let refused = floor
            .check("scheduleExpression", &every_minute, &TimeZone::UTC, Utc::now())
            .expect_err("too often");
        assert_eq!(refused.field, "scheduleExpression");
        let hourly = ScheduleExpression::parse("rate(1 hour)").expect("rate");
        assert!(
            floor
                .check("scheduleExpression", &hourly, &TimeZone::UTC, Utc::now())
                .is_ok()
        );
    }

    #[test]
    fn a_quota_names_its_parameter() {
        let quota = Quota {
            max: 2,
            parameter: "MaxJobsPerTenant",
            kind: "job",
        };
        assert!(quota.check(1).is_ok());
        let refused = quota.check(2).expect_err("full");
        assert_eq!(refused.status(), 409);
        assert!(refused.to_string().contains("MaxJobsPerTenant"));
    }
}
