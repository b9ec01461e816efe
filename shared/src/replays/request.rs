//! `POST …/replay`'s body: `{from, to, entityName?, operation?}`, checked
//! against the events' retention and the stack's longest window. A `to` in the
//! future is taken as now (a client whose clock runs ahead asking for
//! everything up to now); a `from` in the future is refused.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::error::{ApiError, FieldErrors};
use crate::events::Operation;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplayRequest {
    from: Option<String>,
    to: Option<String>,
    entity_name: Option<String>,
    operation: Option<Operation>,
}

/// A checked request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayWindow {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// `to` was asked in the future: it is now instead.
    pub to_clamped: bool,
    pub entity_name: Option<String>,
    pub operation: Option<Operation>,
}

/// What a window may span.
#[derive(Debug, Clone, Copy)]
pub struct WindowLimits {
    /// Events older than this are gone (`EventRetentionDays`).
    pub retention: Duration,
    /// The longest window (`ReplayMaxWindowHours`).
    pub max_window: Duration,
}

impl ReplayRequest {
    /// The window at `now`, for a subscription of `entity_type`.
    pub fn check(self, now: DateTime<Utc>, limits: WindowLimits, entity_type: &str) -> Result<ReplayWindow, ApiError> {
        let mut errors = FieldErrors::default();
        let mut time = |field: &str, value: Option<String>| {
            let value = errors.required(field, value)?;
            match DateTime::parse_from_rfc3339(&value) {
                Ok(at) => Some(at.with_timezone(&Utc)),
                Err(_) => {
                    errors.push(field, "must be an RFC 3339 time, e.g. 2026-11-30T08:00:00Z");
                    None
                }
            }
        };
        let (from, asked_to) = (time("from", self.from), time("to", self.to));
        let to_clamped = asked_to.is_some_and(|to| to > now);
        let to = asked_to.map(|to| to.min(now));
        if let (Some(from), Some(to)) = (from, to) {
            if from >= now {
                errors.push("from", "must be in the past");
            } else if from >= to {
                errors.push("to", "must be after from");
            }
            if from < now - limits.retention {
                errors.push(
                    "from",
                    format!(
                        "must be within the events' retention ({} days)",
                        limits.retention.num_days()
                    ),
                );
            }
            if to - from > limits.max_window {
                errors.push(
                    "to",
                    format!("the window may span {} hours at most", limits.max_window.num_hours()),
                );
            }
        }
        let entity_name = self.entity_name.map(|name| name.to_ascii_uppercase());
        if entity_name.as_deref().is_some_and(|name| name != entity_type) {
            errors.push(
                "entityName",
                format!("the subscription follows {entity_type} events only"),
            );
        }
        let window = from.zip(to).map(|(from, to)| ReplayWindow {
            from,
            to,
            to_clamped,
            entity_name,
            operation: self.operation,
        });
        errors.finish(window)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(body: serde_json::Value) -> Result<ReplayWindow, ApiError> {
        let limits = WindowLimits {
            retention: Duration::days(365),
            max_window: Duration::hours(168),
        };
        let now = "2026-11-30T12:00:00Z".parse().expect("now");
        serde_json::from_value::<ReplayRequest>(body)
            .expect("shape")
            .check(now, limits, "ORDER")
    }

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Invalid { errors, .. } => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_window_must_be_ordered_past_within_retention_and_not_too_long() {
        let ok =
            check(json!({"from": "2026-11-30T08:00:00Z", "to": "2026-11-30T10:00:00+00:00", "entityName": "order"}));
        assert_eq!(ok.expect("valid").entity_name.as_deref(), Some("ORDER"));
        assert_eq!(
            fields(check(json!({"from": "2026-11-30T10:00:00Z", "to": "2026-11-30T08:00:00Z"})).expect_err("invalid")),
            ["to"]
        );
        assert_eq!(
            fields(check(json!({"from": "2026-11-01T10:00:00Z", "to": "2026-11-30T08:00:00Z"})).expect_err("invalid")),
            ["to"]
        );
        assert_eq!(
            fields(check(json!({"from": "2024-01-01T00:00:00Z", "to": "2024-01-02T00:00:00Z"})).expect_err("invalid")),
            ["from"]
        );
        assert_eq!(
            fields(
                check(json!({"from": "yesterday", "to": "2026-11-30T10:00:00Z", "entityName": "PRODUCT"}))
                    .expect_err("invalid")
            ),
            ["from", "entityName"]
        );
        assert_eq!(fields(check(json!({})).expect_err("invalid")), ["from", "to"]);
    }

    #[test]
    fn a_window_ending_in_the_future_ends_now_but_one_starting_there_is_refused() {
        // GIVEN now is 12:00
        // WHEN a window ends a second ahead (a client's clock running ahead)
        let window = check(json!({"from": "2026-11-30T08:00:00Z", "to": "2026-11-30T12:00:01Z"})).expect("valid");
        // THEN it ends now, and says so
        assert_eq!(window.to, "2026-11-30T12:00:00Z".parse::<DateTime<Utc>>().expect("now"));
        assert!(window.to_clamped);
        // AND a window in the past is as asked
        let past = check(json!({"from": "2026-11-30T08:00:00Z", "to": "2026-11-30T11:00:00Z"})).expect("valid");
        assert!(!past.to_clamped);
        // AND a window starting in the future (or now) is refused, naming `from`
        assert_eq!(
            fields(check(json!({"from": "2026-11-30T12:00:01Z", "to": "2026-11-30T13:00:00Z"})).expect_err("invalid")),
            ["from"]
        );
        assert_eq!(
            fields(check(json!({"from": "2026-11-30T12:00:00Z", "to": "2026-11-30T13:00:00Z"})).expect_err("invalid")),
            ["from"]
        );
    }
}
