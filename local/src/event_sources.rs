//! template.yaml's event source mappings, in the local run: the events table's
//! stream into the fan-out and the projector in batches of 100, the retry queue
//! into the retry consumer, and the jobs table's stream into schedule-sync.
//! Unlike Lambda, a batch item failure here is logged, not retried.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::dynamodb::EventRecord;
use shared::fanout::Fanout;
use shared::projections::Projector;
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

/// Polls the retry queue forever, handing parked deliveries to the retry consumer.
pub async fn retry_queue_into_fanout(queue: QueuePoller, fanout: Arc<Fanout>) {
    loop {
        let polled = queue
            .poll_into(|messages| {
                let fanout = fanout.clone();
                async move { fanout.retry_batch(&messages).await }
            })
            .await;
        match polled {
            Ok(0) => tokio::time::sleep(POLL_INTERVAL).await,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "could not read the retry queue");
                tokio::time::sleep(POLL_INTERVAL).await;
            }
        }
    }
}
