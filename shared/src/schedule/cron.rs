//! AWS cron: six fields, minutes to year, each checked by `field`, and exactly
//! one of day-of-month / day-of-week set to `?`. croner evaluates what the
//! fields compile to; the time zone's daylight-saving changes are applied here,
//! as Scheduler applies them.

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::Timestamp;
use jiff::tz::{AmbiguousOffset, TimeZone};

use super::error::{ScheduleError, ScheduleErrors};
use super::field::CronField;

/// Wall-clock times skipped in one search (in a gap, or already fired in a
/// repeated hour) before giving up: a day of minutes, four times over.
const MAX_SKIPPED: usize = 4 * 24 * 60;

/// A cron expression Scheduler accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsCron {
    /// As sent, in upper case and single spaces: what Scheduler is given.
    fields: String,
    /// What croner evaluates: a seconds field, then the six fields compiled.
    pattern: String,
}

impl AwsCron {
    /// Checks the six fields inside `cron(…)`; one error per field at fault.
    pub fn parse(inner: &str) -> Result<Self, ScheduleErrors> {
        let fields: Vec<String> = inner.split_whitespace().map(str::to_ascii_uppercase).collect();
        if fields.len() != CronField::ALL.len() {
            return Err(ScheduleError::FieldCount(fields.len()).into());
        }
        let mut errors = Vec::new();
        let mut pattern = vec!["0".to_owned()];
        for (field, text) in CronField::ALL.into_iter().zip(&fields) {
            match field.compile(text) {
                Ok(compiled) => pattern.push(compiled),
                Err(problem) => errors.push(ScheduleError::Field { field, problem }),
            }
        }
        if (fields[2] == "?") == (fields[4] == "?") {
            errors.push(ScheduleError::DayFields);
        }
        if !errors.is_empty() {
            return Err(ScheduleErrors(errors));
        }
        let cron = Self {
            fields: fields.join(" "),
            pattern: pattern.join(" "),
        };
        cron.compile().map_err(|e| ScheduleError::Unevaluable(e.to_string()))?;
        Ok(cron)
    }

    /// The six fields, for `cron(…)`.
    pub fn fields(&self) -> &str {
        &self.fields
    }

    fn compile(&self) -> Result<Cron, croner::errors::CronError> {
        CronParser::builder()
            .seconds(Seconds::Required)
            .year(Year::Required)
            .alternative_weekdays(true)
            .build()
            .parse(&self.pattern)
    }

    /// The first fire strictly after `now`, matching the fields on `zone`'s wall
    /// clock. As Scheduler does across daylight-saving changes, a time the
    /// clock skips does not fire, and a time the clock repeats fires once, the
    /// first time.
    pub fn next_after(&self, now: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
        let cron = self.compile().ok()?;
        // croner walks wall-clock times; in UTC each is exactly one instant, so
        // croner meets no gap or repeat of its own, and `zone`'s are met below.
        let mut wall = now.to_zoned(zone.clone()).datetime().to_zoned(TimeZone::UTC).ok()?;
        for _ in 0..MAX_SKIPPED {
            wall = cron.find_next_occurrence(&wall, false).ok()?;
            let first = match zone.to_ambiguous_timestamp(wall.datetime()).offset() {
                AmbiguousOffset::Gap { .. } => continue,
                AmbiguousOffset::Unambiguous { offset } | AmbiguousOffset::Fold { before: offset, .. } => offset,
            };
            let at = first.to_timestamp(wall.datetime()).ok()?;
            if at > now {
                return Some(at);
            }
        }
        None
    }
}
