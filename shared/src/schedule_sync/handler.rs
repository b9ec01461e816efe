//! schedule-sync: the jobs table's stream into Scheduler, and each job's
//! schedule status back onto the job.

use aws_lambda_events::event::dynamodb::EventRecord;

use super::change::{JobChange, job_change};
use super::desired::Desired;
use super::name::schedule_name;
use super::port::{ScheduleStatuses, Scheduler};
use super::scheduler::{ScheduleSpec, ScheduleTarget, SchedulerError, Schedules};
use crate::config::{ConfigError, Environment, FunctionConfig};
use crate::jobs::{Job, ScheduleStatus};
use crate::storage::DynamoRecords;
use crate::storage::schema::{JOB_RECORDS, JOBS};
use crate::stream_failures::{FAILURE_QUEUE_URL, FailureQueue, Parking, retry_from};

/// schedule-sync, over any scheduler, job statuses and parking place
/// (Scheduler, DynamoDB and SQS when deployed).
pub struct ScheduleSync<S = Schedules, J = DynamoRecords<Job>, F = FailureQueue> {
    schedules: S,
    jobs: J,
    failures: F,
}

/// What a tenant's job says when the stack could not schedule it; the detail
/// goes to the operator with the parked record.
const DENIED: &str = "the schedule could not be written; the operator has been alerted";

#[derive(Debug, Clone)]
pub struct ScheduleSyncConfig {
    pub jobs_table: String,
    /// The Scheduler group that holds one schedule per job.
    pub group: String,
    pub target: ScheduleTarget,
    /// Where records that can never be synced are parked.
    pub failure_queue_url: String,
}

impl FunctionConfig for ScheduleSyncConfig {
    const VARIABLES: &'static [&'static str] = &[
        JOBS.env_var,
        "SCHEDULE_GROUP",
        "NOTIFICATION_JOB_ARN",
        "SCHEDULER_ROLE_ARN",
        "SCHEDULER_DEAD_LETTER_ARN",
        FAILURE_QUEUE_URL,
    ];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            jobs_table: env.required(JOBS.env_var)?,
            group: env.required("SCHEDULE_GROUP")?,
            target: ScheduleTarget {
                function_arn: env.required("NOTIFICATION_JOB_ARN")?,
                role_arn: env.required("SCHEDULER_ROLE_ARN")?,
                dead_letter_arn: env.required("SCHEDULER_DEAD_LETTER_ARN")?,
            },
            failure_queue_url: env.required(FAILURE_QUEUE_URL)?,
        })
    }
}

impl ScheduleSync {
    pub fn new(sdk: &aws_config::SdkConfig, config: ScheduleSyncConfig) -> Self {
        Self::with(
            Schedules::new(aws_sdk_scheduler::Client::new(sdk), config.group, config.target),
            DynamoRecords::new(aws_sdk_dynamodb::Client::new(sdk), config.jobs_table, JOB_RECORDS),
            FailureQueue::new(aws_sdk_sqs::Client::new(sdk), config.failure_queue_url, "schedule-sync"),
        )
    }
}

impl<S: Scheduler, J: ScheduleStatuses, F: Parking> ScheduleSync<S, J, F> {
    pub fn with(schedules: S, jobs: J, failures: F) -> Self {
        Self {
            schedules,
            jobs,
            failures,
        }
    }

    /// Syncs a stream batch in order; returns the sequence number to report as
    /// failed (Lambda retries from there) when Scheduler was unavailable. A record
    /// that can never be synced is parked on the failure queue with the reason, and
    /// the rest of the batch goes on.
    pub async fn stream_batch(&self, records: &[EventRecord]) -> Vec<String> {
        for record in records {
            let change = match job_change(record) {
                Ok(Some(change)) => change,
                Ok(None) => continue,
                // A job the API wrote always decodes; nothing can be synced from one that does not.
                Err(err) => {
                    if !self.failures.park(record, None, &format!("undecodable: {err}")).await {
                        return retry_from(record);
                    }
                    continue;
                }
            };
            match self.sync(&change).await {
                Ok(()) => {}
                Err(SchedulerError::Denied(reason)) => {
                    if !self
                        .failures
                        .park(record, Some((&change.tenant, &change.id)), &reason)
                        .await
                    {
                        return retry_from(record);
                    }
                }
                Err(err) => {
                    tracing::warn!(tenant = %change.tenant, job_id = %change.id, error = %err, "schedule not synced; will be retried");
                    return retry_from(record);
                }
            }
        }
        Vec::new()
    }

    async fn sync(&self, change: &JobChange) -> Result<(), SchedulerError> {
        let name = schedule_name(&change.tenant, &change.id);
        let Some(job) = &change.job else {
            return self.schedules.remove(&name).await;
        };
        let desired = Desired::of(&job.value);
        let applied = match &desired {
            Desired::Absent => self.schedules.remove(&name).await,
            Desired::Present {
                expression,
                timezone,
                enabled,
            } => {
                let spec = ScheduleSpec {
                    name: &name,
                    tenant: &change.tenant,
                    job_id: &change.id,
                    expression,
                    timezone,
                    enabled: *enabled,
                };
                self.schedules.put(&spec).await
            }
        };
        let (status, error) = match &applied {
            Ok(()) => (desired.status(&job.value), None),
            Err(SchedulerError::Refused(reason)) => (ScheduleStatus::Failed, Some(reason.clone())),
            Err(SchedulerError::Denied(_)) => (ScheduleStatus::Failed, Some(DENIED.to_owned())),
            Err(SchedulerError::Unavailable(_)) => return applied,
        };
        tracing::info!(tenant = %change.tenant, job_id = %change.id, schedule = %name, ?status, "schedule synced");
        self.record_status(change, job.version, status, error).await;
        match applied {
            Err(denied @ SchedulerError::Denied(_)) => Err(denied),
            _ => Ok(()),
        }
    }

    /// Writes the status onto the job version it was synced from; a newer version
    /// is left alone (its own stream record brings its own sync).
    async fn record_status(&self, change: &JobChange, version: u64, status: ScheduleStatus, error: Option<String>) {
        match self
            .jobs
            .record(&change.tenant, &change.id, version, status, error)
            .await
        {
            Ok(true) => {}
            Ok(false) => tracing::info!(job_id = %change.id, version, "job changed since; its own record syncs it"),
            Err(err) => tracing::warn!(job_id = %change.id, error = %err, "could not record the schedule status"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::Notification;
    use crate::schedule_sync::{InMemoryScheduler, Kept, schedule_name};
    use crate::storage::{InMemoryRecords, Records, Versioned};
    use crate::stream_failures::ParkedInMemory;
    use crate::testing::{job, job_record, tenant};

    type MemorySync = ScheduleSync<InMemoryScheduler, InMemoryRecords<Job>, ParkedInMemory>;

    /// schedule-sync over memory, with `jobs` stored as the API stored them.
    async fn sync_with(jobs: &[Job]) -> MemorySync {
        let records = InMemoryRecords::default();
        for job in jobs {
            records
                .create(&tenant("acme"), &job.id, job.clone())
                .await
                .expect("job");
        }
        ScheduleSync::with(InMemoryScheduler::default(), records, ParkedInMemory::default())
    }

    fn v1(job: &Job) -> Versioned<Job> {
        Versioned {
            version: 1,
            value: job.clone(),
        }
    }

    async fn stored(sync: &MemorySync, id: &str) -> Job {
        sync.jobs
            .get(&tenant("acme"), id)
            .await
            .expect("read")
            .expect("job")
            .value
    }

    #[tokio::test]
    async fn a_new_job_gets_its_schedule_and_its_status() {
        // GIVEN a new active job
        let new = job("job-1", Notification::BackInStock);
        let sync = sync_with(std::slice::from_ref(&new)).await;
        // WHEN its stream record is synced
        let failed = sync
            .stream_batch(&[job_record(&tenant("acme"), "1", None, Some(&v1(&new)))])
            .await;
        // THEN Scheduler holds an enabled schedule and the job says so
        assert!(failed.is_empty());
        let kept = Kept {
            expression: "cron(0 9 * * ? *)".into(),
            timezone: "UTC".into(),
            enabled: true,
        };
        let name = schedule_name(&tenant("acme"), "job-1");
        assert_eq!(sync.schedules.schedules().get(&name), Some(&kept));
        assert_eq!(stored(&sync, "job-1").await.schedule_status, ScheduleStatus::Enabled);
    }

    #[tokio::test]
    async fn a_removed_job_loses_its_schedule() {
        // GIVEN a job with its schedule
        let old = job("job-1", Notification::BackInStock);
        let sync = sync_with(std::slice::from_ref(&old)).await;
        sync.stream_batch(&[job_record(&tenant("acme"), "1", None, Some(&v1(&old)))])
            .await;
        // WHEN its item is removed
        let failed = sync
            .stream_batch(&[job_record(&tenant("acme"), "2", Some(&v1(&old)), None)])
            .await;
        // THEN the schedule is gone
        assert!(failed.is_empty());
        assert!(sync.schedules.schedules().is_empty());
    }

    #[tokio::test]
    async fn an_expression_scheduler_refuses_fails_the_job_with_the_reason() {
        // GIVEN Scheduler refuses the expression
        let new = job("job-1", Notification::PriceDrop);
        let sync = sync_with(std::slice::from_ref(&new)).await;
        sync.schedules
            .failing(Some(|| SchedulerError::Refused("ValidationException: bad cron".into())));
        // WHEN synced
        let failed = sync
            .stream_batch(&[job_record(&tenant("acme"), "1", None, Some(&v1(&new)))])
            .await;
        // THEN the tenant's job shows why; nothing is retried or parked
        assert!(failed.is_empty());
        let job = stored(&sync, "job-1").await;
        assert_eq!(job.schedule_status, ScheduleStatus::Failed);
        assert_eq!(job.schedule_error.as_deref(), Some("ValidationException: bad cron"));
        assert!(sync.failures.parked().is_empty());
    }

    #[tokio::test]
    async fn a_change_the_stack_may_not_make_is_parked_for_the_operator_and_hidden_from_the_tenant() {
        // GIVEN Scheduler denies the stack the change
        let new = job("job-1", Notification::PriceDrop);
        let sync = sync_with(std::slice::from_ref(&new)).await;
        sync.schedules.failing(Some(|| {
            SchedulerError::Denied("AccessDeniedException: role arn:aws:iam::1:role/x".into())
        }));
        // WHEN synced
        let failed = sync
            .stream_batch(&[job_record(&tenant("acme"), "1", None, Some(&v1(&new)))])
            .await;
        // THEN the operator gets the detail, the tenant a plain word
        assert!(failed.is_empty());
        let parked = sync.failures.parked();
        assert_eq!(parked.len(), 1);
        assert!(parked[0].reason.contains("AccessDenied"));
        assert_eq!(stored(&sync, "job-1").await.schedule_error.as_deref(), Some(DENIED));
    }

    #[tokio::test]
    async fn an_unavailable_scheduler_has_lambda_retry_from_the_record_and_the_status_waits() {
        // GIVEN Scheduler is throttling
        let new = job("job-1", Notification::PriceDrop);
        let sync = sync_with(std::slice::from_ref(&new)).await;
        sync.schedules
            .failing(Some(|| SchedulerError::Unavailable("ThrottlingException".into())));
        // WHEN synced
        let failed = sync
            .stream_batch(&[job_record(&tenant("acme"), "7", None, Some(&v1(&new)))])
            .await;
        // THEN the batch is retried from it, and the job still waits for its schedule
        assert_eq!(failed, ["7"]);
        assert_eq!(stored(&sync, "job-1").await.schedule_status, ScheduleStatus::Pending);
    }

    #[tokio::test]
    async fn the_status_of_a_job_changed_since_is_left_to_its_own_record() {
        // GIVEN the job was updated (version 2) after the record being synced (version 1)
        let new = job("job-1", Notification::PriceDrop);
        let sync = sync_with(std::slice::from_ref(&new)).await;
        sync.jobs
            .replace(&tenant("acme"), "job-1", new.clone(), 1)
            .await
            .expect("v2");
        // WHEN version 1's record is synced
        sync.stream_batch(&[job_record(&tenant("acme"), "1", None, Some(&v1(&new)))])
            .await;
        // THEN version 2 keeps its own status
        assert_eq!(stored(&sync, "job-1").await.schedule_status, ScheduleStatus::Pending);
    }
}
