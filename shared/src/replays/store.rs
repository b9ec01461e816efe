//! Replays in the deliveries table, under their subscription's partition:
//! `REPLAY#<id>` (the replay and its counts) and `REPLAYING` (the one running,
//! so a second replay of the subscription is refused while it runs). A tenant
//! runs at most `MaxConcurrentReplaysPerTenant` at once: each running replay
//! holds one of the tenant's slots (`pk = T#<tenant>#REPLAY_SLOTS`,
//! `sk = SLOT#<n>`, naming the replay and its subscription), taken in the
//! transaction that starts it and given back, with the lock, once it has ended.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Duration, Utc};

use super::model::{Replay, ReplayStatus, ReplayTask};
use super::stall::STALLED_AFTER;
use crate::fanout::subscription_partition as partition;
use crate::storage::{ErrorKind, StorageError, Written, transact};
use crate::tenant::TenantId;
use crate::util::rfc3339_millis;

/// How long a replay and its counts stay readable after it started.
const KEPT: Duration = Duration::days(30);
/// A replay not finished after this no longer holds off another (its worker
/// died for good: its task is on the replay dead-letter queue).
const LOCK: Duration = Duration::hours(24);

const LOCK_KEY: &str = "REPLAYING";

/// How a start went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    Running,
    /// Another replay of the subscription runs.
    SubscriptionBusy,
    /// The tenant runs as many replays as it may.
    TenantAtCap,
}

fn slots_partition(tenant: &TenantId) -> AttributeValue {
    AttributeValue::S(format!("T#{tenant}#REPLAY_SLOTS"))
}

fn slot_key(slot: u32) -> AttributeValue {
    AttributeValue::S(format!("SLOT#{slot}"))
}

/// A step's outcome, as recorded.
pub struct StepDone<'a> {
    /// Events matched, sent and failed.
    pub counts: (u64, u64, u64),
    /// The next step's task; none after the last.
    pub next: Option<&'a ReplayTask>,
    /// The replay-queue message whose task it was.
    pub by: Option<&'a str>,
    pub at: DateTime<Utc>,
}

pub struct Replays {
    client: Client,
    table: String,
}

fn replay_key(replay_id: &str) -> AttributeValue {
    AttributeValue::S(format!("REPLAY#{replay_id}"))
}

fn unbuildable(e: aws_sdk_dynamodb::error::BuildError) -> StorageError {
    StorageError::caused(ErrorKind::Other, "a replay request does not build", e)
}

fn status(status: ReplayStatus) -> AttributeValue {
    AttributeValue::S(
        serde_json::to_value(status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
    )
}

impl Replays {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Records `replay` as its subscription's running replay, in the first of
    /// the tenant's `slots` that is free (noted in `replay.slot`); or says why not.
    pub async fn start(&self, tenant: &TenantId, replay: &mut Replay, slots: u32) -> Result<Started, StorageError> {
        for slot in 0..slots {
            replay.slot = Some(slot);
            let items = vec![
                self.lock(tenant, replay)?,
                self.record(tenant, replay)?,
                self.take_slot(tenant, replay, slot)?,
            ];
            let written = transact(
                &self.client,
                items,
                "TransactWriteItems on the deliveries table (replay)",
            )
            .await?;
            match written.first_refused() {
                None => return Ok(Started::Running),
                Some((0, _)) => {
                    replay.slot = None;
                    return Ok(Started::SubscriptionBusy);
                }
                // That slot is held: the next.
                Some(_) => {}
            }
        }
        replay.slot = None;
        Ok(Started::TenantAtCap)
    }

    /// The subscription's lock, taken for `replay` (see `hold`).
    fn lock(&self, tenant: &TenantId, replay: &Replay) -> Result<TransactWriteItem, StorageError> {
        self.hold(
            (
                partition(tenant, &replay.subscription_id),
                AttributeValue::S(LOCK_KEY.into()),
            ),
            replay,
        )
    }

    /// Item `key`, written for `replay` until its lock's 24 hours are over, when
    /// free or held by a replay whose 24 hours are over (it died for good).
    /// Names the replay and its subscription, so a slot's holder can be found.
    fn hold(
        &self,
        (pk, sk): (AttributeValue, AttributeValue),
        replay: &Replay,
    ) -> Result<TransactWriteItem, StorageError> {
        let now = replay.started_at;
        let until = AttributeValue::N((now + LOCK).timestamp().to_string());
        let held = Put::builder()
            .table_name(&self.table)
            .item("pk", pk)
            .item("sk", sk)
            .item("replay_id", AttributeValue::S(replay.replay_id.clone()))
            .item("subscription_id", AttributeValue::S(replay.subscription_id.clone()))
            .item("until", until.clone())
            .item("expires_at", until)
            .condition_expression("attribute_not_exists(pk) OR #until < :now")
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .build()
            .map_err(unbuildable)?;
        Ok(TransactWriteItem::builder().put(held).build())
    }

    fn record(&self, tenant: &TenantId, replay: &Replay) -> Result<TransactWriteItem, StorageError> {
        let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(replay)
            .map_err(|e| StorageError::caused(ErrorKind::Other, "a replay does not encode", e))?;
        item.insert("pk".into(), partition(tenant, &replay.subscription_id));
        item.insert("sk".into(), replay_key(&replay.replay_id));
        item.insert(
            "expires_at".into(),
            AttributeValue::N((replay.started_at + KEPT).timestamp().to_string()),
        );
        let record = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(unbuildable)?;
        Ok(TransactWriteItem::builder().put(record).build())
    }

    /// Slot `slot` of the tenant, taken for `replay` (see `hold`).
    fn take_slot(&self, tenant: &TenantId, replay: &Replay, slot: u32) -> Result<TransactWriteItem, StorageError> {
        self.hold((slots_partition(tenant), slot_key(slot)), replay)
    }

    /// The replay, as last written.
    pub async fn get(
        &self,
        tenant: &TenantId,
        subscription_id: &str,
        replay_id: &str,
    ) -> Result<Option<Replay>, StorageError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", partition(tenant, subscription_id))
            .key("sk", replay_key(replay_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StorageError::sdk("GetItem on the deliveries table (replay)", e))?
            .item;
        item.map(|item| {
            serde_dynamo::from_item(item)
                .map_err(|e| StorageError::caused(ErrorKind::Other, "a replay does not decode", e))
        })
        .transpose()
    }

    /// The id of the subscription's running replay, if one holds it off.
    pub async fn running(&self, tenant: &TenantId, subscription_id: &str) -> Result<Option<String>, StorageError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", partition(tenant, subscription_id))
            .key("sk", AttributeValue::S(LOCK_KEY.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StorageError::sdk("GetItem on the deliveries table (replay lock)", e))?
            .item;
        Ok(item
            .and_then(|mut item| item.remove("replay_id"))
            .and_then(|id| id.as_s().ok().cloned()))
    }

    /// Counts step `step` of a running replay and moves it to the next (or ends
    /// it, after the last), in one write; false if that step was counted already
    /// (its task was delivered twice) or the replay ended.
    pub async fn advance(&self, tenant: &TenantId, replay: &Replay, done: StepDone<'_>) -> Result<bool, StorageError> {
        let (matched, sent, failed) = done.counts;
        let n = |v: u64| AttributeValue::N(v.to_string());
        let mut set = vec!["step = :next", "advancedAt = :at"];
        let mut remove = Vec::new();
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", partition(tenant, &replay.subscription_id))
            .key("sk", replay_key(&replay.replay_id))
            .condition_expression("step = :step AND #status = :running")
            .expression_attribute_names("#status", "status")
            // CURSOR and SHARD are among DynamoDB's reserved words.
            .expression_attribute_names("#cursor", "cursor")
            .expression_attribute_values(":matched", n(matched))
            .expression_attribute_values(":sent", n(sent))
            .expression_attribute_values(":failed", n(failed))
            .expression_attribute_values(":next", n(replay.step + 1))
            .expression_attribute_values(":step", n(replay.step))
            .expression_attribute_values(":running", status(ReplayStatus::Running))
            .expression_attribute_values(":at", AttributeValue::S(rfc3339_millis::format(&done.at)));
        match done.next {
            Some(next) => {
                set.push("#shard = :shard");
                update = update
                    .expression_attribute_names("#shard", "shard")
                    .expression_attribute_values(":shard", n(u64::from(next.shard)));
                match &next.cursor {
                    Some(cursor) => {
                        set.push("#cursor = :cursor");
                        update = update.expression_attribute_values(":cursor", AttributeValue::S(cursor.clone()));
                    }
                    None => remove.push("#cursor"),
                }
            }
            None => {
                set.extend(["#status = :succeeded", "finishedAt = :at"]);
                remove.push("#cursor");
                update = update.expression_attribute_values(":succeeded", status(ReplayStatus::Succeeded));
            }
        }
        match done.by {
            Some(by) => {
                set.push("advancedBy = :by");
                update = update.expression_attribute_values(":by", AttributeValue::S(by.to_owned()));
            }
            None => remove.push("advancedBy"),
        }
        let mut expression = format!(
            "ADD matched :matched, sent :sent, failed :failed SET {}",
            set.join(", ")
        );
        if !remove.is_empty() {
            expression = format!("{expression} REMOVE {}", remove.join(", "));
        }
        let update = update.update_expression(expression).build().map_err(unbuildable)?;
        let items = vec![TransactWriteItem::builder().update(update).build()];
        let written = transact(
            &self.client,
            items,
            "TransactWriteItems on the deliveries table (replay step)",
        )
        .await?;
        let committed = matches!(written, Written::Committed);
        if committed && done.next.is_none() {
            self.release(tenant, replay).await;
        }
        Ok(committed)
    }

    /// Marks a stalled replay (stall.rs) resumed at `now`, so its step may be
    /// queued again; false if it moved meanwhile or another caller resumed it.
    pub async fn resume(&self, tenant: &TenantId, replay: &Replay, now: DateTime<Utc>) -> Result<bool, StorageError> {
        let time = |at: DateTime<Utc>| AttributeValue::S(rfc3339_millis::format(&at));
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", partition(tenant, &replay.subscription_id))
            .key("sk", replay_key(&replay.replay_id))
            .update_expression("SET resumedAt = :now")
            .condition_expression(
                "#status = :running AND step = :step AND startedAt < :quiet \
                 AND (attribute_not_exists(advancedAt) OR advancedAt < :quiet) \
                 AND (attribute_not_exists(resumedAt) OR resumedAt < :quiet)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":running", status(ReplayStatus::Running))
            .expression_attribute_values(":step", AttributeValue::N(replay.step.to_string()))
            .expression_attribute_values(":quiet", time(now - STALLED_AFTER))
            .expression_attribute_values(":now", time(now))
            .send()
            .await;
        match updated {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(false),
            Err(e) => Err(StorageError::sdk(
                "UpdateItem on the deliveries table (replay resume)",
                e,
            )),
        }
    }

    /// Lets the subscription be replayed again and gives the tenant's slot
    /// back, once `replay` has ended. Not in the write that ends it: a replay
    /// running past its lock's and slot's 24 hours may find them taken by
    /// another, and must still end. Best effort: a lock or slot left held is let
    /// go by the next start that meets it (`running_conflict`, `free_ended`), or
    /// taken again after its 24 hours.
    pub async fn release(&self, tenant: &TenantId, replay: &Replay) {
        let lock = (
            partition(tenant, &replay.subscription_id),
            AttributeValue::S(LOCK_KEY.into()),
        );
        self.let_go(
            lock,
            replay,
            "replay lock not freed; the next replay of the subscription frees it",
        )
        .await;
        if let Some(slot) = replay.slot {
            let slot = (slots_partition(tenant), slot_key(slot));
            self.let_go(
                slot,
                replay,
                "replay slot not freed; the next start at the tenant's cap frees it",
            )
            .await;
        }
    }

    /// Deletes item `key` if `replay` still holds it; `unfreed` is logged on a failure.
    async fn let_go(&self, (pk, sk): (AttributeValue, AttributeValue), replay: &Replay, unfreed: &str) {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", pk)
            .key("sk", sk)
            .condition_expression("replay_id = :id")
            .expression_attribute_values(":id", AttributeValue::S(replay.replay_id.clone()))
            .send()
            .await;
        if let Err(err) = deleted
            && !matches!(&err, SdkError::ServiceError(e) if e.err().is_conditional_check_failed_exception())
        {
            tracing::warn!(replay_id = %replay.replay_id, error = %DisplayErrorContext(&err), "{unfreed}");
        }
    }

    /// The replays holding the tenant's slots: `(subscription id, replay id)`.
    pub async fn slot_holders(&self, tenant: &TenantId) -> Result<Vec<(String, String)>, StorageError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", slots_partition(tenant))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StorageError::sdk("Query on the deliveries table (replay slots)", e))?;
        let text = |item: &HashMap<String, AttributeValue>, name: &str| item.get(name)?.as_s().ok().cloned();
        Ok(output
            .items()
            .iter()
            .filter_map(|item| Some((text(item, "subscription_id")?, text(item, "replay_id")?)))
            .collect())
    }

    /// Lets go of what `replay` holds if it has ended (its own release did not
    /// happen); whether it had ended.
    pub async fn free_ended(&self, tenant: &TenantId, replay: &Replay) -> bool {
        if replay.status == ReplayStatus::Running {
            return false;
        }
        self.release(tenant, replay).await;
        true
    }

    /// Ends a running replay with `outcome` (and why, when it stopped early) and
    /// lets the subscription be replayed again.
    pub async fn finish(
        &self,
        tenant: &TenantId,
        replay: &Replay,
        outcome: ReplayStatus,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", partition(tenant, &replay.subscription_id))
            .key("sk", replay_key(&replay.replay_id))
            .update_expression(if reason.is_some() {
                "SET #status = :outcome, finishedAt = :at, reason = :reason"
            } else {
                "SET #status = :outcome, finishedAt = :at"
            })
            .condition_expression("#status = :running")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":outcome", status(outcome))
            .expression_attribute_values(":running", status(ReplayStatus::Running))
            .expression_attribute_values(":at", AttributeValue::S(rfc3339_millis::format(&at)));
        if let Some(reason) = reason {
            update = update.expression_attribute_values(":reason", AttributeValue::S(reason.to_owned()));
        }
        let items = vec![
            TransactWriteItem::builder()
                .update(update.build().map_err(unbuildable)?)
                .build(),
        ];
        // Refused: it had ended already (a task delivered twice).
        let written = transact(
            &self.client,
            items,
            "TransactWriteItems on the deliveries table (replay end)",
        )
        .await?;
        if matches!(written, Written::Committed) {
            self.release(tenant, replay).await;
        }
        Ok(())
    }
}
