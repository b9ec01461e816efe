//! The replay worker, on the replay queue: each task is one page (a hundred
//! events at most) of one of the tenant's `by_time` shards; it sends the page's
//! events that the subscription wants to that subscription only, counts them,
//! and queues the next page, so no window is one long run. A task delivered
//! twice sends its page twice (consumers deduplicate by eventId) but counts once.

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::SqsMessage;
use chrono::Utc;

use super::config::ReplayWorkerConfig;
use super::model::{Replay, ReplayStatus, ReplayTask};
use super::store::Replays;
use crate::events::{DynamoEventStore, EventStoreError, TIME_SHARDS};
use crate::fanout::{Fanout, OutgoingMessage, SqsSender, SubscriptionsByTenant, matching, replay_plan};
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
    queue: SqsSender,
    queue_url: String,
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
            queue: SqsSender::new(aws_sdk_sqs::Client::new(sdk), 3),
            queue_url: config.replay_queue_url,
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
                self.run(&task).await
            }
            .await;
            if let Err(err) = done {
                tracing::warn!(message_id = %id, error = %ErrorChain(&err), "replay step not done; received again");
                failed.push(id);
            }
        }
        failed
    }

    /// Queues a replay's next task.
    pub async fn queue(sender: &SqsSender, queue_url: &str, task: &ReplayTask) -> Result<(), ReplayError> {
        let message = OutgoingMessage {
            body: serde_json::to_string(task).map_err(|e| ReplayError::Queue(e.to_string()))?,
            ..OutgoingMessage::default()
        };
        match sender.send(queue_url, vec![message]).await.pop() {
            None => Ok(()),
            Some(undelivered) => Err(ReplayError::Queue(undelivered.reason)),
        }
    }

    /// One step: a page sent, counted, and the next step queued (or the replay ended).
    async fn run(&self, task: &ReplayTask) -> Result<(), ReplayError> {
        let tenant = &task.tenant;
        let Some(replay) = self.replays.get(tenant, &task.subscription_id, &task.replay_id).await? else {
            tracing::warn!(%tenant, replay_id = %task.replay_id, "no such replay; task dropped");
            return Ok(());
        };
        if replay.status != ReplayStatus::Running || replay.step != task.step {
            // Done already: this task was delivered twice.
            return Ok(());
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
                tenant,
                task.shard,
                (replay.from, replay.to),
                self.page,
                task.cursor.as_deref(),
            )
            .await?;
        let one = std::slice::from_ref(&subscription);
        let wanted: Vec<_> = events
            .into_iter()
            .filter(|event| replay.narrows_to(event) && !matching(event, one).is_empty())
            .collect();
        let matched = u64::try_from(wanted.len()).unwrap_or(u64::MAX);
        let (sent, failed) = if wanted.is_empty() {
            (0, 0)
        } else {
            let plan = replay_plan(tenant, &wanted, &subscription, &replay.replay_id);
            let subscriptions = SubscriptionsByTenant::from([(tenant.clone(), one.to_vec().into())]);
            self.fanout.deliver_replay(plan, &subscriptions).await
        };
        if !self.replays.advance(tenant, &replay, (matched, sent, failed)).await? {
            return Ok(());
        }
        let next = next_step(task, next_cursor);
        match next {
            Some(next) => Self::queue(&self.queue, &self.queue_url, &next).await,
            None => {
                let advanced = Replay {
                    step: replay.step + 1,
                    ..replay
                };
                self.replays
                    .finish(tenant, &advanced, ReplayStatus::Succeeded, None, Utc::now())
                    .await?;
                tracing::info!(%tenant, replay_id = %task.replay_id, "replay done");
                Ok(())
            }
        }
    }
}

/// The task after `task`: the shard's next page, else the next shard's first;
/// `None` after the last shard.
fn next_step(task: &ReplayTask, cursor: Option<String>) -> Option<ReplayTask> {
    let (shard, cursor) = match cursor {
        Some(cursor) => (task.shard, Some(cursor)),
        None if task.shard + 1 < TIME_SHARDS => (task.shard + 1, None),
        None => return None,
    };
    Some(ReplayTask {
        step: task.step + 1,
        shard,
        cursor,
        ..task.clone()
    })
}
