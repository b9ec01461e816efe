//! template.yaml's event source mappings, in the local run: the events table's
//! stream into the fan-out and the projector in batches of 100, the retry queue
//! into the retry consumer, the assessor's queue into the assessor, and the jobs
//! table's stream into schedule-sync.
//! Unlike Lambda, a batch item failure here is logged, not retried.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::dynamodb::EventRecord;
use aws_lambda_events::event::sqs::SqsMessage;
use shared::fanout::Fanout;
use shared::loyalty::Assessor;
use shared::projections::Projector;
use shared::replays::ReplayWorker;
use shared::schedule_sync::ScheduleSync;

use crate::queue_poller::QueuePoller;
use crate::stream_poller::StreamPoller;

/// `BatchSize` of the events stream mappings in template.yaml.
pub const STREAM_BATCH_SIZE: usize = 100;

/// Short enough that a POSTed event reaches its subscribers well within a second.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// A function on a DynamoDB stream: takes a batch, returns the sequence numbers
/// to report as failed.
pub trait StreamConsumer: Send + Sync + 'static {
    fn stream_batch(&self, records: &[EventRecord]) -> impl Future<Output = Vec<String>> + Send;
}

impl StreamConsumer for Fanout {
    fn stream_batch(&self, records: &[EventRecord]) -> impl Future<Output = Vec<String>> + Send {
        Fanout::stream_batch(self, records)
    }
}

impl StreamConsumer for Projector {
    fn stream_batch(&self, records: &[EventRecord]) -> impl Future<Output = Vec<String>> + Send {
        Projector::stream_batch(self, records)
    }
}

impl StreamConsumer for ScheduleSync {
    fn stream_batch(&self, records: &[EventRecord]) -> impl Future<Output = Vec<String>> + Send {
        ScheduleSync::stream_batch(self, records)
    }
}

/// Polls `stream` forever, handing new records to `consumer` (named `function`
/// in logs) in batches of `batch_size`, as a stream event source mapping does.
pub async fn stream_into(
    mut stream: StreamPoller,
    batch_size: usize,
    function: &'static str,
    consumer: Arc<impl StreamConsumer>,
) {
    loop {
        match stream.poll().await {
            Ok(records) => {
                for batch in records.chunks(batch_size) {
                    let failed = consumer.stream_batch(batch).await;
                    if !failed.is_empty() {
                        tracing::warn!(function, ?failed, "failed records (Lambda would retry them)");
                    }
                }
            }
            Err(error) => tracing::warn!(function, %error, "could not read the stream"),
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// A function on an SQS queue: takes a batch, returns the ids of the messages
/// to receive again.
pub trait QueueConsumer: Send + Sync + 'static {
    fn queue_batch(&self, messages: &[SqsMessage]) -> impl Future<Output = Vec<String>> + Send;
}

/// fanout-retry.
impl QueueConsumer for Fanout {
    fn queue_batch(&self, messages: &[SqsMessage]) -> impl Future<Output = Vec<String>> + Send {
        Fanout::retry_batch(self, messages)
    }
}

impl QueueConsumer for ReplayWorker {
    fn queue_batch(&self, messages: &[SqsMessage]) -> impl Future<Output = Vec<String>> + Send {
        ReplayWorker::queue_batch(self, messages)
    }
}

impl QueueConsumer for Assessor {
    fn queue_batch(&self, messages: &[SqsMessage]) -> impl Future<Output = Vec<String>> + Send {
        Assessor::queue_batch(self, messages)
    }
}

/// Polls `queue` forever, handing its messages to `consumer` (named `function`
/// in logs), as an SQS event source mapping does.
pub async fn queue_into(queue: QueuePoller, function: &'static str, consumer: Arc<impl QueueConsumer>) {
    loop {
        let polled = queue
            .poll_into(|messages| {
                let consumer = consumer.clone();
                async move { consumer.queue_batch(&messages).await }
            })
            .await;
        match polled {
            Ok(0) => tokio::time::sleep(POLL_INTERVAL).await,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(function, %error, "could not read the queue");
                tokio::time::sleep(POLL_INTERVAL).await;
            }
        }
    }
}
