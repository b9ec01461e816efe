//! One probe for each open circuit, so that a subscription that gets no new
//! event is still tried once its cool-off has passed. The invocation that opens
//! a circuit queues a probe task on the retry queue, hidden until the circuit is
//! half open. The task then sends one of the deliveries the circuit kept back
//! through the retry queue, where the retry consumer tries it as the circuit's
//! probe: its success closes the circuit and starts the catch-up (catch_up.rs),
//! its failure opens the circuit again, which queues the next probe. The task
//! itself comes back a cool-off later: a circuit still half open for the same
//! opening (its probe was refused as a message, or never ran) gets another
//! probe. A task whose circuit closed meanwhile, or was opened again (the
//! opening queued its own task), stops.
//!
//! Without it, kept deliveries waited for the subscription's next event: at the
//! deployed retry schedule (a first retry after 15 to 30 s, a minute's
//! cool-off) the retries of the deliveries that opened the circuit all come
//! back while it is still open, and are kept too.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::circuit::CIRCUIT_OPEN;
use super::message::OutgoingMessage;
use super::plan::SubscriptionRef;
use super::retry::{RetryQueues, send_again};
use crate::storage::StorageError;
use crate::tenant::TenantId;
use crate::util::rfc3339_millis;

/// The retry-queue message attribute that marks a probe task (its body).
pub const PROBE_ATTRIBUTE: &str = "probe";

/// Dead letters read a page, looking for a kept one (oldest first).
const PAGE: usize = 100;

/// SQS's longest message delay.
const MAX_DELAY_SECONDS: i64 = 900;

/// The probe of one opening of a subscription's circuit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    tenant: TenantId,
    subscription_id: String,
    /// Until when that opening holds the circuit open.
    #[serde(with = "rfc3339_millis")]
    until: DateTime<Utc>,
}

/// What a probe task does, given its circuit as it is now.
#[derive(Debug, PartialEq, Eq)]
pub enum Turn {
    /// Half open, and this is its newest opening's task: send a kept delivery.
    Now,
    /// Still open (SQS delays at most 15 minutes): wait this many seconds more.
    Later(i32),
    /// Closed, or opened again by another invocation: nothing to do.
    Over,
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("not a probe task: {0}")]
    Malformed(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("could not be queued: {0}")]
    Queue(String),
}

impl Probe {
    pub fn new(subscription: SubscriptionRef, until: DateTime<Utc>) -> Self {
        Self {
            tenant: subscription.tenant,
            subscription_id: subscription.subscription_id,
            // As the subscription's record holds it, to compare with it.
            until: rfc3339_millis::stored(until),
        }
    }

    /// The task a retry-queue message carries.
    pub fn of(body: &str) -> Result<Self, ProbeError> {
        serde_json::from_str(body).map_err(|e| ProbeError::Malformed(e.to_string()))
    }

    pub fn subscription(&self) -> SubscriptionRef {
        SubscriptionRef {
            tenant: self.tenant.clone(),
            subscription_id: self.subscription_id.clone(),
        }
    }

    /// Its turn, with the subscription's circuit open until `open_until`. A
    /// later opening has a task of its own; an earlier `until` than this one's
    /// was written back by an update racing the opening (a PUT keeps an open
    /// circuit as it read it), and this task is then the circuit's only one.
    pub fn turn(&self, open_until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Turn {
        match open_until {
            None => Turn::Over,
            Some(until) if until > self.until => Turn::Over,
            Some(until) if until > now => Turn::Later(delay_until(until, now)),
            Some(_) => Turn::Now,
        }
    }

    /// The task as a retry-queue message in its tenant's message group, hidden
    /// until a second after the circuit is half open (SQS's 15 minutes at most).
    fn message(&self, now: DateTime<Utc>) -> OutgoingMessage {
        OutgoingMessage {
            // Serialising plain data into a String cannot fail.
            body: serde_json::to_string(self).unwrap_or_default(),
            attributes: vec![(PROBE_ATTRIBUTE.to_owned(), "1".to_owned())],
            group_id: Some(self.tenant.as_str().to_owned()),
            delay_seconds: Some(delay_until(self.until, now)),
            ..OutgoingMessage::default()
        }
    }
}

fn delay_until(until: DateTime<Utc>, now: DateTime<Utc>) -> i32 {
    let seconds = (until - now)
        .num_seconds()
        .saturating_add(1)
        .clamp(0, MAX_DELAY_SECONDS);
    i32::try_from(seconds).unwrap_or(0)
}

impl RetryQueues {
    /// Queues the probe of each circuit just opened (and until when). One that
    /// cannot be queued is logged: the circuit then waits for the
    /// subscription's next delivery, as it did before probes.
    pub async fn probe_later(&self, opened: Vec<(SubscriptionRef, DateTime<Utc>)>) {
        if opened.is_empty() {
            return;
        }
        let now = Utc::now();
        let tasks = opened
            .into_iter()
            .map(|(s, until)| Probe::new(s, until).message(now))
            .collect();
        for unsent in self.sender.send(&self.retry_url, tasks).await {
            tracing::error!(reason = %unsent.reason, "a circuit's probe could not be queued; it waits for the next delivery");
        }
    }

    /// Sends the oldest delivery the circuit kept back through the retry queue,
    /// where it is tried as the probe. Returns whether there was one. Older dead
    /// letters of other kinds (given up on, refused) are paged past.
    pub async fn send_probe(&self, task: &Probe) -> Result<bool, ProbeError> {
        let mut cursor = None;
        let letter = loop {
            let (letters, next) = self
                .dead_letters
                .page(&task.tenant, &task.subscription_id, PAGE, cursor.as_deref())
                .await?;
            if let Some(kept) = letters.into_iter().find(|l| l.last_error.starts_with(CIRCUIT_OPEN)) {
                break kept;
            }
            match next {
                Some(next) => cursor = Some(next),
                None => {
                    tracing::info!(tenant = %task.tenant, subscription_id = %task.subscription_id,
                        "circuit half open and nothing kept; the next delivery probes it");
                    return Ok(false);
                }
            }
        };
        let (sent, unsent) = send_again(&self.sender, &self.retry_url, vec![letter]).await;
        if unsent > 0 {
            return Err(ProbeError::Queue("the kept delivery could not be sent again".into()));
        }
        // Removed once sent: a failure in between sends it again with the task,
        // which consumers deduplicate by eventId.
        self.dead_letters
            .remove(&task.tenant, &task.subscription_id, &sent)
            .await?;
        tracing::info!(tenant = %task.tenant, subscription_id = %task.subscription_id,
            "circuit half open; a kept delivery sent again as its probe");
        Ok(true)
    }

    /// Queues the task again: hidden until its circuit is half open, or for
    /// `at_least` seconds. After a probe is sent it comes back that much later:
    /// a probe that closed the circuit, or failed and opened it again (which
    /// queued the next task), ends it then; one that neither did (the
    /// destination refused that one message, or the probe never ran) leaves the
    /// circuit half open for the same `until`, and the task sends another.
    pub async fn probe_again_later(&self, task: &Probe, at_least: i32) -> Result<(), ProbeError> {
        let mut message = task.message(Utc::now());
        message.delay_seconds = message.delay_seconds.map(|d| d.max(at_least.clamp(0, 900)));
        match self.sender.send(&self.retry_url, vec![message]).await.first() {
            None => Ok(()),
            Some(unsent) => Err(ProbeError::Queue(unsent.reason.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn probe(until: DateTime<Utc>) -> Probe {
        Probe::new(
            SubscriptionRef {
                tenant: TenantId::parse("acme").expect("tenant"),
                subscription_id: "sub-1".into(),
            },
            until,
        )
    }

    #[test]
    fn a_probe_runs_once_its_opening_has_passed_and_stops_if_the_circuit_changed_meanwhile() {
        let now = Utc::now();
        let until = rfc3339_millis::stored(now - Duration::seconds(1));
        assert_eq!(probe(until).turn(Some(until), now), Turn::Now);
        // closed meanwhile, or opened again by another invocation (which queued its own probe)
        assert_eq!(probe(until).turn(None, now), Turn::Over);
        assert_eq!(probe(until).turn(Some(now + Duration::seconds(60)), now), Turn::Over);
        // an update wrote back an older opening it had read: this task carries on
        let older = until - Duration::seconds(30);
        assert_eq!(probe(until).turn(Some(older), now), Turn::Now);
        let still_open = rfc3339_millis::stored(now + Duration::milliseconds(5_500));
        assert_eq!(
            probe(now + Duration::seconds(60)).turn(Some(still_open), now),
            Turn::Later(6)
        );
        // received early (a cool-off longer than SQS's 15 minutes of delay): it waits again
        let later = rfc3339_millis::stored(now + Duration::seconds(1200));
        assert_eq!(probe(later).turn(Some(later), now), Turn::Later(900));
    }

    #[test]
    fn the_task_is_hidden_until_a_second_after_its_circuit_is_half_open_and_reads_back() {
        let now = Utc::now();
        let task = probe(now + Duration::milliseconds(60_500));
        let message = task.message(now);
        assert_eq!(message.delay_seconds, Some(61));
        assert_eq!(message.group_id.as_deref(), Some("acme"));
        assert_eq!(Probe::of(&message.body).expect("task"), task);
        assert_eq!(probe(now - Duration::seconds(5)).message(now).delay_seconds, Some(0));
    }
}
