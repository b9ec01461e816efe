//! Functions killed in the middle of a batch, as a Lambda that runs out of time
//! or memory is: a share of the invocations is cut off at a random moment (after
//! some of its calls, before its checkpoint), and the event source hands the
//! whole batch over again, as Lambda does for a function error. The local run
//! never kills; the load harness (`crate::soak`) turns it on.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_lambda_events::event::dynamodb::EventRecord;
use aws_lambda_events::event::sqs::SqsMessage;

use crate::event_sources::{QueueConsumer, StreamConsumer};

/// How often invocations are killed, shared by the consumers it wraps.
#[derive(Debug, Clone, Default)]
pub struct Crashes {
    /// (share of invocations killed, within how long of their start).
    odds: Arc<Mutex<(f64, Duration)>>,
    killed: Arc<AtomicU64>,
}

impl Crashes {
    /// From now on, a `fraction` of invocations is killed within `within` of its
    /// start (one that finishes first is not killed); 0 stops the killing.
    pub fn set(&self, fraction: f64, within: Duration) {
        *self.odds.lock().unwrap_or_else(PoisonError::into_inner) = (fraction, within);
    }

    /// Invocations killed so far.
    pub fn killed(&self) -> u64 {
        self.killed.load(Ordering::Relaxed)
    }

    /// `consumer`, killed as these odds say.
    pub fn wrap<C>(&self, consumer: Arc<C>) -> Crashing<C> {
        Crashing {
            inner: consumer,
            crashes: self.clone(),
        }
    }

    /// Runs `invocation`, or kills it part way: then every item of the batch is
    /// reported as failed (`all`).
    async fn run(&self, invocation: impl Future<Output = Vec<String>>, all: Vec<String>) -> Vec<String> {
        let (fraction, within) = *self.odds.lock().unwrap_or_else(PoisonError::into_inner);
        if fraction <= 0.0 || fastrand::f64() >= fraction {
            return invocation.await;
        }
        let after = within.mul_f64(fastrand::f64());
        match tokio::time::timeout(after, invocation).await {
            Ok(failed) => failed,
            Err(_) => {
                self.killed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(after_ms = after.as_millis(), "invocation killed mid-batch (injected)");
                all
            }
        }
    }
}

/// A consumer whose invocations may be killed.
pub struct Crashing<C> {
    inner: Arc<C>,
    crashes: Crashes,
}

impl<C: StreamConsumer> StreamConsumer for Crashing<C> {
    fn stream_batch(&self, records: &[EventRecord]) -> impl Future<Output = Vec<String>> + Send {
        let all = records
            .iter()
            .filter_map(|r| r.change.sequence_number.clone())
            .collect();
        self.crashes.run(self.inner.stream_batch(records), all)
    }
}

impl<C: QueueConsumer> QueueConsumer for Crashing<C> {
    fn queue_batch(&self, messages: &[SqsMessage]) -> impl Future<Output = Vec<String>> + Send {
        let all = messages.iter().filter_map(|m| m.message_id.clone()).collect();
        self.crashes.run(self.inner.queue_batch(messages), all)
    }
}
