//! EventBridge Scheduler: one schedule per job in the stack's group, targeting
//! notification-job. Creates, updates and deletes are idempotent.

use aws_sdk_scheduler::Client;
use aws_sdk_scheduler::config::http::HttpResponse;
use aws_sdk_scheduler::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_scheduler::types::{
    DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, ScheduleState, Target,
};
use serde_json::json;

use super::port::Scheduler;
use crate::tenant::TenantId;

/// What every schedule invokes, and how.
#[derive(Debug, Clone)]
pub struct ScheduleTarget {
    /// notification-job's ARN.
    pub function_arn: String,
    /// The role Scheduler assumes to invoke it.
    pub role_arn: String,
    /// Where Scheduler puts invocations it could not deliver.
    pub dead_letter_arn: String,
}

/// One schedule as it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSpec<'a> {
    pub name: &'a str,
    pub tenant: &'a TenantId,
    pub job_id: &'a str,
    pub expression: &'a str,
    pub timezone: &'a str,
    pub enabled: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// Scheduler will not take it as it is (e.g. an expression it rejects): retrying cannot help.
    #[error("Scheduler refused the schedule: {0}")]
    Refused(String),
    /// Throttling, a fault, the network: worth retrying.
    #[error("Scheduler is unavailable: {0}")]
    Unavailable(String),
    /// The stack may not do it (access, a missing group): no retry can help, and
    /// the detail is the operator's, not the tenant's.
    #[error("Scheduler denied the change: {0}")]
    Denied(String),
}

/// Invocations Scheduler retries before the dead-letter queue, and for how long.
const RETRY_ATTEMPTS: i32 = 3;
const MAX_EVENT_AGE_SECONDS: i32 = 3600;

pub struct Schedules {
    client: Client,
    group: String,
    target: ScheduleTarget,
}

impl Schedules {
    pub fn new(client: Client, group: impl Into<String>, target: ScheduleTarget) -> Self {
        Self {
            client,
            group: group.into(),
            target,
        }
    }

    fn target(&self, spec: &ScheduleSpec<'_>) -> Result<Target, SchedulerError> {
        // Scheduler fills the placeholders in at each invocation; the execution id
        // lets notification-job send each run once.
        let input = json!({
            "tenant": spec.tenant.as_str(),
            "jobId": spec.job_id,
            "scheduledTime": "<aws.scheduler.scheduled-time>",
            "executionId": "<aws.scheduler.execution-id>",
        });
        Target::builder()
            .arn(&self.target.function_arn)
            .role_arn(&self.target.role_arn)
            .input(input.to_string())
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_retry_attempts(RETRY_ATTEMPTS)
                    .maximum_event_age_in_seconds(MAX_EVENT_AGE_SECONDS)
                    .build(),
            )
            .dead_letter_config(DeadLetterConfig::builder().arn(&self.target.dead_letter_arn).build())
            .build()
            .map_err(|e| SchedulerError::Refused(e.to_string()))
    }
}

impl Scheduler for Schedules {
    /// Makes the schedule `spec.name` what `spec` says: updated when it exists, else created.
    async fn put(&self, spec: &ScheduleSpec<'_>) -> Result<(), SchedulerError> {
        let target = self.target(spec)?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(|e| SchedulerError::Refused(e.to_string()))?;
        let state = if spec.enabled {
            ScheduleState::Enabled
        } else {
            ScheduleState::Disabled
        };
        let description = format!("notification job {} of tenant {}", spec.job_id, spec.tenant);
        let updated = self
            .client
            .update_schedule()
            .name(spec.name)
            .group_name(&self.group)
            .schedule_expression(spec.expression)
            .schedule_expression_timezone(spec.timezone)
            .state(state.clone())
            .description(&description)
            .flexible_time_window(window.clone())
            .target(target.clone())
            .send()
            .await;
        match updated.map_err(classify) {
            Err(Missing) => {}
            other => return other.map(|_| ()).map_err(Into::into),
        }
        self.client
            .create_schedule()
            .name(spec.name)
            .group_name(&self.group)
            .schedule_expression(spec.expression)
            .schedule_expression_timezone(spec.timezone)
            .state(state)
            .description(description)
            .flexible_time_window(window)
            .target(target)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match classify(e) {
                // Creating cannot miss the schedule: it is the group that is missing.
                Missing => SchedulerError::Denied(format!("schedule group {} does not exist", self.group)),
                Failure::Other(err) => err,
            })
    }

    /// Deletes the schedule `name`; one that does not exist is already gone.
    async fn remove(&self, name: &str) -> Result<(), SchedulerError> {
        let deleted = self
            .client
            .delete_schedule()
            .name(name)
            .group_name(&self.group)
            .send()
            .await;
        match deleted.map_err(classify) {
            Ok(_) | Err(Missing) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }
}

/// A Scheduler error by what it means here.
enum Failure {
    Missing,
    Other(SchedulerError),
}
use Failure::Missing;

impl From<Failure> for SchedulerError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Missing => Self::Refused("the schedule does not exist".into()),
            Failure::Other(err) => err,
        }
    }
}

fn classify<E>(err: SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    // moto answers some faults with HTML; the code and message are what count.
    let detail = match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        _ => DisplayErrorContext(&err).to_string(),
    };
    match err.code() {
        Some("ResourceNotFoundException") => Missing,
        Some("ValidationException" | "ServiceQuotaExceededException") => {
            Failure::Other(SchedulerError::Refused(detail))
        }
        // A conflict is a concurrent change: the retry will see the settled state.
        Some("ConflictException") => Failure::Other(SchedulerError::Unavailable(detail)),
        _ if crate::aws::is_transient(&err) => Failure::Other(SchedulerError::Unavailable(detail)),
        _ => Failure::Other(SchedulerError::Denied(detail)),
    }
}
