//! Create/update request bodies, validated into a `JobDraft` naming every
//! invalid field.

use chrono::{DateTime, Utc};
use jiff::tz::TimeZone;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::model::{JobParameters, Notification};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::ids;
use crate::schedule::{self, ScheduleErrors, ScheduleExpression};

const MAX_ITEMS_IN_EMAIL: i64 = 1000;
const MAX_PARAMETERS: usize = 50;
const MAX_TEMPLATE_ID_LEN: usize = 128;
const MAX_PARAMETER_LEN: usize = 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    id: Option<String>,
    notification: Option<Notification>,
    template_id: Option<String>,
    number_of_items_in_email: Option<i64>,
    job_parameters: Option<JobParameters>,
    schedule: Option<String>,
    #[serde(rename = "scheduleExpression")]
    schedule_expression: Option<String>,
    #[serde(rename = "scheduleTimezone")]
    schedule_timezone: Option<String>,
    is_active: Option<bool>,
    is_scheduled: Option<bool>,
    deleted: Option<bool>,
    /// Optional on update: the version the client read.
    version: Option<u64>,
    // Server-set; accepted and ignored so a response can be sent back as is.
    #[serde(default, rename = "schedule_status")]
    _schedule_status: Option<IgnoredAny>,
    #[serde(default, rename = "schedule_error")]
    _schedule_error: Option<IgnoredAny>,
    #[serde(default, rename = "next_run_at")]
    _next_run_at: Option<IgnoredAny>,
    #[serde(default, rename = "last_run_at")]
    _last_run_at: Option<IgnoredAny>,
    #[serde(default, rename = "retry_shoppers")]
    _retry_shoppers: Option<IgnoredAny>,
    #[serde(default, rename = "retry_overflow")]
    _retry_overflow: Option<IgnoredAny>,
    #[serde(default, rename = "created_at")]
    _created_at: Option<IgnoredAny>,
    #[serde(default, rename = "updated_at")]
    _updated_at: Option<IgnoredAny>,
}

/// A valid job request, before ids, times and server fields are added.
#[derive(Debug, Clone, PartialEq)]
pub struct JobDraft {
    pub id: Option<String>,
    pub notification: Notification,
    pub template_id: String,
    pub number_of_items_in_email: i32,
    pub job_parameters: JobParameters,
    pub expression: Option<ScheduleExpression>,
    /// The zone and its canonical IANA name.
    pub timezone: Option<(TimeZone, String)>,
    /// As sent; an update that leaves it out keeps the stored value.
    pub is_active: Option<bool>,
    pub is_scheduled: bool,
    /// As sent; only `DELETE` deletes a job.
    pub deleted: Option<bool>,
    pub version: Option<u64>,
}

impl JobDraft {
    /// When Scheduler would next fire it, if it should run at all.
    pub fn next_run_after(&self, now: DateTime<Utc>, is_active: bool) -> Option<DateTime<Utc>> {
        let timezone = self.timezone.as_ref().map_or(TimeZone::UTC, |(zone, _)| zone.clone());
        self.expression
            .as_ref()
            .filter(|_| is_active && self.is_scheduled)
            .and_then(|e| e.next_after(now, &timezone))
    }
}

impl JobRequest {
    pub fn into_draft(self, now: DateTime<Utc>) -> Result<JobDraft, ApiError> {
        let mut errors = FieldErrors::default();
        if let Some(id) = &self.id {
            errors.check(ids::validate_client_id("id", id));
        }
        let notification = errors.required("notification", self.notification);
        let template_id = errors
            .required("template_id", self.template_id)
            .and_then(|t| errors.check(template_id(t)));
        let items = errors.check(items_in_email(self.number_of_items_in_email.unwrap_or(-1)));
        let job_parameters = self.job_parameters.unwrap_or_default();
        errors.check(check_parameters(&job_parameters));
        let timezone = match &self.schedule_timezone {
            Some(name) => errors
                .check(schedule::parse_timezone(name).map_err(|e| FieldError::new("scheduleTimezone", e.to_string()))),
            None => None,
        };
        let sent = if self.schedule_expression.is_some() {
            "scheduleExpression"
        } else {
            "schedule"
        };
        let any_sent = self.schedule.is_some() || self.schedule_expression.is_some();
        let expression = expression(
            &mut errors,
            self.schedule.as_deref(),
            self.schedule_expression.as_deref(),
        );
        let is_scheduled = self.is_scheduled.unwrap_or(any_sent);
        match &expression {
            // A schedule that was sent but is invalid has its error already.
            None if is_scheduled && !any_sent => {
                errors.push(
                    "scheduleExpression",
                    "is required when is_scheduled is true (or send schedule)",
                );
            }
            Some(e)
                if is_scheduled
                    && e.next_after(now, timezone.as_ref().map_or(&TimeZone::UTC, |(zone, _)| zone))
                        .is_none() =>
            {
                errors.push(
                    sent,
                    "is valid, but never fires after now (before 2199); a scheduled job needs one that does",
                );
            }
            _ => {}
        }
        let draft = match (notification, template_id, items) {
            (Some(notification), Some(template_id), Some(number_of_items_in_email)) => Some(JobDraft {
                id: self.id,
                notification,
                template_id,
                number_of_items_in_email,
                job_parameters,
                expression,
                timezone,
                is_active: self.is_active,
                is_scheduled,
                deleted: self.deleted,
                version: self.version,
            }),
            _ => None,
        };
        errors.finish(draft)
    }
}

/// `schedule` and `scheduleExpression` may both be sent; they must then agree.
/// The same text sent in both is judged once, under `scheduleExpression`.
fn expression(
    errors: &mut FieldErrors,
    schedule: Option<&str>,
    expression: Option<&str>,
) -> Option<ScheduleExpression> {
    let schedule = schedule.filter(|s| expression.is_none_or(|e| e.trim() != s.trim()));
    let mut parse = |field: &str, raw: Option<&str>| match ScheduleExpression::parse(raw?) {
        Ok(parsed) => Some(parsed),
        Err(ScheduleErrors(problems)) => {
            for problem in problems {
                errors.push(field, problem.to_string());
            }
            None
        }
    };
    let from_schedule = parse("schedule", schedule);
    let from_expression = parse("scheduleExpression", expression);
    match (from_schedule, from_expression) {
        (Some(a), Some(b)) if a != b => {
            errors.push(
                "scheduleExpression",
                format!("{b} differs from schedule {a}; send one, or the same in both"),
            );
            None
        }
        (a, b) => b.or(a),
    }
}

fn template_id(id: String) -> Result<String, FieldError> {
    if id.is_empty() || id.len() > MAX_TEMPLATE_ID_LEN || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::new(
            "template_id",
            format!("must be a SendGrid template id: 1-{MAX_TEMPLATE_ID_LEN} characters without spaces"),
        ));
    }
    Ok(id)
}

fn items_in_email(count: i64) -> Result<i32, FieldError> {
    if count == -1 || (1..=MAX_ITEMS_IN_EMAIL).contains(&count) {
        // In range, so the cast is exact.
        Ok(count as i32)
    } else {
        Err(FieldError::new(
            "number_of_items_in_email",
            format!("must be -1 (all items) or 1 to {MAX_ITEMS_IN_EMAIL}"),
        ))
    }
}

/// DynamoDB numbers: integers, or magnitudes within 1e-130..1e126.
fn storable(number: &serde_json::Number) -> bool {
    number.is_i64()
        || number.is_u64()
        || number
            .as_f64()
            .is_some_and(|x| x == 0.0 || (1e-128..=1e125).contains(&x.abs()))
}

fn check_parameters(parameters: &JobParameters) -> Result<(), FieldError> {
    if parameters.len() > MAX_PARAMETERS {
        return Err(FieldError::new(
            "job_parameters",
            format!("at most {MAX_PARAMETERS} parameters"),
        ));
    }
    for (name, value) in parameters {
        let field = format!("job_parameters.{name}");
        let valid = match name.as_str() {
            "campaign_id" | "utm_medium" => value.as_str().is_some_and(|s| !s.is_empty() && s.len() <= 256),
            "low_stock_threshold" => value.as_i64().is_some_and(|n| (0..=1_000_000).contains(&n)),
            _ => match value {
                Value::String(text) => text.len() <= MAX_PARAMETER_LEN,
                Value::Number(number) => storable(number),
                Value::Bool(_) => true,
                _ => false,
            },
        };
        if !valid {
            let expected = match name.as_str() {
                "campaign_id" | "utm_medium" => "a string of 1-256 characters",
                "low_stock_threshold" => "a whole number from 0 to 1000000",
                _ => "a string (at most 1024 bytes), a number DynamoDB can store, or a boolean",
            };
            return Err(FieldError::new(field, format!("must be {expected}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// The 400's errors for a job with `schedule` fields merged in.
    fn refused(schedule: Value) -> Vec<FieldError> {
        let mut body = json!({"notification": "BACK_IN_STOCK", "template_id": "d-1", "is_scheduled": true});
        body.as_object_mut()
            .expect("object")
            .extend(schedule.as_object().expect("object").clone());
        let request: JobRequest = serde_json::from_value(body).expect("request");
        let now = DateTime::parse_from_rfc3339("2026-11-26T06:30:00Z")
            .expect("now")
            .to_utc();
        match request.into_draft(now) {
            Err(ApiError::Invalid { errors, .. }) => errors,
            other => panic!("not a 400: {other:?}"),
        }
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn each_problem_of_an_expression_is_one_error_on_the_field_sent() {
        let errors = refused(json!({"scheduleExpression": "cron(61 9 ? * 0 *)"}));
        assert_eq!(fields(&errors), ["scheduleExpression", "scheduleExpression"]);
        assert!(errors[0].message.starts_with("minutes: "), "{errors:?}");
        assert!(errors[1].message.starts_with("day-of-week: "), "{errors:?}");
    }

    #[test]
    fn the_same_invalid_text_in_both_fields_is_judged_once() {
        let same = "cron(0 9 ? * 3#1,6#3 *)";
        let errors = refused(json!({"schedule": same, "scheduleExpression": same}));
        assert_eq!(fields(&errors), ["scheduleExpression"], "{errors:?}");
    }

    #[test]
    fn a_missing_schedule_is_required_but_an_invalid_one_is_not_missing() {
        assert_eq!(fields(&refused(json!({}))), ["scheduleExpression"]);
        assert_eq!(fields(&refused(json!({"schedule": "rate(1 hours)"}))), ["schedule"]);
    }

    #[test]
    fn policy_refusals_read_apart_from_grammar_errors() {
        // Valid Scheduler syntax, but its years are past.
        let never = refused(json!({"schedule": "cron(15 10 ? * 6L 2019-2022)"}));
        assert_eq!(fields(&never), ["schedule"]);
        assert!(never[0].message.starts_with("is valid, but never fires"), "{never:?}");
        let zone = refused(json!({"schedule": "rate(1 day)", "scheduleTimezone": "Mars/Olympus"}));
        assert_eq!(fields(&zone), ["scheduleTimezone"]);
        assert!(zone[0].message.contains("IANA"), "{zone:?}");
    }
}
