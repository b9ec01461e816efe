//! template.yaml's event source mappings, in the local run: the events table's
//! stream into the fan-out and the projector in batches of 100, the retry queue
//! into the retry consumer, the paced queue into fanout-paced, the assessor's
//! queue into the assessor, and the jobs table's stream into schedule-sync.
//! As with Lambda, a stream batch's reported failure is handed over again from
//! the first failed record (`MaximumRetryAttempts` times, then logged where Lambda
//! would send it to the on-failure destination); a queue message reported as
//! failed stays on its queue and comes back after its visibility timeout.

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

use shared::storage::schema::EVENTS;

use crate::crash::Crashes;
use crate::provision::LocalStack;
use crate::queue_poller::QueuePoller;
use crate::stream_poller::StreamPoller;

/// `BatchSize` of the events stream mappings in template.yaml.
pub const STREAM_BATCH_SIZE: usize = 100;

/// Short enough that a POSTed event reaches its subscribers well within a second.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// `MaximumConcurrency` of fanout-retry's queue mapping in template.yaml: that
/// many batches of the retry queue are handled at once.
const RETRY_CONCURRENCY: usize = 5;

/// Paced queue batches handled at once (template.yaml allows 10).
const PACED_CONCURRENCY: usize = 2;

/// `MaximumRetryAttempts` of the events stream mappings in template.yaml.
const STREAM_RETRY_ATTEMPTS: u32 = 10;

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
/// in logs) in batches of `batch_size`, as a stream event source mapping does:
/// a batch with failed records is handed over again from the first of them.
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
                    hand_over(batch, function, consumer.as_ref()).await;
                }
            }
            Err(error) => tracing::warn!(function, %error, "could not read the stream"),
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// One batch, retried from its first failed record until none fails or the
/// retries run out.
async fn hand_over(batch: &[EventRecord], function: &'static str, consumer: &impl StreamConsumer) {
    let mut pending = batch;
    for attempt in 0..=STREAM_RETRY_ATTEMPTS {
        let failed = consumer.stream_batch(pending).await;
        let Some(first) = pending
            .iter()
            .position(|r| r.change.sequence_number.as_ref().is_some_and(|s| failed.contains(s)))
        else {
            return;
        };
        pending = &pending[first..];
        tracing::warn!(
            function,
            attempt,
            records = pending.len(),
            "failed records; handed over again"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    tracing::error!(
        function,
        records = pending.len(),
        "records still failing after every retry (Lambda would report them to the on-failure destination)"
    );
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

/// fanout-paced: the fan-out on the paced queue (one type, another entry point).
pub struct PacedFanout(pub Fanout);

impl QueueConsumer for PacedFanout {
    fn queue_batch(&self, messages: &[SqsMessage]) -> impl Future<Output = Vec<String>> + Send {
        self.0.paced_batch(messages)
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

/// Runs the fan-out and its retry consumer, the projector, the assessor and the
/// replay worker on the emulator's events stream and queues, as the stack's
/// event source mappings do; `crashes` says how often their invocations are killed.
pub async fn start_event_consumers(
    sdk: &aws_config::SdkConfig,
    stack: &LocalStack,
    crashes: &Crashes,
) -> Result<(), String> {
    let fanout = Arc::new(stack.fanout("fanout", sdk, stack.fanout_config()));
    let fanout_retry = Arc::new(stack.fanout("fanout-retry", sdk, stack.fanout_config()));
    // Each mapping polls with its function's role, as Lambda does.
    let stream =
        StreamPoller::from_now_reading_with(sdk, stack.tables.of(&EVENTS), &stack.mapping_sdk("fanout")).await?;
    tokio::spawn(stream_into(
        stream,
        STREAM_BATCH_SIZE,
        "fanout",
        Arc::new(crashes.wrap(fanout)),
    ));
    let queue =
        |url: &str, function: &str| QueuePoller::new(aws_sdk_sqs::Client::new(&stack.mapping_sdk(function)), url);
    let fanout_retry = Arc::new(crashes.wrap(fanout_retry));
    for _ in 0..RETRY_CONCURRENCY {
        tokio::spawn(queue_into(
            queue(&stack.retry_queue_url, "fanout-retry"),
            "fanout-retry",
            fanout_retry.clone(),
        ));
    }
    let fanout_paced = Arc::new(crashes.wrap(Arc::new(PacedFanout(stack.fanout(
        "fanout-paced",
        sdk,
        stack.fanout_config(),
    )))));
    // Two at once: a lane's next batch may go to either, as to any Lambda
    // container, so its rate must hold through the shared counter.
    for _ in 0..PACED_CONCURRENCY {
        tokio::spawn(queue_into(
            queue(&stack.paced_queue_url, "fanout-paced"),
            "fanout-paced",
            fanout_paced.clone(),
        ));
    }
    tokio::spawn(queue_into(
        queue(&stack.assessor_queue_url, "assessor"),
        "assessor",
        Arc::new(crashes.wrap(Arc::new(stack.assessor()))),
    ));
    tokio::spawn(queue_into(
        queue(&stack.replay_queue_url, "replay-worker"),
        "replay-worker",
        Arc::new(crashes.wrap(Arc::new(stack.replay_worker()))),
    ));
    let stream =
        StreamPoller::from_now_reading_with(sdk, stack.tables.of(&EVENTS), &stack.mapping_sdk("projector")).await?;
    tokio::spawn(stream_into(
        stream,
        STREAM_BATCH_SIZE,
        "projector",
        Arc::new(crashes.wrap(Arc::new(stack.projector()))),
    ));
    tracing::info!(
        event_bus = %stack.event_bus,
        dead_letter_queue = %stack.dead_letter_queue_url,
        "fan-out and projector polling the events stream, fan-out the retry queue, the assessor and the replay worker their queues"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::crash::Crashes;

    /// A stream consumer that fails the records listed in `failing`, once each,
    /// and remembers what it was handed.
    #[derive(Default)]
    struct Flaky {
        failing: Mutex<Vec<String>>,
        handed: Mutex<Vec<Vec<String>>>,
    }

    impl StreamConsumer for Flaky {
        fn stream_batch(&self, records: &[EventRecord]) -> impl Future<Output = Vec<String>> + Send {
            let sequences: Vec<String> = records
                .iter()
                .filter_map(|r| r.change.sequence_number.clone())
                .collect();
            self.handed.lock().expect("handed").push(sequences.clone());
            let mut failing = self.failing.lock().expect("failing");
            let failed: Vec<String> = sequences.into_iter().filter(|s| failing.contains(s)).collect();
            failing.retain(|s| !failed.contains(s));
            async move { failed }
        }
    }

    fn records(n: usize) -> Vec<EventRecord> {
        (0..n)
            .map(|i| {
                let mut record = EventRecord::default();
                record.change.sequence_number = Some(format!("s{i}"));
                record
            })
            .collect()
    }

    #[tokio::test]
    async fn a_failed_record_is_handed_over_again_with_those_after_it() {
        // GIVEN a consumer that fails record s2 of five once
        let consumer = Flaky {
            failing: Mutex::new(vec!["s2".into()]),
            ..Flaky::default()
        };
        // WHEN the batch is handed over
        hand_over(&records(5), "test", &consumer).await;
        // THEN it is handed over again from s2, as Lambda does with ReportBatchItemFailures
        let handed = consumer.handed.lock().expect("handed").clone();
        assert_eq!(handed, [vec!["s0", "s1", "s2", "s3", "s4"], vec!["s2", "s3", "s4"]]);
    }

    #[tokio::test]
    async fn a_killed_invocation_is_handed_over_whole() {
        // GIVEN a consumer that takes 50 ms, every invocation of which is killed within 10 ms
        struct Slow;
        impl StreamConsumer for Slow {
            async fn stream_batch(&self, _: &[EventRecord]) -> Vec<String> {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Vec::new()
            }
        }
        let crashes = Crashes::default();
        crashes.set(1.0, Duration::from_millis(10));
        let consumer = crashes.wrap(Arc::new(Slow));
        // WHEN a batch is handed over
        hand_over(&records(3), "test", &consumer).await;
        // THEN every try is killed and the whole batch comes back, up to the retries
        assert_eq!(crashes.killed(), u64::from(STREAM_RETRY_ATTEMPTS) + 1);
    }
}
