//! template.yaml's event source mappings, in the local run: the events table's
//! stream into the fan-out in batches of 100, the retry queue into the retry
//! consumer, and the jobs table's stream into schedule-sync. Unlike Lambda, a
//! batch item failure here is logged, not retried.

use std::sync::Arc;
use std::time::Duration;

use shared::fanout::Fanout;
use shared::projections::Projector;
use shared::schedule_sync::ScheduleSync;

use crate::queue_poller::QueuePoller;
use crate::stream_poller::StreamPoller;

/// `BatchSize` of the events stream mapping in template.yaml.
pub const STREAM_BATCH_SIZE: usize = 100;

/// Short enough that a POSTed event reaches its subscribers well within a second.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Polls the events stream forever, handing new records to the fan-out.
pub async fn events_stream_into_fanout(mut stream: StreamPoller, fanout: Arc<Fanout>) {
    loop {
        match stream.poll().await {
            Ok(records) => {
                for batch in records.chunks(STREAM_BATCH_SIZE) {
                    let failed = fanout.stream_batch(batch).await;
                    if !failed.is_empty() {
                        tracing::warn!(?failed, "fan-out reported failed records (Lambda would retry them)");
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "could not read the events stream"),
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

/// Polls the jobs stream forever, handing new records to schedule-sync.
pub async fn jobs_stream_into_schedule_sync(mut stream: StreamPoller, sync: ScheduleSync) {
    loop {
        match stream.poll().await {
            Ok(records) if !records.is_empty() => {
                let failed = sync.stream_batch(&records).await;
                if !failed.is_empty() {
                    tracing::warn!(
                        ?failed,
                        "schedule-sync reported a failed record (Lambda would retry it)"
                    );
                }
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not read the jobs stream"),
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Polls the events stream forever (as a second consumer), handing new records to the projector.
pub async fn events_stream_into_projector(mut stream: StreamPoller, projector: Projector) {
    loop {
        match stream.poll().await {
            Ok(records) => {
                for batch in records.chunks(STREAM_BATCH_SIZE) {
                    let failed = projector.stream_batch(batch).await;
                    if !failed.is_empty() {
                        tracing::warn!(
                            ?failed,
                            "the projector reported a failed record (Lambda would retry it)"
                        );
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "could not read the events stream"),
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
