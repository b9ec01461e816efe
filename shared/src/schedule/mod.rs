//! EventBridge Scheduler expressions — `cron(…)`, `rate(…)`, `at(…)` — validated
//! in our own code (the emulator accepts anything), normalised, and able to say
//! when they next fire.

mod cron;

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use jiff::tz::TimeZone;

/// `at(…)`'s timestamp format.
const AT_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";
/// Largest `rate()` value accepted: ten years in days, far more in minutes.
const MAX_RATE: u32 = 1_000_000;
/// Scheduler's last year; a time after it is "never".
const LAST_YEAR: i32 = 2199;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    Minutes,
    Hours,
    Days,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleExpression {
    /// The six AWS fields: minutes hours day-of-month month day-of-week year.
    Cron(String),
    Rate {
        value: u32,
        unit: RateUnit,
    },
    /// Local time in the schedule's timezone.
    At(NaiveDateTime),
}

impl ScheduleExpression {
    /// Accepts the three Scheduler forms and bare cron: six AWS fields, or five
    /// Unix fields (converted: day-of-week numbers, `?` placement, year `*`).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if let Some(inner) = wrapped(raw, "cron") {
            return cron::aws_fields(inner).map(Self::Cron);
        }
        if let Some(inner) = wrapped(raw, "rate") {
            return parse_rate(inner);
        }
        if let Some(inner) = wrapped(raw, "at") {
            return parse_at(inner);
        }
        match raw.split_whitespace().count() {
            6 => cron::aws_fields(raw).map(Self::Cron),
            5 => cron::from_unix(raw).map(Self::Cron),
            _ => Err(
                "expected cron(m h dom mon dow yr), rate(n unit), at(yyyy-mm-ddThh:mm:ss), or a 5- or 6-field cron"
                    .to_owned(),
            ),
        }
    }

    /// The first time it fires after `now`, in `timezone`; `None` if never again.
    pub fn next_after(&self, now: DateTime<Utc>, timezone: &TimeZone) -> Option<DateTime<Utc>> {
        let next = match self {
            Self::Cron(fields) => {
                let now = jiff::Timestamp::from_millisecond(now.timestamp_millis()).ok()?;
                cron::next_after(fields, &now.to_zoned(timezone.clone()))
            }
            Self::Rate { value, unit } => {
                let minutes = i64::from(*value)
                    * match unit {
                        RateUnit::Minutes => 1,
                        RateUnit::Hours => 60,
                        RateUnit::Days => 24 * 60,
                    };
                now.checked_add_signed(chrono::Duration::minutes(minutes))
            }
            Self::At(local) => {
                let civil: jiff::civil::DateTime = local.format(AT_FORMAT).to_string().parse().ok()?;
                let at = timezone.to_ambiguous_zoned(civil).compatible().ok()?;
                to_chrono(at.timestamp()).filter(|at| *at > now)
            }
        };
        next.filter(|at| chrono::Datelike::year(at) <= LAST_YEAR)
    }
}

/// Normalised Scheduler syntax, e.g. `cron(0 9 ? * MON-FRI *)`, `rate(1 hour)`.
impl fmt::Display for ScheduleExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cron(fields) => write!(f, "cron({fields})"),
            Self::Rate { value, unit } => {
                let name = match unit {
                    RateUnit::Minutes => "minute",
                    RateUnit::Hours => "hour",
                    RateUnit::Days => "day",
                };
                write!(f, "rate({value} {name}{})", if *value == 1 { "" } else { "s" })
            }
            Self::At(at) => write!(f, "at({})", at.format(AT_FORMAT)),
        }
    }
}

pub(crate) fn to_chrono(at: jiff::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(at.as_millisecond())
}

fn wrapped<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.strip_prefix(name)?.strip_prefix('(')?.strip_suffix(')')
}

/// `rate(5 minutes)`; the unit's number is forgiven (`1 minutes`, `5 minute`).
fn parse_rate(inner: &str) -> Result<ScheduleExpression, String> {
    let invalid =
        || "rate(…) needs a positive whole number and minute(s), hour(s) or day(s), e.g. rate(5 minutes)".to_owned();
    let mut parts = inner.split_whitespace();
    let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid());
    };
    let value: u32 = value
        .parse()
        .ok()
        .filter(|v| (1..=MAX_RATE).contains(v))
        .ok_or_else(invalid)?;
    let unit = match unit {
        "minute" | "minutes" => RateUnit::Minutes,
        "hour" | "hours" => RateUnit::Hours,
        "day" | "days" => RateUnit::Days,
        _ => return Err(invalid()),
    };
    Ok(ScheduleExpression::Rate { value, unit })
}

/// `at(yyyy-mm-ddThh:mm:ss)`, exactly, in Scheduler's years.
fn parse_at(inner: &str) -> Result<ScheduleExpression, String> {
    let invalid = || format!("at(…) needs a time as yyyy-mm-ddThh:mm:ss between 1970 and {LAST_YEAR}");
    let at = NaiveDateTime::parse_from_str(inner, AT_FORMAT).map_err(|_| invalid())?;
    // chrono is lenient (signs, wide years, leap seconds): insist on the canonical text.
    let year = chrono::Datelike::year(&at);
    let leap_second = chrono::Timelike::nanosecond(&at) >= 1_000_000_000;
    if at.format(AT_FORMAT).to_string() != inner || !(1970..=LAST_YEAR).contains(&year) || leap_second {
        return Err(invalid());
    }
    Ok(ScheduleExpression::At(at))
}

/// An IANA timezone such as `Europe/Berlin`, and its canonical name.
/// When a stored schedule (`expression`, IANA `timezone`, UTC when `None`) fires
/// next after `after`; `None` if never again or if either does not parse.
pub fn next_fire(expression: &str, timezone: Option<&str>, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let expression = ScheduleExpression::parse(expression).ok()?;
    let (zone, _) = parse_timezone(timezone.unwrap_or("UTC")).ok()?;
    expression.next_after(after, &zone)
}

pub fn parse_timezone(name: &str) -> Result<(TimeZone, String), String> {
    let zone =
        TimeZone::get(name).map_err(|_| format!("{name:?} is not an IANA timezone name (e.g. Europe/Berlin)"))?;
    let canonical = zone.iana_name().unwrap_or(name).to_owned();
    Ok((zone, canonical))
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
            ("rate(1 minutes)", "rate(1 minute)"),
            ("rate(12 hour)", "rate(12 hours)"),
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
            "rate(0 minutes)",
            "rate(4294967295 hours)",
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
    }
}
