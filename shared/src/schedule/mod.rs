//! EventBridge Scheduler expressions — `cron(…)`, `rate(…)`, `at(…)` — checked
//! in our own code against Scheduler's documented grammar (the emulator
//! accepts anything), normalised, and able to say when they next fire.
//!
//! Grammar errors (`ScheduleError`) say what AWS allows; the project's own
//! policy (a schedule must fire again; `MinScheduleMinutes`) is applied by
//! the jobs API on expressions that passed.

mod at;
mod cron;
#[cfg(test)]
mod documented;
mod error;
mod field;
#[cfg(test)]
mod findings;
mod rate;
mod timezone;
mod unix;

use std::fmt;

use chrono::{DateTime, Utc};
use jiff::tz::TimeZone;

pub use at::At;
pub use cron::AwsCron;
pub use error::{FieldProblem, MAX_EXPRESSION_CHARS, RateProblem, ScheduleError, ScheduleErrors, UnixProblem};
pub use field::CronField;
pub use rate::Rate;
pub use timezone::{TimezoneError, parse_timezone};

/// Scheduler's last year; a time after it is "never".
const LAST_YEAR: i32 = 2199;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleExpression {
    /// The six AWS fields: minutes hours day-of-month month day-of-week year.
    Cron(AwsCron),
    Rate(Rate),
    /// Local time in the schedule's timezone.
    At(At),
}

impl ScheduleExpression {
    /// Scheduler's three forms, judged as Scheduler judges them; also a bare
    /// cron: six AWS fields, or five Unix fields (converted: day-of-week
    /// numbers, `?` placement, year `*`). What is returned is always in
    /// Scheduler's syntax, at most 256 characters.
    pub fn parse(raw: &str) -> Result<Self, ScheduleErrors> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(ScheduleError::Empty.into());
        }
        let too_long = |chars: usize| (chars > MAX_EXPRESSION_CHARS).then_some(ScheduleError::TooLong(chars));
        match Self::parse_form(raw) {
            // Scheduler is given the normalised text, which a Unix cron's conversion lengthens.
            Ok(expression) => match too_long(raw.chars().count().max(expression.to_string().len())) {
                Some(error) => Err(error.into()),
                None => Ok(expression),
            },
            Err(ScheduleErrors(mut errors)) => {
                errors.extend(too_long(raw.chars().count()));
                Err(ScheduleErrors(errors))
            }
        }
    }

    fn parse_form(raw: &str) -> Result<Self, ScheduleErrors> {
        if let Some(inner) = wrapped(raw, "cron") {
            return AwsCron::parse(inner).map(Self::Cron);
        }
        if let Some(inner) = wrapped(raw, "rate") {
            return Ok(Self::Rate(Rate::parse(inner)?));
        }
        if let Some(inner) = wrapped(raw, "at") {
            return Ok(Self::At(At::parse(inner)?));
        }
        match raw.split_whitespace().count() {
            6 => AwsCron::parse(raw).map(Self::Cron),
            5 => AwsCron::parse(&unix::to_aws_fields(raw)?).map(Self::Cron),
            _ => Err(ScheduleError::Form.into()),
        }
    }

    /// The first time it fires after `now`, in `timezone`; `None` if never again.
    pub fn next_after(&self, now: DateTime<Utc>, timezone: &TimeZone) -> Option<DateTime<Utc>> {
        let next = match self {
            Self::Cron(cron) => {
                let now = jiff::Timestamp::from_millisecond(now.timestamp_millis()).ok()?;
                to_chrono(cron.next_after(now, timezone)?)
            }
            Self::Rate(rate) => rate.next_after(now),
            Self::At(at) => at.next_after(now, timezone),
        };
        next.filter(|at| chrono::Datelike::year(at) <= LAST_YEAR)
    }
}

/// Normalised Scheduler syntax, e.g. `cron(0 9 ? * MON-FRI *)`, `rate(1 hour)`.
impl fmt::Display for ScheduleExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cron(cron) => write!(f, "cron({})", cron.fields()),
            Self::Rate(rate) => rate.fmt(f),
            Self::At(at) => at.fmt(f),
        }
    }
}

pub(crate) fn to_chrono(at: jiff::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(at.as_millisecond())
}

fn wrapped<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.strip_prefix(name)?.strip_prefix('(')?.strip_suffix(')')
}

/// When a stored schedule (`expression`, IANA `timezone`, UTC when `None`) fires
/// next after `after`; `None` if never again or if either does not parse.
pub fn next_fire(expression: &str, timezone: Option<&str>, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let expression = ScheduleExpression::parse(expression).ok()?;
    let (zone, _) = parse_timezone(timezone.unwrap_or("UTC")).ok()?;
    expression.next_after(after, &zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("time").with_timezone(&Utc)
    }

    #[test]
    fn normalises_every_accepted_form() {
        let cases = [
            ("cron(0 9 ? * MON-FRI *)", "cron(0 9 ? * MON-FRI *)"),
            ("0 9 ? * MON-FRI *", "cron(0 9 ? * MON-FRI *)"),
            ("0 9 * * 1-5", "cron(0 9 ? * MON-FRI *)"),
            ("0 9 * * 0-7", "cron(0 9 ? * SUN,MON,TUE,WED,THU,FRI,SAT *)"),
            ("0 9 * * 5-7", "cron(0 9 ? * FRI,SAT,SUN *)"),
            ("0 9 * * 1-5/2", "cron(0 9 ? * MON,WED,FRI *)"),
            ("0 9 * * 5L", "cron(0 9 ? * 6L *)"),
            ("0 9 * * 1#2", "cron(0 9 ? * 2#2 *)"),
            ("0 9 * * mon-fri", "cron(0 9 ? * MON-FRI *)"),
            ("cron(0 12 1 1 ? 2026/2)", "cron(0 12 1 1 ? 2026/2)"),
            ("cron(0 12 1 jan ? *)", "cron(0 12 1 JAN ? *)"),
            ("cron(0 9 ? * L *)", "cron(0 9 ? * L *)"),
            ("30 6 1 * *", "cron(30 6 1 * ? *)"),
            ("*/15 * * * *", "cron(*/15 * * * ? *)"),
            ("0 0 * * 0,6", "cron(0 0 ? * SUN,SAT *)"),
            ("cron(0/15 8-17 ? * 2#1 2030)", "cron(0/15 8-17 ? * 2#1 2030)"),
            ("cron(0 12 L * ? *)", "cron(0 12 L * ? *)"),
            ("cron(0 12 15W * ? *)", "cron(0 12 15W * ? *)"),
            ("rate(1 minute)", "rate(1 minute)"),
            ("rate( 12   hours )", "rate(12 hours)"),
            ("rate(05 minutes)", "rate(5 minutes)"),
            ("rate(2 days)", "rate(2 days)"),
            ("at(2030-01-31T09:00:00)", "at(2030-01-31T09:00:00)"),
        ];
        for (raw, normalised) in cases {
            let parsed = ScheduleExpression::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(parsed.to_string(), normalised, "{raw}");
        }
    }

    #[test]
    fn rejects_what_scheduler_would_refuse() {
        for raw in [
            "",
            "cron(0 9 * * MON-FRI *)", // both day fields restricted
            "cron(0 9 ? * ? *)",       // both day fields '?'
            "cron(0 9 1 * 1 *)",       // both day fields restricted
            "cron(0 9 ? * MON-FRI)",   // five fields inside cron()
            "cron(61 9 ? * MON *)",    // minute out of range
            "cron(0 25 ? * MON *)",    // hour out of range
            "cron(0 9 ? 13 MON *)",    // month out of range
            "cron(0 9 ? * 8 *)",       // weekday out of range
            "cron(0 9 ? * MON 1969)",  // before Scheduler's years
            "cron(@daily)",
            "cron(0 9 ? MON * *)",       // weekday name in the month field
            "cron(SUN 9 ? * 2 *)",       // weekday name in the minutes field
            "cron(0 9 ? * JAN *)",       // month name in the day-of-week field
            "cron(0 9 ? * \u{17f}UN *)", // a non-ASCII look-alike of SUN
            "0 9 * * 5-1",               // reversed Unix range
            "0 9 1 * 1",                 // Unix cron with both day fields
            "0 9 * * 8",                 // no Unix weekday 8
            "0 9 * * 1-9",
            "rate(0 minutes)",
            "rate(4294967296 hours)",
            "rate(1 minutes)", // 1 takes the singular
            "rate(12 hour)",   // above 1, the plural
            "rate(+5 minutes)",
            "rate(5 Minutes)",
            "cron(0 9 ? * 2/2 *)", // no steps in day-of-week
            "cron(0 9 LW * ? *)",  // not a form AWS documents
            "at(+12345-01-01T00:00:00)",
            "at(2030-01-01T00:00:60)",
            "at( 2030-01-01T00:00:00)",
            "rate(5 weeks)",
            "rate(five minutes)",
            "at(2030-02-30T09:00:00)",
            "at(tomorrow)",
            "every day at nine",
        ] {
            assert!(ScheduleExpression::parse(raw).is_err(), "{raw:?} accepted");
        }
    }

    #[test]
    fn computes_next_fire_times_in_the_schedule_timezone() {
        let now = at("2026-11-26T06:30:00Z"); // a Thursday
        let utc = TimeZone::UTC;
        let (berlin, _) = parse_timezone("Europe/Berlin").expect("tz");
        let next = |raw: &str, tz: &TimeZone| ScheduleExpression::parse(raw).expect(raw).next_after(now, tz);
        assert_eq!(next("cron(0 9 ? * MON-FRI *)", &utc), Some(at("2026-11-26T09:00:00Z")));
        assert_eq!(
            next("cron(0 9 ? * MON-FRI *)", &berlin),
            Some(at("2026-11-26T08:00:00Z"))
        );
        assert_eq!(
            next("0 9 * * 6", &utc),
            Some(at("2026-11-28T09:00:00Z")),
            "Unix 6 = Saturday"
        );
        assert_eq!(
            next("cron(0 9 ? * 7 *)", &utc),
            Some(at("2026-11-28T09:00:00Z")),
            "AWS 7 = Saturday"
        );
        assert_eq!(next("cron(0 12 L * ? *)", &utc), Some(at("2026-11-30T12:00:00Z")));
        assert_eq!(
            next("cron(0 10 ? * 2#1 *)", &utc),
            Some(at("2026-12-07T10:00:00Z")),
            "first Monday"
        );
        assert_eq!(next("rate(2 hours)", &utc), Some(at("2026-11-26T08:30:00Z")));
        assert_eq!(
            next("at(2026-12-01T10:00:00)", &berlin),
            Some(at("2026-12-01T09:00:00Z"))
        );
        assert_eq!(next("at(2026-01-01T10:00:00)", &utc), None, "in the past");
        assert_eq!(next("cron(0 9 ? * MON 2025)", &utc), None, "only in a past year");
        assert!(
            next("rate(1000000 days)", &utc).is_none(),
            "after Scheduler's last year"
        );
        assert!(next("rate(4294967295 hours)", &utc).is_none(), "valid, but never");
    }

    #[test]
    fn timezones_are_iana_names() {
        assert_eq!(
            parse_timezone("America/New_York").map(|(_, name)| name),
            Ok("America/New_York".to_owned())
        );
        assert!(parse_timezone("Mars/Olympus").is_err());
        assert!(
            parse_timezone("EST5EDT,M3.2.0,M11.1.0").is_err(),
            "POSIX TZ strings are not names"
        );
        assert!(parse_timezone("").is_err());
        assert!(
            parse_timezone(&format!("America/{}", "X".repeat(43))).is_err(),
            "51 characters"
        );
    }
}
