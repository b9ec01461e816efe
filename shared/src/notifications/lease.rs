//! An execution runs once. Its first attempt writes a lease item (`sk =
//! CLAIM#<job>#<execution id>`: the prefix predates the name and stays, as stored
//! items use it) together with its run record, on the condition
//! that the lease does not exist. After each SendGrid request the attempt keeps
//! its progress on the lease (the last shopper it reached, in id order, its
//! counts, the shoppers to try again next run).
//!
//! A lease lasts longer than the function may run (`RUN_LEASE`). An
//! attempt that died mid-run (a timeout) leaves its lease RUNNING; once the lease
//! is over, Lambda's retry of the same execution takes the lease over, closes the
//! dead attempt's run as FAILED, and carries on from the progress kept. The run
//! record, the lease's end and the job's last run are written in one transaction.
//!
//! One execution of a job runs at a time: with its lease, an execution takes the
//! job's lock (`sk = LOCK#<job>`: the execution holding it and until when). Another
//! execution finds the job busy until the holder finishes (it releases the lock)
//! or its lease is over; so two overlapping executions never mail the same
//! shoppers.
//!
//! A tenant's runs share a few slots (`sk = RUNSLOT#<n>`, `n` below
//! `MaxConcurrentRunsPerTenant`), so one tenant's jobs cannot take every
//! concurrent run the stack has: with its lease and lock, an execution takes a
//! free slot (or one whose holder's lease is over, or its own), trying them from
//! its job's own, and frees it when it finishes. With none free, the tenant is
//! busy: the invocation fails, Lambda tries it again later, and the job's next
//! run sends whatever it could not.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::port::Runs;
use super::runs::{Run, RunItem, RunStore, run_key};
use crate::jobs::{RetryOverflow, RetryShoppers};
use crate::storage::schema::JOB_RECORDS;
use crate::storage::{ErrorKind, StorageError, partition, record_key, transact};
use crate::tenant::TenantId;
use crate::util::rfc3339_millis;

const RUNNING: &str = "RUNNING";
const FINISHED: &str = "FINISHED";

/// What an execution's attempts have done so far, kept on its lease.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The last shopper (in id order) whose request was made.
    pub sent_through: Option<String>,
    pub emails: u64,
    pub items: u64,
    pub failures: u64,
    /// Shoppers SendGrid could not take, by the time their changes count from
    /// (the first `MAX_INLINE_RETRY` of them; the rest are spilled).
    pub retry: Vec<RetryShoppers>,
    /// Items the shoppers beyond those were spilled into, and how many shoppers.
    #[serde(default)]
    pub spilled_chunks: u32,
    #[serde(default)]
    pub spilled_shoppers: u64,
}

/// The execution as this invocation finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// This invocation runs it: from the start, or on from a dead attempt.
    Started(Resumed),
    /// It finished: nothing to do.
    Finished,
    /// Another attempt runs it now, or died less than a lease ago: try later.
    Busy,
    /// The tenant's other jobs hold every run slot: try later.
    TenantBusy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resumed {
    /// When the execution's first attempt started: what its changes are compared up to.
    pub first_started_at: DateTime<Utc>,
    pub progress: Progress,
}

/// What a finished run sets on its job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobUpdate {
    pub next_run_at: Option<DateTime<Utc>>,
    /// `None` leaves the job's last run and retry shoppers as they are (a run
    /// that sent nothing: the next one tries the same changes again).
    pub ran: Option<Ran>,
}

/// A run that sent something: the job's changes count from `at` next time,
/// and these shoppers are carried to the next run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub at: DateTime<Utc>,
    pub retry: Vec<RetryShoppers>,
    pub overflow: Option<RetryOverflow>,
}

fn encode<T: Serialize>(value: &T) -> Result<AttributeValue, StorageError> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| StorageError::caused(ErrorKind::Other, "a run does not encode", e))
}

fn built<T>(result: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, StorageError> {
    result.map_err(|e| StorageError::caused(ErrorKind::Other, "a run request does not build", e))
}

/// Another attempt holds the run: this one must stop writing to it.
pub(super) fn taken_over() -> StorageError {
    StorageError::new(ErrorKind::Conflict, "another attempt took the run over", None)
}

const TRANSACTION: &str = "TransactWriteItems on the jobs table (runs)";

fn slot_sort_key(slot: u32) -> AttributeValue {
    AttributeValue::S(format!("RUNSLOT#{slot}"))
}

/// The tenant's slots in the order a run of `job_id` tries them: from the job's
/// own (a stable hash), so the tenant's jobs spread over its slots.
pub(super) fn slot_order(job_id: &str, slots: u32) -> impl Iterator<Item = u32> {
    let slots = slots.max(1);
    let own = job_id
        .bytes()
        .fold(0u32, |hash, byte| hash.wrapping_mul(31).wrapping_add(u32::from(byte)))
        % slots;
    (0..slots).map(move |n| (own + n) % slots)
}

/// What a write with a run slot came to.
enum Slotted {
    Written,
    /// Item `index` of the write refused it (the slot was free); the item as it was.
    Refused(usize, HashMap<String, AttributeValue>),
    /// Every slot of the tenant is held.
    NoSlot,
}

impl RunStore {
    fn partition(tenant: &TenantId) -> AttributeValue {
        AttributeValue::S(partition(tenant))
    }

    fn lease_sort_key(run: &Run) -> AttributeValue {
        AttributeValue::S(format!("CLAIM#{}#{}", run.job_id, run.run_id))
    }

    fn lock_sort_key(run: &Run) -> AttributeValue {
        AttributeValue::S(format!("LOCK#{}", run.job_id))
    }

    /// The job's lock for `run`'s execution until `until`: taken when free, when
    /// its holder's lease is over, or when this execution holds it already.
    fn lock(&self, tenant: &TenantId, run: &Run, until: &AttributeValue) -> Result<TransactWriteItem, StorageError> {
        self.hold(tenant, run, Self::lock_sort_key(run), until)
    }

    /// The tenant's run slot `slot` for `run`'s execution until `until`, on the
    /// same terms as the job's lock.
    fn slot(
        &self,
        tenant: &TenantId,
        run: &Run,
        slot: u32,
        until: &AttributeValue,
    ) -> Result<TransactWriteItem, StorageError> {
        self.hold(tenant, run, slot_sort_key(slot), until)
    }

    /// Item `sk` held by `run`'s execution (and naming its job) until `until`:
    /// taken when free, when its holder's lease is over, or when this execution
    /// holds it already.
    fn hold(
        &self,
        tenant: &TenantId,
        run: &Run,
        sk: AttributeValue,
        until: &AttributeValue,
    ) -> Result<TransactWriteItem, StorageError> {
        let put = Put::builder()
            .table_name(&self.table)
            .item("pk", Self::partition(tenant))
            .item("sk", sk)
            .item("holder", AttributeValue::S(run.run_id.clone()))
            .item("job_id", AttributeValue::S(run.job_id.clone()))
            .item("lock_until", until.clone())
            .condition_expression("attribute_not_exists(pk) OR lock_until <= :now OR holder = :execution")
            .expression_attribute_values(":now", AttributeValue::N(run.started_at.timestamp().to_string()))
            .expression_attribute_values(":execution", AttributeValue::S(run.run_id.clone()));
        Ok(TransactWriteItem::builder().put(built(put.build())?).build())
    }

    /// Writes `items` with one of the tenant's run slots, trying each from the
    /// job's own; remembers the slot taken, to free it when the run ends.
    async fn transact_in_slot(
        &self,
        tenant: &TenantId,
        run: &Run,
        until: &AttributeValue,
        items: Vec<TransactWriteItem>,
    ) -> Result<Slotted, StorageError> {
        let slot_index = items.len();
        for slot in slot_order(&run.job_id, self.slots) {
            let mut with_slot = items.clone();
            with_slot.push(self.slot(tenant, run, slot, until)?);
            match transact(&self.client, with_slot, TRANSACTION).await?.first_refused() {
                None => {
                    self.held_slots_mut().insert(run.run_id.clone(), slot);
                    return Ok(Slotted::Written);
                }
                Some((index, _)) if index == slot_index => {}
                Some((index, item)) => return Ok(Slotted::Refused(index, item)),
            }
        }
        Ok(Slotted::NoSlot)
    }

    fn held_slots_mut(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.held_slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Frees the run slot `run`'s execution took in this container, if it still
    /// holds it; one not freed ends with its lease anyway.
    async fn free_slot(&self, tenant: &TenantId, run: &Run) {
        let Some(slot) = self.held_slots_mut().remove(&run.run_id) else {
            return;
        };
        self.let_go(tenant, run, slot_sort_key(slot), "run slot").await;
    }

    /// Frees the job's lock if `run`'s execution holds it; a lock held by another
    /// is left alone, and one not freed ends with its lease anyway.
    async fn unlock(&self, tenant: &TenantId, run: &Run) {
        self.let_go(tenant, run, Self::lock_sort_key(run), "job lock").await;
    }

    /// Ends now the hold of `run`'s execution on item `sk` (its job's lock or a
    /// run slot), if it still holds it; `what` names the item in the log.
    async fn let_go(&self, tenant: &TenantId, run: &Run, sk: AttributeValue, what: &str) {
        let freed = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", Self::partition(tenant))
            .key("sk", sk)
            .update_expression("SET lock_until = :free")
            .condition_expression("holder = :execution")
            .expression_attribute_values(":free", AttributeValue::N("0".into()))
            .expression_attribute_values(":execution", AttributeValue::S(run.run_id.clone()))
            .send()
            .await;
        if let Err(err) = freed
            && !matches!(&err, SdkError::ServiceError(e) if e.err().is_conditional_check_failed_exception())
        {
            tracing::warn!(job_id = %run.job_id, error = %DisplayErrorContext(&err), "{what} not freed; it ends with its lease");
        }
    }

    fn put_run(&self, tenant: &TenantId, run: &Run) -> Result<TransactWriteItem, StorageError> {
        let item = RunItem {
            pk: partition(tenant),
            sk: run_key(run),
            run: run.clone(),
        };
        let item = serde_dynamo::to_item(item)
            .map_err(|e| StorageError::caused(ErrorKind::Other, "a run does not encode", e))?;
        let put = built(Put::builder().table_name(&self.table).set_item(Some(item)).build())?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Marks the run record `dead_run` of an attempt that died FAILED, with what
    /// it did.
    async fn close_dead(&self, tenant: &TenantId, dead_run: String, progress: &Progress) -> Result<(), StorageError> {
        let number = |n: u64| AttributeValue::N(n.to_string());
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", Self::partition(tenant))
            .key("sk", AttributeValue::S(dead_run))
            .update_expression(
                "SET #status = :failed, emails = :emails, #items = :items, failures = :failures, \
                 errors = list_append(if_not_exists(errors, :none), :why)",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#items", "items")
            .expression_attribute_values(":failed", AttributeValue::S("FAILED".into()))
            .expression_attribute_values(":emails", number(progress.emails))
            .expression_attribute_values(":items", number(progress.items))
            .expression_attribute_values(":failures", number(progress.failures))
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
            .expression_attribute_values(
                ":why",
                AttributeValue::L(vec![AttributeValue::S(
                    "the invocation ended before the run finished (timeout?); a retry carried on".into(),
                )]),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| StorageError::sdk("UpdateItem on the jobs table (run)", e))
    }

    fn job_update(&self, tenant: &TenantId, run: &Run, job: &JobUpdate) -> Result<Update, StorageError> {
        let next = job.next_run_at.map_or(AttributeValue::Null(true), |t| {
            AttributeValue::S(rfc3339_millis::format(&t))
        });
        let (pk, sk) = record_key(tenant, JOB_RECORDS, &run.job_id);
        // The version moves on: a client's PUT based on the job as it was before
        // this run is refused (409) rather than undo the run's fields.
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
            .key("sk", AttributeValue::S(sk))
            .expression_attribute_values(":next", next)
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        let update = match &job.ran {
            None => update
                .condition_expression("attribute_exists(pk)")
                .update_expression("SET next_run_at = :next, version = version + :one"),
            Some(ran) => {
                // Never backwards: a late attempt of an older execution leaves a
                // newer run's time alone (its run is still recorded).
                let mut update = update
                    .condition_expression(
                        "attribute_exists(pk) AND (attribute_not_exists(last_run_at) \
                         OR attribute_type(last_run_at, :null) OR last_run_at <= :last)",
                    )
                    .expression_attribute_values(":null", AttributeValue::S("NULL".into()))
                    .expression_attribute_values(":last", AttributeValue::S(rfc3339_millis::format(&ran.at)));
                let mut set = vec!["next_run_at = :next", "last_run_at = :last", "version = version + :one"];
                let mut remove = Vec::new();
                if ran.retry.is_empty() {
                    remove.push("retry_shoppers");
                } else {
                    set.push("retry_shoppers = :retry");
                    update = update.expression_attribute_values(":retry", encode(&ran.retry)?);
                }
                match &ran.overflow {
                    None => remove.push("retry_overflow"),
                    Some(overflow) => {
                        set.push("retry_overflow = :overflow");
                        update = update.expression_attribute_values(":overflow", encode(overflow)?);
                    }
                }
                let mut expression = format!("SET {}", set.join(", "));
                if !remove.is_empty() {
                    expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
                }
                update.update_expression(expression)
            }
        };
        built(update.build())
    }
}

impl Runs for RunStore {
    /// Leases `run`'s execution to this invocation (storing `run`), unless it
    /// finished or another attempt holds a live lease on it.
    async fn lease(&self, tenant: &TenantId, run: &Run) -> Result<Lease, StorageError> {
        let lease_seconds = i64::try_from(self.lease.as_secs()).unwrap_or(i64::MAX);
        let lease_until = AttributeValue::N(run.started_at.timestamp().saturating_add(lease_seconds).to_string());
        let lease = Put::builder()
            .table_name(&self.table)
            .item("pk", Self::partition(tenant))
            .item("sk", Self::lease_sort_key(run))
            .item("status", AttributeValue::S(RUNNING.into()))
            .item("lease_until", lease_until.clone())
            .item("run_sk", AttributeValue::S(run_key(run)))
            .item(
                "first_started_at",
                AttributeValue::S(rfc3339_millis::format(&run.started_at)),
            )
            .item("progress", encode(&Progress::default())?)
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let items = vec![
            TransactWriteItem::builder().put(built(lease.build())?).build(),
            self.put_run(tenant, run)?,
            self.lock(tenant, run, &lease_until)?,
        ];
        let held = match self.transact_in_slot(tenant, run, &lease_until, items).await? {
            Slotted::Written => {
                return Ok(Lease::Started(Resumed {
                    first_started_at: run.started_at,
                    progress: Progress::default(),
                }));
            }
            Slotted::NoSlot => return Ok(Lease::TenantBusy),
            // Another execution of the job runs now.
            Slotted::Refused(2, _) => return Ok(Lease::Busy),
            Slotted::Refused(_, item) if !item.is_empty() => item,
            // DynamoDB returns the lease that failed the condition; read it if not.
            Slotted::Refused(..) => self
                .client
                .get_item()
                .table_name(&self.table)
                .key("pk", Self::partition(tenant))
                .key("sk", Self::lease_sort_key(run))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| StorageError::sdk("GetItem on the jobs table (lease)", e))?
                .item
                .unwrap_or_default(),
        };
        let text = |name: &str| held.get(name).and_then(|v| v.as_s().ok()).cloned();
        if text("status").as_deref() != Some(RUNNING) {
            return Ok(Lease::Finished);
        }
        let old_lease = held.get("lease_until").and_then(|v| v.as_n().ok()).cloned();
        let expired = old_lease
            .as_deref()
            .and_then(|n| n.parse::<i64>().ok())
            .is_some_and(|until| until <= run.started_at.timestamp());
        let (Some(old_lease), Some(dead_run), true) = (old_lease, text("run_sk"), expired) else {
            return Ok(Lease::Busy);
        };
        let progress: Progress = held
            .get("progress")
            .cloned()
            .and_then(|v| serde_dynamo::from_attribute_value(v).ok())
            .unwrap_or_default();
        let first_started_at = text("first_started_at")
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map_or(run.started_at, |t| t.with_timezone(&Utc));
        // Take the dead attempt's lease over (on its lease, so only one retry can)
        // and record this attempt.
        let take_over = Update::builder()
            .table_name(&self.table)
            .key("pk", Self::partition(tenant))
            .key("sk", Self::lease_sort_key(run))
            .update_expression("SET lease_until = :lease, run_sk = :run")
            .condition_expression("#status = :running AND lease_until = :old")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":lease", lease_until.clone())
            .expression_attribute_values(":run", AttributeValue::S(run_key(run)))
            .expression_attribute_values(":running", AttributeValue::S(RUNNING.into()))
            .expression_attribute_values(":old", AttributeValue::N(old_lease));
        let items = vec![
            TransactWriteItem::builder().update(built(take_over.build())?).build(),
            self.put_run(tenant, run)?,
            self.lock(tenant, run, &lease_until)?,
        ];
        match self.transact_in_slot(tenant, run, &lease_until, items).await? {
            Slotted::Written => {}
            Slotted::NoSlot => return Ok(Lease::TenantBusy),
            Slotted::Refused(..) => return Ok(Lease::Busy),
        }
        // Closing the dead run is for whoever reads the runs; the run goes on without it.
        if let Err(err) = self.close_dead(tenant, dead_run, &progress).await {
            tracing::warn!(job_id = %run.job_id, run_id = %run.run_id, error = %err, "could not close the dead attempt's run");
        }
        Ok(Lease::Started(Resumed {
            first_started_at,
            progress,
        }))
    }

    /// Keeps `progress` on the lease; fails if another attempt took the lease.
    async fn progress(&self, tenant: &TenantId, run: &Run, progress: &Progress) -> Result<(), StorageError> {
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", Self::partition(tenant))
            .key("sk", Self::lease_sort_key(run))
            .update_expression("SET progress = :progress")
            .condition_expression("run_sk = :mine AND #status = :running")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":progress", encode(progress)?)
            .expression_attribute_values(":mine", AttributeValue::S(run_key(run)))
            .expression_attribute_values(":running", AttributeValue::S(RUNNING.into()))
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Err(taken_over()),
            Err(e) => Err(StorageError::sdk("UpdateItem on the jobs table (lease)", e)),
        }
    }

    /// Stores the finished run, ends its lease and updates its job, all at once
    /// (so a failure leaves the run to be retried whole, never half recorded).
    async fn finish(&self, tenant: &TenantId, run: &Run, job: &JobUpdate) -> Result<bool, StorageError> {
        let end_lease = Update::builder()
            .table_name(&self.table)
            .key("pk", Self::partition(tenant))
            .key("sk", Self::lease_sort_key(run))
            .update_expression("SET #status = :finished")
            .condition_expression("run_sk = :mine")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":finished", AttributeValue::S(FINISHED.into()))
            .expression_attribute_values(":mine", AttributeValue::S(run_key(run)));
        let mut items = vec![
            self.put_run(tenant, run)?,
            TransactWriteItem::builder().update(built(end_lease.build())?).build(),
        ];
        items.push(
            TransactWriteItem::builder()
                .update(self.job_update(tenant, run, job)?)
                .build(),
        );
        let finished = match transact(&self.client, items.clone(), TRANSACTION)
            .await?
            .first_refused()
        {
            None => Ok(true),
            // The job was deleted meanwhile, or a later run moved it on: the run is
            // still recorded.
            Some((2, _)) => {
                items.pop();
                match transact(&self.client, items, TRANSACTION).await?.first_refused() {
                    None => Ok(false),
                    Some(_) => Err(taken_over()),
                }
            }
            Some(_) => Err(taken_over()),
        };
        if finished.is_ok() {
            self.unlock(tenant, run).await;
            self.free_slot(tenant, run).await;
        } else {
            // Another attempt holds the run (and the slot, if still live).
            self.held_slots_mut().remove(&run.run_id);
        }
        finished
    }

    async fn spill(
        &self,
        tenant: &TenantId,
        run: &Run,
        seq: u32,
        shoppers: &[RetryShoppers],
    ) -> Result<(), StorageError> {
        self.put_spill(tenant, run, seq, shoppers).await
    }

    async fn spilled(
        &self,
        tenant: &TenantId,
        job_id: &str,
        overflow: &RetryOverflow,
    ) -> Result<Vec<RetryShoppers>, StorageError> {
        self.get_spilled(tenant, job_id, overflow).await
    }

    async fn forget_spilled(
        &self,
        tenant: &TenantId,
        job_id: &str,
        overflow: &RetryOverflow,
    ) -> Result<(), StorageError> {
        self.delete_spilled(tenant, job_id, overflow).await
    }

    /// The job's latest `limit` runs, newest first.
    async fn latest(&self, tenant: &TenantId, job_id: &str, limit: i32) -> Result<Vec<Run>, StorageError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :runs)")
            .expression_attribute_values(":pk", AttributeValue::S(partition(tenant)))
            .expression_attribute_values(":runs", AttributeValue::S(format!("RUN#{job_id}#")))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(|e| StorageError::sdk("Query on the jobs table (runs)", e))?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, RunItem>(item)
                    .map(|i| i.run)
                    .map_err(|e| StorageError::caused(ErrorKind::Other, "a stored run does not decode", e))
            })
            .collect()
    }
}
