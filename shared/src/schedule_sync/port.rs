//! schedule-sync's ports: the scheduler it keeps one schedule per job in, and
//! where it writes each job's schedule status. `Schedules` and
//! `DynamoRecords<Job>` are the deployed ones; `InMemoryScheduler` and
//! `InMemoryRecords<Job>` serve unit tests.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Mutex, MutexGuard};

use aws_sdk_dynamodb::types::AttributeValue;

use super::scheduler::{ScheduleSpec, SchedulerError};
use crate::jobs::{Job, ScheduleStatus};
use crate::storage::{DynamoRecords, InMemoryRecords, RecordError};
use crate::tenant::TenantId;

pub trait Scheduler: Send + Sync {
    /// Makes the schedule `spec.name` what `spec` says: updated when it exists, else created.
    fn put(&self, spec: &ScheduleSpec<'_>) -> impl Future<Output = Result<(), SchedulerError>> + Send;

    /// Deletes the schedule `name`; one that does not exist is already gone.
    fn remove(&self, name: &str) -> impl Future<Output = Result<(), SchedulerError>> + Send;
}

pub trait ScheduleStatuses: Send + Sync {
    /// Writes `status` and `error` onto job `id` if it is still at `version`;
    /// false when it changed since (its own stream record brings its own sync).
    fn record(
        &self,
        tenant: &TenantId,
        id: &str,
        version: u64,
        status: ScheduleStatus,
        error: Option<String>,
    ) -> impl Future<Output = Result<bool, RecordError>> + Send;
}

impl ScheduleStatuses for DynamoRecords<Job> {
    async fn record(
        &self,
        tenant: &TenantId,
        id: &str,
        version: u64,
        status: ScheduleStatus,
        error: Option<String>,
    ) -> Result<bool, RecordError> {
        let status = serde_json::to_value(status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let error = error.map_or(AttributeValue::Null(true), AttributeValue::S);
        self.patch(tenant, id, |update| {
            update
                .update_expression("SET schedule_status = :status, schedule_error = :error")
                .condition_expression("version = :version")
                .expression_attribute_values(":status", AttributeValue::S(status))
                .expression_attribute_values(":error", error)
                .expression_attribute_values(":version", AttributeValue::N(version.to_string()))
        })
        .await
    }
}

impl ScheduleStatuses for InMemoryRecords<Job> {
    async fn record(
        &self,
        tenant: &TenantId,
        id: &str,
        version: u64,
        status: ScheduleStatus,
        error: Option<String>,
    ) -> Result<bool, RecordError> {
        Ok(self.update_at(tenant, id, version, |job| {
            job.schedule_status = status;
            job.schedule_error = error;
        }))
    }
}

/// What a schedule says, as `InMemoryScheduler` keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub expression: String,
    pub timezone: String,
    pub enabled: bool,
}

/// Schedules in memory, for unit tests; fails every call as told.
#[derive(Default)]
pub struct InMemoryScheduler {
    schedules: Mutex<BTreeMap<String, Kept>>,
    failure: Mutex<Option<fn() -> SchedulerError>>,
}

impl InMemoryScheduler {
    /// Every call fails with what `failure` makes, until told otherwise.
    pub fn failing(&self, failure: Option<fn() -> SchedulerError>) {
        *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = failure;
    }

    pub fn schedules(&self) -> BTreeMap<String, Kept> {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Kept>> {
        self.schedules.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn failure(&self) -> Result<(), SchedulerError> {
        match *self.failure.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(failure) => Err(failure()),
            None => Ok(()),
        }
    }
}

impl Scheduler for InMemoryScheduler {
    async fn put(&self, spec: &ScheduleSpec<'_>) -> Result<(), SchedulerError> {
        self.failure()?;
        let kept = Kept {
            expression: spec.expression.to_owned(),
            timezone: spec.timezone.to_owned(),
            enabled: spec.enabled,
        };
        self.lock().insert(spec.name.to_owned(), kept);
        Ok(())
    }

    async fn remove(&self, name: &str) -> Result<(), SchedulerError> {
        self.failure()?;
        self.lock().remove(name);
        Ok(())
    }
}
