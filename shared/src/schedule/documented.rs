//! Expressions AWS documents, and those this repository shows, with the page
//! each comes from: the accepted ones with their next fires in their time zone
//! across a daylight-saving change, worked out by hand; the refused ones with
//! the words their error must contain.
//!
//! Daylight saving, from Scheduler's "Schedule types" page: a wall-clock time
//! the clock skips does not fire; one it repeats fires once; a rate's day is
//! 24 hours. Changes used: Europe/Berlin 2026-03-29 02:00→03:00 and
//! 2026-10-25 03:00→02:00; America/New_York 2026-03-08 02:00→03:00 and
//! 2026-11-01 02:00→01:00; Australia/Sydney 2026-04-05 03:00→02:00.

use chrono::{DateTime, Utc};

use super::{ScheduleExpression, parse_timezone};

/// The EventBridge user guide's cron and rate page:
/// <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html>
const EB_CRON: &str = "EventBridge user guide, cron expressions";
const EB_RATE: &str = "EventBridge user guide, rate expressions";
/// <https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html>
const SCHEDULE_TYPES: &str = "Scheduler user guide, Schedule types";
/// <https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html>
const CREATE_SCHEDULE: &str = "Scheduler API reference, CreateSchedule";

struct Accepted {
    page: &'static str,
    expression: &'static str,
    /// What is stored and given to Scheduler.
    stored: &'static str,
    zone: &'static str,
    after: &'static str,
    /// The next fires after `after`, in order; an `at()` or a cron whose years are over has no more.
    fires: &'static [&'static str],
}

const fn row(
    page: &'static str,
    expression: &'static str,
    zone: &'static str,
    after: &'static str,
    fires: &'static [&'static str],
) -> Accepted {
    Accepted {
        page,
        expression,
        stored: expression,
        zone,
        after,
        fires,
    }
}

const ACCEPTED: &[Accepted] = &[
    // The user guide's table of examples.
    row(
        EB_CRON,
        "cron(0 10 * * ? *)",
        "Europe/Berlin",
        "2026-03-27T12:00:00+01:00",
        &[
            "2026-03-28T10:00:00+01:00",
            "2026-03-29T10:00:00+02:00",
            "2026-03-30T10:00:00+02:00",
        ],
    ),
    row(
        EB_CRON,
        "cron(15 12 * * ? *)",
        "America/New_York",
        "2026-10-31T13:00:00-04:00",
        &["2026-11-01T12:15:00-05:00", "2026-11-02T12:15:00-05:00"],
    ),
    row(
        EB_CRON,
        "cron(0 18 ? * MON-FRI *)",
        "Europe/Berlin",
        "2026-03-27T19:00:00+01:00", // a Friday
        &["2026-03-30T18:00:00+02:00", "2026-03-31T18:00:00+02:00"],
    ),
    row(
        EB_CRON,
        "cron(0 8 1 * ? *)",
        "Europe/Berlin",
        "2026-03-01T09:00:00+01:00",
        &["2026-04-01T08:00:00+02:00", "2026-05-01T08:00:00+02:00"],
    ),
    // 02:00 to 02:45 never happen that night.
    row(
        EB_CRON,
        "cron(0/15 * * * ? *)",
        "Europe/Berlin",
        "2026-03-29T01:40:00+01:00",
        &[
            "2026-03-29T01:45:00+01:00",
            "2026-03-29T03:00:00+02:00",
            "2026-03-29T03:15:00+02:00",
        ],
    ),
    // 02:00 to 02:45 happen twice that night; they fired the first time.
    row(
        SCHEDULE_TYPES,
        "cron(0/15 * * * ? *)",
        "Europe/Berlin",
        "2026-10-25T02:40:00+02:00",
        &[
            "2026-10-25T02:45:00+02:00",
            "2026-10-25T03:00:00+01:00",
            "2026-10-25T03:15:00+01:00",
        ],
    ),
    // From the second pass over the repeated hour: its times have fired.
    row(
        SCHEDULE_TYPES,
        "cron(0/15 * * * ? *)",
        "Europe/Berlin",
        "2026-10-25T02:05:00+01:00",
        &["2026-10-25T03:00:00+01:00"],
    ),
    row(
        EB_CRON,
        "cron(0/10 * ? * MON-FRI *)",
        "America/New_York",
        "2026-03-06T23:45:00-05:00", // a Friday
        &[
            "2026-03-06T23:50:00-05:00",
            "2026-03-09T00:00:00-04:00",
            "2026-03-09T00:10:00-04:00",
        ],
    ),
    row(
        EB_CRON,
        "cron(0/5 8-17 ? * MON-FRI *)",
        "Europe/Berlin",
        "2026-03-27T17:50:00+01:00",
        &[
            "2026-03-27T17:55:00+01:00",
            "2026-03-30T08:00:00+02:00",
            "2026-03-30T08:05:00+02:00",
        ],
    ),
    // The fields match on their own: the early hours fire on Monday to Friday
    // themselves, not on the Saturday after a Friday evening.
    row(
        EB_CRON,
        "cron(0/30 20-2 ? * MON-FRI *)",
        "Europe/Berlin",
        "2026-10-23T23:10:00+02:00", // a Friday
        &[
            "2026-10-23T23:30:00+02:00",
            "2026-10-26T00:00:00+01:00",
            "2026-10-26T00:30:00+01:00",
            "2026-10-26T01:00:00+01:00",
            "2026-10-26T01:30:00+01:00",
            "2026-10-26T02:00:00+01:00",
            "2026-10-26T02:30:00+01:00",
            "2026-10-26T20:00:00+01:00",
        ],
    ),
    // The user guide's CLI examples.
    row(
        EB_CRON,
        "cron(0 12 * * ? *)",
        "Australia/Sydney",
        "2026-04-04T13:00:00+11:00",
        &["2026-04-05T12:00:00+10:00", "2026-04-06T12:00:00+10:00"],
    ),
    row(
        EB_CRON,
        "cron(5,35 14 * * ? *)",
        "America/New_York",
        "2026-03-07T14:40:00-05:00",
        &[
            "2026-03-08T14:05:00-04:00",
            "2026-03-08T14:35:00-04:00",
            "2026-03-09T14:05:00-04:00",
        ],
    ),
    // Valid, but its years are past: the API refuses it as never firing.
    row(
        EB_CRON,
        "cron(15 10 ? * 6L 2019-2022)",
        "UTC",
        "2026-01-01T00:00:00Z",
        &[],
    ),
    // The user guide's wildcards, each in a field that takes it.
    row(
        EB_CRON,
        "cron(0 9 1 JAN,FEB,MAR ? *)",
        "Europe/Berlin",
        "2026-03-01T10:00:00+01:00",
        &[
            "2027-01-01T09:00:00+01:00",
            "2027-02-01T09:00:00+01:00",
            "2027-03-01T09:00:00+01:00",
        ],
    ),
    row(
        EB_CRON,
        "cron(0 9 1-15 * ? *)",
        "Europe/Berlin",
        "2026-03-15T10:00:00+01:00",
        &["2026-04-01T09:00:00+02:00", "2026-04-02T09:00:00+02:00"],
    ),
    row(
        EB_CRON,
        "cron(1/10 * * * ? *)",
        "Europe/Berlin",
        "2026-03-29T01:45:00+01:00",
        &[
            "2026-03-29T01:51:00+01:00",
            "2026-03-29T03:01:00+02:00",
            "2026-03-29T03:11:00+02:00",
        ],
    ),
    // The weekday nearest the 3rd: Friday 3 April, Monday 4 May (the 3rd is a Sunday).
    row(
        EB_CRON,
        "cron(0 9 3W * ? *)",
        "Europe/Berlin",
        "2026-03-04T00:00:00+01:00",
        &[
            "2026-04-03T09:00:00+02:00",
            "2026-05-04T09:00:00+02:00",
            "2026-06-03T09:00:00+02:00",
        ],
    ),
    // The second Tuesday.
    row(
        EB_CRON,
        "cron(0 9 ? * 3#2 *)",
        "Europe/Berlin",
        "2026-03-01T00:00:00+01:00",
        &["2026-03-10T09:00:00+01:00", "2026-04-14T09:00:00+02:00"],
    ),
    row(
        EB_CRON,
        "cron(0 9 L * ? *)",
        "Europe/Berlin",
        "2026-03-01T00:00:00+01:00",
        &["2026-03-31T09:00:00+02:00", "2026-04-30T09:00:00+02:00"],
    ),
    // L alone in day-of-week: the week's last day, Saturday.
    row(
        EB_CRON,
        "cron(0 9 ? * L *)",
        "Europe/Berlin",
        "2026-03-27T12:00:00+01:00",
        &["2026-03-28T09:00:00+01:00", "2026-04-04T09:00:00+02:00"],
    ),
    // The last Friday.
    row(
        EB_CRON,
        "cron(15 10 ? * 6L *)",
        "Europe/Berlin",
        "2026-03-01T00:00:00+01:00",
        &["2026-03-27T10:15:00+01:00", "2026-04-24T10:15:00+02:00"],
    ),
    // Ranges wrap past a field's end as hours 20-2 does, in days, months and with steps.
    row(
        EB_CRON,
        "cron(0 9 ? * FRI-MON *)",
        "Europe/Berlin",
        "2026-03-26T12:00:00+01:00", // a Thursday
        &[
            "2026-03-27T09:00:00+01:00",
            "2026-03-28T09:00:00+01:00",
            "2026-03-29T09:00:00+02:00",
            "2026-03-30T09:00:00+02:00",
            "2026-04-03T09:00:00+02:00",
        ],
    ),
    row(
        EB_CRON,
        "cron(0 9 1 NOV-FEB ? *)",
        "Europe/Berlin",
        "2026-03-01T10:00:00+01:00",
        &[
            "2026-11-01T09:00:00+01:00",
            "2026-12-01T09:00:00+01:00",
            "2027-01-01T09:00:00+01:00",
            "2027-02-01T09:00:00+01:00",
            "2027-11-01T09:00:00+01:00",
        ],
    ),
    row(
        EB_CRON,
        "cron(0 20-2/2 ? * MON-FRI *)",
        "America/New_York",
        "2026-03-06T19:00:00-05:00", // a Friday
        &[
            "2026-03-06T20:00:00-05:00",
            "2026-03-06T22:00:00-05:00",
            "2026-03-09T00:00:00-04:00",
            "2026-03-09T02:00:00-04:00",
            "2026-03-09T20:00:00-04:00",
        ],
    ),
    // Rates: one rate after the last fire, whatever the wall clock does.
    row(
        EB_RATE,
        "rate(1 minute)",
        "Europe/Berlin",
        "2026-03-29T01:59:00+01:00",
        &["2026-03-29T03:00:00+02:00", "2026-03-29T03:01:00+02:00"],
    ),
    row(
        EB_RATE,
        "rate(5 minutes)",
        "Europe/Berlin",
        "2026-10-25T02:55:00+02:00",
        &["2026-10-25T02:00:00+01:00", "2026-10-25T02:05:00+01:00"],
    ),
    row(
        EB_RATE,
        "rate(1 hour)",
        "America/New_York",
        "2026-03-08T01:30:00-05:00",
        &["2026-03-08T03:30:00-04:00", "2026-03-08T04:30:00-04:00"],
    ),
    row(
        EB_RATE,
        "rate(1 day)",
        "Europe/Berlin",
        "2026-03-28T12:00:00+01:00",
        &["2026-03-29T13:00:00+02:00", "2026-03-30T13:00:00+02:00"],
    ),
    // One time, on the wall clock of its zone, then never again.
    row(
        SCHEDULE_TYPES,
        "at(2026-03-29T10:00:00)",
        "Europe/Berlin",
        "2026-03-28T10:00:00+01:00",
        &["2026-03-29T10:00:00+02:00"],
    ),
    // This repository's examples.
    Accepted {
        stored: "cron(0 9 ? * MON-FRI *)",
        ..row(
            "docs/api.md, events/create-job.json, local/tests",
            "0 9 * * 1-5",
            "Europe/Berlin",
            "2026-10-23T10:00:00+02:00", // a Friday
            &["2026-10-26T09:00:00+01:00", "2026-10-27T09:00:00+01:00"],
        )
    },
    row(
        "openapi.yaml, events/create-job.json, events/schedule-sync.json",
        "cron(0 9 ? * MON-FRI *)",
        "Europe/Berlin",
        "2026-03-27T10:00:00+01:00",
        &["2026-03-30T09:00:00+02:00"],
    ),
    row(
        "events/update-job.json",
        "cron(0 18 ? * FRI *)",
        "Europe/Berlin",
        "2026-10-23T19:00:00+02:00",
        &["2026-10-30T18:00:00+01:00"],
    ),
    Accepted {
        stored: "cron(0 9 * * ? *)",
        ..row(
            "local/src/soak/notifications.rs",
            "0 9 * * *",
            "America/New_York",
            "2026-03-07T10:00:00-05:00",
            &["2026-03-08T09:00:00-04:00"],
        )
    },
    row(
        "shared/src/testing.rs",
        "cron(0 9 * * ? *)",
        "UTC",
        "2026-03-29T08:00:00Z",
        &["2026-03-29T09:00:00Z"],
    ),
];

/// Refused expressions and words their error must contain.
const REFUSED: &[(&str, &str, &str)] = &[
    (EB_CRON, "cron(0 9 ? * 3#1,6#3 *)", "one expression only"),
    (SCHEDULE_TYPES, "cron(0 9 ? * 3#1,6#3 *)", "day-of-week: "),
    (EB_CRON, "cron(0 9 * * MON-FRI *)", "exactly one of them is ?"),
    (EB_CRON, "cron(0 9 ? * ? *)", "exactly one of them is ?"),
    (
        "events/create-job.invalid-cron.json",
        "cron(0 9 * * MON *)",
        "exactly one of them is ?",
    ),
    (EB_CRON, "cron(0 9 ? * MON-FRI)", "takes 6 fields"),
    (EB_CRON, "cron(60 * * * ? *)", "minutes is 0–59"),
    (EB_CRON, "cron(0 24 * * ? *)", "hours is 0–23"),
    (EB_CRON, "cron(0 9 0 * ? *)", "day-of-month is 1–31"),
    (EB_CRON, "cron(0 9 32 * ? *)", "day-of-month is 1–31"),
    (EB_CRON, "cron(0 9 1 13 ? *)", "month is 1–12 or JAN–DEC"),
    (EB_CRON, "cron(0 9 1 MON ? *)", "month is 1–12 or JAN–DEC"),
    (EB_CRON, "cron(0 9 ? * 0 *)", "day-of-week is 1–7 or SUN–SAT"),
    (EB_CRON, "cron(0 9 ? * 8 *)", "day-of-week is 1–7 or SUN–SAT"),
    (EB_CRON, "cron(0 9 ? * JAN *)", "day-of-week is 1–7 or SUN–SAT"),
    (EB_CRON, "cron(0 9 1 * ? 1969)", "year is 1970–2199"),
    (EB_CRON, "cron(0 9 1 * ? 2200)", "year is 1970–2199"),
    (EB_CRON, "cron(0 9 ? * 2/2 *)", "does not take '/'"),
    (EB_CRON, "cron(0 9 ? * 2W *)", "does not take 'W'"),
    (EB_CRON, "cron(0 9 2#1 * ? *)", "does not take '#'"),
    (EB_CRON, "cron(L 9 1 * ? *)", "minutes: this field does not take 'L'"),
    (EB_CRON, "cron(0 ? 1 * ? *)", "hours: this field does not take '?'"),
    (EB_RATE, "rate(1 hours)", "rate(1 hour)"),
    (EB_RATE, "rate(5 hour)", "rate(5 hours)"),
    (EB_RATE, "rate(0 minutes)", "whole number from 1"),
    (EB_RATE, "rate(5 weeks)", "minute(s), hour(s) or day(s)"),
    (SCHEDULE_TYPES, "at(2030-02-30T09:00:00)", "yyyy-mm-ddThh:mm:ss"),
    (SCHEDULE_TYPES, "at(2030-01-31 09:00:00)", "yyyy-mm-ddThh:mm:ss"),
    (CREATE_SCHEDULE, "", "1–256 characters"),
];

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect(text).with_timezone(&Utc)
}

#[test]
fn documented_expressions_fire_when_worked_out_by_hand() {
    for row in ACCEPTED {
        let name = format!("{} ({}, {})", row.expression, row.page, row.zone);
        let expression = ScheduleExpression::parse(row.expression).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(expression.to_string(), row.stored, "{name}");
        let (zone, _) = parse_timezone(row.zone).expect("zone");
        let mut fires = Vec::new();
        let mut after = instant(row.after);
        while let Some(next) = expression
            .next_after(after, &zone)
            .filter(|_| fires.len() < row.fires.len())
        {
            fires.push(next);
            after = next;
        }
        let expected: Vec<_> = row.fires.iter().map(|fire| instant(fire)).collect();
        assert_eq!(fires, expected, "{name}");
    }
}

#[test]
fn one_time_and_past_schedules_stop() {
    for row in ACCEPTED
        .iter()
        .filter(|row| row.expression.starts_with("at(") || row.fires.is_empty())
    {
        let (zone, _) = parse_timezone(row.zone).expect("zone");
        let last = row.fires.last().map_or(row.after, |fire| fire);
        let expression = ScheduleExpression::parse(row.expression).expect("valid");
        assert_eq!(expression.next_after(instant(last), &zone), None, "{}", row.expression);
    }
}

#[test]
fn documented_mistakes_are_refused_saying_what_aws_allows() {
    for (page, expression, says) in REFUSED {
        let refused = ScheduleExpression::parse(expression)
            .expect_err(&format!("{expression} ({page}) accepted"))
            .to_string();
        assert!(
            refused.contains(says),
            "{expression} ({page}): {refused:?} should say {says:?}"
        );
    }
}

#[test]
fn time_zones_are_iana_names_of_at_most_50_characters() {
    assert!(parse_timezone("Europe/Berlin").is_ok(), "{CREATE_SCHEDULE}");
    for refused in ["Mars/Olympus", "CET+1", &"A".repeat(51)] {
        assert!(parse_timezone(refused).is_err(), "{refused} ({CREATE_SCHEDULE})");
    }
}
