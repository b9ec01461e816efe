//! The replay worker, on the replay queue: each task is one page (a hundred
//! events at most) of one of the `by_time` partitions of the subscription's
//! entity (or of the tenant-wide ones older events are in); it sends the page's
//! events that the subscription wants to that subscription only, counts them,
//! and queues the next page, so no window is one long run. A task delivered
//! twice sends its page twice (consumers deduplicate by eventId) but counts once.
//! Recording a step and queueing the next are two calls: the replay records
//! which message recorded its step, so that message, received again (its
//! queueing failed, or its worker died in between), queues the step again.

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::SqsMessage;
use chrono::Utc;

use super::config::ReplayWorkerConfig;
use super::model::{Replay, ReplayStatus, ReplayTask};
use super::queue::ReplayQueue;
use super::store::{Replays, StepDone};
use crate::events::{DynamoEventStore, EventStoreError, REPLAY_PARTITIONS};
use crate::fanout::{Fanout, SubscriptionsByTenant, matching, replay_plan};
use crate::storage::schema::SUBSCRIPTION_RECORDS;
use crate::storage::{DynamoRecords, Records, StorageError};
use crate::subscriptions::Subscription;
use crate::util::error_chain::ErrorChain;

/// Events read per task.
pub const PAGE: usize = 100;

pub struct ReplayWorker {
    /// Events read per step (`PAGE`; tests take fewer to see paging).
    page: usize,
    fanout: Fanout,
    events: DynamoEventStore,
    subscriptions: DynamoRecords<Subscription>,
    replays: Replays,
    queue: ReplayQueue,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("not a replay task: {0}")]
    Malformed(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Events(#[from] EventStoreError),
    #[error("the next step could not be queued: {0}")]
    Queue(String),
}

impl ReplayWorker {
    pub fn new(sdk: &SdkConfig, config: ReplayWorkerConfig) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        Self {
            page: PAGE,
            events: DynamoEventStore::new(dynamodb.clone(), config.events_table),
            subscriptions: DynamoRecords::new(
                dynamodb.clone(),
                &config.fanout.subscriptions_table,
                SUBSCRIPTION_RECORDS,
            ),
            replays: Replays::new(dynamodb, &config.fanout.deliveries_table),
            queue: ReplayQueue::new(sdk, config.replay_queue_url),
            fanout: Fanout::new(sdk, config.fanout),
        }
    }

    /// The same worker, reading `page` events a step.
    #[must_use]
    pub fn paging_by(self, page: usize) -> Self {
        Self { page, ..self }
    }

    /// Runs each task of a queue batch; returns the ids of the messages to
    /// receive again.
    pub async fn queue_batch(&self, messages: &[SqsMessage]) -> Vec<String> {
        let mut failed = Vec::new();
        for message in messages {
            let id = message.message_id.clone().unwrap_or_default();
            let done = async {
                let task: ReplayTask = serde_json::from_str(message.body.as_deref().unwrap_or_default())
                    .map_err(|e| ReplayError::Malformed(e.to_string()))?;
                self.run(&task, message.message_id.as_deref()).await
            }
            .await;
            if let Err(err) = done {
                tracing::warn!(message_id = %id, error = %ErrorChain(&err), "replay step not done; received again");
                failed.push(id);
            }
        }
        failed
    }

    /// One step: a page sent, counted, and the next step queued (or the replay
    /// ended); `message` is the task's replay-queue message.
    async fn run(&self, task: &ReplayTask, message: Option<&str>) -> Result<(), ReplayError> {
        let tenant = &task.tenant;
        let Some(replay) = self.replays.get(tenant, &task.subscription_id, &task.replay_id).await? else {
            tracing::warn!(%tenant, replay_id = %task.replay_id, "no such replay; task dropped");
            return Ok(());
        };
        match turn(&replay, task, message) {
            Turn::Run => {}
            Turn::QueueAgain => {
                tracing::info!(%tenant, replay_id = %task.replay_id, step = replay.step, "step recorded, its next queued again");
                return self.queue.send(&replay.task(tenant)).await;
            }
            Turn::Drop => return Ok(()),
        }
        let subscription = self
            .subscriptions
            .get(tenant, &task.subscription_id)
            .await
            .map_err(|e| StorageError::caused(crate::storage::ErrorKind::Other, "reading the subscription", e))?
            .map(|stored| stored.value)
            .filter(|s| s.active);
        let Some(subscription) = subscription else {
            let why = "the subscription was deactivated or deleted";
            self.replays
                .finish(tenant, &replay, ReplayStatus::Stopped, Some(why), Utc::now())
                .await?;
            return Ok(());
        };
        let (events, next_cursor) = self
            .events
            .page_in_window(
                (tenant, &subscription.entity_type),
                task.shard,
                (replay.from, replay.to),
                self.page,
                task.cursor.as_deref(),
            )
            .await?;
        let one = std::slice::from_ref(&subscription);
        let wanted: Vec<_> = events
            .into_iter()
            .filter(|event| replay.narrows_to(event) && !matching(tenant.as_str(), event, one).is_empty())
            .collect();
        let matched = u64::try_from(wanted.len()).unwrap_or(u64::MAX);
        let (sent, failed) = if wanted.is_empty() {
            (0, 0)
        } else {
            let plan = replay_plan(tenant, &wanted, &subscription, &replay.replay_id);
            let subscriptions = SubscriptionsByTenant::from([(tenant.clone(), one.to_vec().into())]);
            self.fanout.deliver_replay(plan, &subscriptions).await
        };
        let next = next_step(task, next_cursor);
        let done = StepDone {
            counts: (matched, sent, failed),
            next: next.as_ref(),
            by: message,
            at: Utc::now(),
        };
        if !self.replays.advance(tenant, &replay, done).await? {
            return Ok(());
        }
        match next {
            Some(next) => self.queue.send(&next).await,
            None => {
                tracing::info!(%tenant, replay_id = %task.replay_id, "replay done");
                Ok(())
            }
        }
    }
}

/// What a task received does.
#[derive(Debug, PartialEq, Eq)]
enum Turn {
    /// Its step is the replay's: run it.
    Run,
    /// Its message recorded the step before the replay's: the next task may
    /// never have been queued, so queue the replay's step (again, maybe).
    QueueAgain,
    /// A duplicate of a step done, or the replay ended.
    Drop,
}

fn turn(replay: &Replay, task: &ReplayTask, message: Option<&str>) -> Turn {
    if replay.status != ReplayStatus::Running {
        Turn::Drop
    } else if replay.step == task.step {
        Turn::Run
    } else if replay.step == task.step + 1 && message.is_some() && replay.advanced_by.as_deref() == message {
        Turn::QueueAgain
    } else {
        Turn::Drop
    }
}

/// The task after `task`: the partition's next page, else the next
/// partition's first; `None` after the last (`REPLAY_PARTITIONS`).
fn next_step(task: &ReplayTask, cursor: Option<String>) -> Option<ReplayTask> {
    let (shard, cursor) = match cursor {
        Some(cursor) => (task.shard, Some(cursor)),
        None if task.shard + 1 < REPLAY_PARTITIONS => (task.shard + 1, None),
        None => return None,
    };
    Some(ReplayTask {
        step: task.step + 1,
        shard,
        cursor,
        ..task.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::TenantId;

    fn task(step: u64) -> ReplayTask {
        let replay = Replay::running_since("2026-11-30T11:00:00Z");
        ReplayTask {
            step,
            ..replay.task(&TenantId::parse("acme").expect("tenant"))
        }
    }

    #[test]
    fn the_message_that_recorded_a_step_queues_the_next_again_when_received_again() {
        // GIVEN a replay at step 3, whose step 2 message "m-2" recorded
        let replay = Replay {
            advanced_by: Some("m-2".into()),
            ..Replay::running_since("2026-11-30T11:00:00Z")
        };
        // THEN its step's task runs, whichever message brings it
        assert_eq!(turn(&replay, &task(3), Some("m-3")), Turn::Run);
        // AND "m-2" received again (its step 3 may never have been queued) queues step 3
        assert_eq!(turn(&replay, &task(2), Some("m-2")), Turn::QueueAgain);
        // AND any other copy of step 2, or an older step, is dropped: one resume per step
        assert_eq!(turn(&replay, &task(2), Some("m-2b")), Turn::Drop);
        assert_eq!(turn(&replay, &task(2), None), Turn::Drop);
        assert_eq!(turn(&replay, &task(1), Some("m-2")), Turn::Drop);
        // AND nothing runs once the replay ended
        let ended = Replay {
            status: ReplayStatus::Succeeded,
            ..replay
        };
        assert_eq!(turn(&ended, &task(2), Some("m-2")), Turn::Drop);
        assert_eq!(turn(&ended, &task(3), Some("m-3")), Turn::Drop);
    }
}
