//! A replay and the steps it is done in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::events::{Event, Operation};
use crate::tenant::TenantId;
use crate::util::rfc3339_millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReplayStatus {
    Running,
    Succeeded,
    /// Ended early: the subscription was deactivated or deleted meanwhile.
    Stopped,
}

/// A subscription's events of `[from, to)` sent to it again; its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Replay {
    pub replay_id: String,
    pub subscription_id: String,
    pub status: ReplayStatus,
    #[serde(with = "rfc3339_millis")]
    pub from: DateTime<Utc>,
    #[serde(with = "rfc3339_millis")]
    pub to: DateTime<Utc>,
    /// Narrowing beyond the subscription's own filter.
    pub entity_name: Option<String>,
    pub operation: Option<Operation>,
    /// Events the window held that the subscription (and the narrowing) wants.
    pub matched: u64,
    /// Delivered at once; the others (`failed`) went to the retry queue, then
    /// maybe to the dead letters, as any delivery.
    pub sent: u64,
    pub failed: u64,
    #[serde(with = "rfc3339_millis")]
    pub started_at: DateTime<Utc>,
    #[serde(default, with = "rfc3339_millis::option")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it stopped early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `to` was asked in the future and is the time the replay was asked instead.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub to_clamped: bool,
    /// When it last advanced a step (or started): it is stalled when this and
    /// `resumed_at` are both long past (stall.rs).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339_millis::option")]
    pub advanced_at: Option<DateTime<Utc>>,
    /// When it was last found stalled and its step queued again.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339_millis::option")]
    pub resumed_at: Option<DateTime<Utc>>,
    /// Steps done; each task names its step, so a task delivered twice counts once.
    #[serde(default)]
    pub step: u64,
    /// Where step `step` reads: its shard and the page's start in it.
    #[serde(default)]
    pub shard: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// The replay-queue message that recorded the last step: redelivered, it
    /// queues step `step` again (its first delivery may have died before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced_by: Option<String>,
    /// Which of its tenant's replay slots it holds while it runs (store.rs);
    /// none for replays started before tenants had slots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<u32>,
}

impl Replay {
    /// Whether `event` is one of the narrowing's (the subscription's filter is
    /// applied besides).
    pub fn narrows_to(&self, event: &Event) -> bool {
        self.entity_name.as_ref().is_none_or(|name| *name == event.entity_name)
            && self.operation.is_none_or(|op| op == event.event_payload.operation)
    }

    /// The task of the step it is at.
    pub fn task(&self, tenant: &TenantId) -> ReplayTask {
        ReplayTask {
            tenant: tenant.clone(),
            subscription_id: self.subscription_id.clone(),
            replay_id: self.replay_id.clone(),
            step: self.step,
            shard: self.shard,
            cursor: self.cursor.clone(),
        }
    }
}

/// One step of a replay: a page of one `by_time` shard, on the replay queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayTask {
    pub tenant: TenantId,
    pub subscription_id: String,
    pub replay_id: String,
    pub step: u64,
    pub shard: u8,
    /// The page's start in the shard (a sort key); none for its first page.
    pub cursor: Option<String>,
}

#[cfg(test)]
impl Replay {
    /// A replay running at step 3 (shard 1), started at `started`.
    pub(super) fn running_since(started: &str) -> Self {
        let at = |text: &str| text.parse::<DateTime<Utc>>().expect("time");
        Self {
            replay_id: "rpl_1".into(),
            subscription_id: "sub_1".into(),
            status: ReplayStatus::Running,
            from: at("2026-11-30T08:00:00Z"),
            to: at("2026-11-30T10:00:00Z"),
            entity_name: None,
            operation: None,
            matched: 0,
            sent: 0,
            failed: 0,
            started_at: at(started),
            finished_at: None,
            reason: None,
            to_clamped: false,
            advanced_at: None,
            resumed_at: None,
            step: 3,
            shard: 1,
            cursor: None,
            advanced_by: None,
            slot: None,
        }
    }
}
