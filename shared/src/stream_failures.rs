//! Stream records that can never be processed. A stream consumer parks each on its
//! failure queue (the one its event source mapping reports exhausted batches to),
//! with the reason, and carries on with the rest of the batch: one tenant's
//! poison record never holds up the shard for the others. Only the record's
//! identity travels (keys, sequence number, tenant, event id), never its image:
//! events carry shoppers' data.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_lambda_events::event::dynamodb::EventRecord;
use aws_sdk_sqs::error::DisplayErrorContext;
use serde::Serialize;

use crate::tenant::TenantId;

/// The environment variable naming a consumer's failure queue.
pub const FAILURE_QUEUE_URL: &str = "FAILURE_QUEUE_URL";

/// The batch item failure that has Lambda retry the batch from `record` on.
pub fn retry_from(record: &EventRecord) -> Vec<String> {
    record.change.sequence_number.clone().into_iter().collect()
}

/// What an operator finds on the failure queue.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ParkedRecord<'a> {
    function: &'a str,
    reason: String,
    event_source_arn: Option<&'a str>,
    sequence_number: Option<&'a str>,
    keys: serde_json::Value,
    tenant: Option<&'a str>,
    event_id: Option<&'a str>,
}

/// Where a stream consumer parks what it can never process.
pub trait Parking: Send + Sync {
    /// Parks `record` (of `subject`'s tenant and event, when known) with `reason`.
    /// False when it could not be parked: the caller must then have the record
    /// retried rather than lose it.
    fn park(
        &self,
        record: &EventRecord,
        subject: Option<(&TenantId, &str)>,
        reason: &str,
    ) -> impl Future<Output = bool> + Send;
}

/// A record parked in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parked {
    pub tenant: Option<String>,
    pub id: Option<String>,
    pub reason: String,
}

/// Parked records in memory, for unit tests.
#[derive(Default)]
pub struct ParkedInMemory {
    parked: Mutex<Vec<Parked>>,
    /// Refuse to park, as an unreachable queue would.
    pub refuse: AtomicBool,
}

impl ParkedInMemory {
    pub fn parked(&self) -> Vec<Parked> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Parked>> {
        self.parked.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Parking for ParkedInMemory {
    async fn park(&self, _: &EventRecord, subject: Option<(&TenantId, &str)>, reason: &str) -> bool {
        if self.refuse.load(Ordering::Relaxed) {
            return false;
        }
        let (tenant, id) = subject.map(|(tenant, id)| (tenant.to_string(), id.to_owned())).unzip();
        self.lock().push(Parked {
            tenant,
            id,
            reason: reason.to_owned(),
        });
        true
    }
}

pub struct FailureQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
    function: &'static str,
}

impl FailureQueue {
    pub fn new(sqs: aws_sdk_sqs::Client, url: impl Into<String>, function: &'static str) -> Self {
        Self {
            sqs,
            url: url.into(),
            function,
        }
    }
}

impl Parking for FailureQueue {
    async fn park(&self, record: &EventRecord, subject: Option<(&TenantId, &str)>, reason: &str) -> bool {
        let parked = ParkedRecord {
            function: self.function,
            reason: reason.chars().take(1000).collect(),
            event_source_arn: record.event_source_arn.as_deref(),
            sequence_number: record.change.sequence_number.as_deref(),
            keys: serde_json::to_value(&record.change.keys).unwrap_or_default(),
            tenant: subject.map(|(tenant, _)| tenant.as_str()),
            event_id: subject.map(|(_, id)| id),
        };
        let body = serde_json::to_string(&parked).unwrap_or_default();
        tracing::error!(
            function = self.function,
            tenant = parked.tenant,
            event_id = parked.event_id,
            sequence_number = parked.sequence_number,
            reason = %parked.reason,
            "record can never be processed; parked on the failure queue"
        );
        match self
            .sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
        {
            Ok(_) => true,
            Err(err) => {
                tracing::error!(error = %DisplayErrorContext(err), "could not park the record; it will be retried");
                false
            }
        }
    }
}
