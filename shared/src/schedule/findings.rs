//! The five findings of issue 31, each as it was seen through the API, kept so
//! that none comes back.

use chrono::{DateTime, Utc};
use jiff::tz::TimeZone;
use serde_json::json;

use super::ScheduleExpression;
use crate::error::ApiError;
use crate::jobs::JobRequest;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("time").with_timezone(&Utc)
}

/// A cron expression whose hour field is `hours`, padded with minutes and years
/// to 256 characters when `hours` is one digit.
fn long_cron(hours: &str) -> String {
    let minutes: Vec<String> = (0..57).map(|m| m.to_string()).collect();
    let years: Vec<String> = (2030..2046).map(|y| y.to_string()).collect();
    format!("cron({} {hours} ? * MON {})", minutes.join(","), years.join(","))
}

#[test]
fn a_range_that_wraps_past_midnight_is_accepted_and_fires_across_it() {
    // EventBridge user guide, cron examples: every 30 minutes, Monday to Friday, 20:00 to 02:30.
    let expression = ScheduleExpression::parse("cron(0/30 20-2 ? * MON-FRI *)").expect("AWS's own example");
    let mut fires = Vec::new();
    let mut after = at("2026-11-27T22:50:00Z"); // a Friday
    for _ in 0..4 {
        after = expression.next_after(after, &TimeZone::UTC).expect("fires");
        fires.push(after);
    }
    // Saturday and Sunday are not MON-FRI: the night's early hours fire on Monday.
    assert_eq!(
        fires,
        [
            at("2026-11-27T23:00:00Z"),
            at("2026-11-27T23:30:00Z"),
            at("2026-11-30T00:00:00Z"),
            at("2026-11-30T00:30:00Z"),
        ]
    );
}

#[test]
fn hash_allows_one_expression_in_day_of_week() {
    // Scheduler's "Schedule types" page gives exactly this as invalid.
    assert!(ScheduleExpression::parse("cron(0 9 ? * 3#1,6#3 *)").is_err());
}

#[test]
fn an_expression_is_at_most_256_characters() {
    let (longest, too_long) = (long_cron("9"), long_cron("19"));
    assert_eq!((longest.len(), too_long.len()), (256, 257));
    assert!(
        ScheduleExpression::parse(&longest).is_ok(),
        "CreateSchedule takes 1-256"
    );
    let refused = ScheduleExpression::parse(&too_long)
        .expect_err("257 characters")
        .to_string();
    assert!(refused.contains("256"), "{refused}");
}

#[test]
fn day_of_week_zero_says_what_aws_allows() {
    let refused = ScheduleExpression::parse("cron(0 9 ? * 0 *)")
        .expect_err("0 is no AWS weekday")
        .to_string();
    assert!(refused.contains("day-of-week is 1–7 or SUN–SAT"), "{refused}");
}

#[test]
fn an_invalid_schedule_is_one_error_not_also_a_missing_one() {
    let request: JobRequest = serde_json::from_value(json!({
        "notification": "BACK_IN_STOCK", "template_id": "d-1",
        "schedule": "cron(0 9 ? * 0 *)", "is_scheduled": true
    }))
    .expect("request");
    let Err(ApiError::Invalid { errors, .. }) = request.into_draft(at("2026-11-26T06:30:00Z")) else {
        panic!("an invalid schedule is a 400");
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["schedule"], "{errors:?}");
}
