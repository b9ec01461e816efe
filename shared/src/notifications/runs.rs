//! Each invocation of a job is a run, stored beside the job (`sk =
//! RUN#<job>#<started at>#<execution id>`, so a job's runs list newest first).
//! A claim item (`sk = CLAIM#<job>#<execution id>`) is written with it in one
//! transaction, on the condition that it does not exist: a second invocation
//! with the same execution id finds the run claimed and sends nothing.
//!
//! A claim is leased for longer than the function may run. An invocation that
//! died mid-run (a timeout) leaves its claim RUNNING; once the lease is over,
//! Lambda's retry of the same execution takes the claim over, marks the dead
//! attempt's run FAILED, and carries on after the last shopper it had sent to
//! (`sent_through`, recorded after each SendGrid request).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::rfc3339_millis;
use crate::tenant::TenantId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    Running,
    /// Every e-mail accepted by SendGrid (or none to send).
    Succeeded,
    /// Some e-mails failed; the others went out.
    Partial,
    /// Nothing could be sent.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// Scheduler's execution id (or a generated one for a run started by hand).
    pub run_id: String,
    pub job_id: String,
    #[serde(with = "rfc3339_millis")]
    pub scheduled_time: DateTime<Utc>,
    #[serde(with = "rfc3339_millis")]
    pub started_at: DateTime<Utc>,
    #[serde(default, with = "rfc3339_millis::option")]
    pub finished_at: Option<DateTime<Utc>>,
    pub status: RunStatus,
    /// Shoppers whose wishlists were looked at.
    pub shoppers: u64,
    /// E-mails SendGrid accepted, and the items they list.
    pub emails: u64,
    pub items: u64,
    /// E-mails that could not be sent.
    pub failures: u64,
    /// The first few errors, for whoever looks at the run.
    pub errors: Vec<String>,
    pub duration_ms: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("run store: {0}")]
pub struct RunStoreError(String);

fn backend(err: impl std::error::Error) -> RunStoreError {
    RunStoreError(DisplayErrorContext(err).to_string())
}

const CLAIM_RUNNING: &str = "RUNNING";
const CLAIM_FINISHED: &str = "FINISHED";

fn run_key(run: &Run) -> String {
    format!(
        "RUN#{}#{}#{}",
        run.job_id,
        rfc3339_millis::format(&run.started_at),
        run.run_id
    )
}

#[derive(Serialize, Deserialize)]
struct RunItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    run: Run,
}

/// Longer than notification-job may run (its timeout is 300 s): a claim this old
/// and still RUNNING belongs to an invocation that is gone. Lambda retries a
/// failed asynchronous invocation a minute or more later, after it.
pub const RUN_LEASE: Duration = Duration::from_secs(310);

/// What claiming a run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The run is this invocation's. After an interrupted attempt of the same
    /// execution, the last shopper that attempt had sent to.
    Started { sent_through: Option<String> },
    /// The execution ran (or is running) elsewhere.
    Taken,
}

pub struct RunStore {
    client: Client,
    table: String,
    lease: Duration,
}

impl RunStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            lease: RUN_LEASE,
        }
    }

    /// The same store with another lease (tests: zero, to stand for a dead attempt).
    #[must_use]
    pub fn with_lease(self, lease: Duration) -> Self {
        Self { lease, ..self }
    }

    fn item(tenant: &TenantId, run: &Run) -> RunItem {
        RunItem {
            pk: format!("T#{tenant}"),
            sk: run_key(run),
            run: run.clone(),
        }
    }

    fn claim_key(&self, tenant: &TenantId, run: &Run) -> [(&'static str, AttributeValue); 2] {
        [
            ("pk", AttributeValue::S(format!("T#{tenant}"))),
            ("sk", AttributeValue::S(format!("CLAIM#{}#{}", run.job_id, run.run_id))),
        ]
    }

    fn put_run(&self, tenant: &TenantId, run: &Run) -> Result<TransactWriteItem, RunStoreError> {
        let item = serde_dynamo::to_item(Self::item(tenant, run)).map_err(|e| RunStoreError(e.to_string()))?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|e| RunStoreError(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Stores `run` as this invocation's unless its execution id is claimed by a
    /// live or finished attempt.
    pub async fn claim(&self, tenant: &TenantId, run: &Run) -> Result<Claim, RunStoreError> {
        let lease_seconds = i64::try_from(self.lease.as_secs()).unwrap_or(i64::MAX);
        let lease_until = AttributeValue::N(run.started_at.timestamp().saturating_add(lease_seconds).to_string());
        let mut claim = Put::builder()
            .table_name(&self.table)
            .item("status", AttributeValue::S(CLAIM_RUNNING.into()))
            .item("lease_until", lease_until.clone())
            .item("run_sk", AttributeValue::S(run_key(run)))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (name, value) in self.claim_key(tenant, run) {
            claim = claim.item(name, value);
        }
        let claim = claim.build().map_err(|e| RunStoreError(e.to_string()))?;
        let items = vec![
            TransactWriteItem::builder().put(claim).build(),
            self.put_run(tenant, run)?,
        ];
        let previous = match self.transact(items).await? {
            None => return Ok(Claim::Started { sent_through: None }),
            Some(previous) => previous,
        };
        let text = |name: &str| previous.get(name).and_then(|v| v.as_s().ok()).cloned();
        let lease = previous.get("lease_until").and_then(|v| v.as_n().ok()).cloned();
        let expired = lease
            .as_deref()
            .and_then(|n| n.parse::<i64>().ok())
            .is_some_and(|until| until <= run.started_at.timestamp());
        let (Some(old_run), Some(old_lease), true) = (
            text("run_sk"),
            lease,
            expired && text("status").as_deref() == Some(CLAIM_RUNNING),
        ) else {
            return Ok(Claim::Taken);
        };
        // Take over the dead attempt's claim (conditional on its lease, so only one
        // retry can), record this attempt, and close the dead attempt's run.
        let mut take_over = Update::builder()
            .table_name(&self.table)
            .update_expression("SET lease_until = :lease, run_sk = :run")
            .condition_expression("#status = :running AND lease_until = :old")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":lease", lease_until)
            .expression_attribute_values(":run", AttributeValue::S(run_key(run)))
            .expression_attribute_values(":running", AttributeValue::S(CLAIM_RUNNING.into()))
            .expression_attribute_values(":old", AttributeValue::N(old_lease));
        for (name, value) in self.claim_key(tenant, run) {
            take_over = take_over.key(name, value);
        }
        let close_dead = Update::builder()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("T#{tenant}")))
            .key("sk", AttributeValue::S(old_run))
            .update_expression("SET #status = :failed, errors = list_append(errors, :why)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":failed", AttributeValue::S("FAILED".into()))
            .expression_attribute_values(
                ":why",
                AttributeValue::L(vec![AttributeValue::S(
                    "the invocation ended before the run finished (timeout?); a retry carried on".into(),
                )]),
            );
        let items = vec![
            TransactWriteItem::builder()
                .update(take_over.build().map_err(|e| RunStoreError(e.to_string()))?)
                .build(),
            self.put_run(tenant, run)?,
            TransactWriteItem::builder()
                .update(close_dead.build().map_err(|e| RunStoreError(e.to_string()))?)
                .build(),
        ];
        Ok(match self.transact(items).await? {
            None => Claim::Started {
                sent_through: text("sent_through"),
            },
            Some(_) => Claim::Taken,
        })
    }

    /// Runs `items`; `Some(the item that failed a condition)` when cancelled for it.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Option<HashMap<String, AttributeValue>>, RunStoreError> {
        let written = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match written {
            Ok(_) => Ok(None),
            Err(SdkError::ServiceError(e)) => match e.err() {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                    match cancelled
                        .cancellation_reasons()
                        .iter()
                        .find(|r| r.code() == Some("ConditionalCheckFailed"))
                    {
                        Some(reason) => Ok(Some(reason.item().cloned().unwrap_or_default())),
                        None => Err(backend(SdkError::ServiceError(e))),
                    }
                }
                _ => Err(backend(SdkError::ServiceError(e))),
            },
            Err(other) => Err(backend(other)),
        }
    }

    /// Records that the run has sent to every shopper up to `shopper` (in id
    /// order), so a retry after this attempt dies does not send to them again.
    pub async fn sent_through(&self, tenant: &TenantId, run: &Run, shopper: &str) -> Result<(), RunStoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .update_expression("SET sent_through = :shopper")
            .expression_attribute_values(":shopper", AttributeValue::S(shopper.to_owned()));
        for (name, value) in self.claim_key(tenant, run) {
            update = update.key(name, value);
        }
        update.send().await.map(|_| ()).map_err(backend)
    }

    /// Stores the finished run over its record and closes its claim for good.
    pub async fn finish(&self, tenant: &TenantId, run: &Run) -> Result<(), RunStoreError> {
        let mut close = Update::builder()
            .table_name(&self.table)
            .update_expression("SET #status = :finished")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":finished", AttributeValue::S(CLAIM_FINISHED.into()));
        for (name, value) in self.claim_key(tenant, run) {
            close = close.key(name, value);
        }
        let items = vec![
            self.put_run(tenant, run)?,
            TransactWriteItem::builder()
                .update(close.build().map_err(|e| RunStoreError(e.to_string()))?)
                .build(),
        ];
        match self.transact(items).await? {
            None => Ok(()),
            Some(_) => Err(RunStoreError("the run's claim is gone".into())),
        }
    }

    /// The job's latest `limit` runs, newest first.
    pub async fn latest(&self, tenant: &TenantId, job_id: &str, limit: i32) -> Result<Vec<Run>, RunStoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :runs)")
            .expression_attribute_values(":pk", AttributeValue::S(format!("T#{tenant}")))
            .expression_attribute_values(":runs", AttributeValue::S(format!("RUN#{job_id}#")))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(backend)?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, RunItem>(item)
                    .map(|i| i.run)
                    .map_err(|e| RunStoreError(e.to_string()))
            })
            .collect()
    }
}
