//! Deliveries that failed within an invocation wait on the retry queue, hidden
//! for an exponentially growing, jittered delay; after the last attempt they go to
//! the dead-letter queue. Either way the message body is the envelope itself and
//! a message attribute says whose delivery it is, so an operator can read (and
//! redrive) the dead-letter queue as is. Every message on the retry queue has its
//! tenant as `MessageGroupId`: SQS fair queues then keep one tenant's backlog from
//! delaying the others' retries.

use aws_lambda_events::event::sqs::SqsMessage;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::dead_letters::{DeadLetter, DeadLetters};
use super::dispatch::Failed;
use super::message::{OutgoingMessage, Undelivered};
use super::plan::{Delivery, Origin};
use super::sqs::SqsSender;

/// The message attribute that carries a parked delivery's [`Parked`] metadata.
pub const DELIVERY_ATTRIBUTE: &str = "delivery";
/// The message attribute on a dead letter that is not a delivery (an undecodable record).
pub const REASON_ATTRIBUTE: &str = "reason";

/// SQS's longest message delay.
const MAX_DELAY_SECONDS: u32 = 900;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedeliveryPolicy {
    /// Failures after which a delivery goes to the dead-letter queue.
    pub max_failures: u32,
    /// Delay after the first failure; it doubles with each further one.
    pub base_delay_seconds: u32,
}

impl RedeliveryPolicy {
    /// Seconds to hide a delivery after its `failures`-th failure: exponential,
    /// capped at SQS's 15 minutes, with "equal jitter" (half fixed, half random)
    /// so a burst of failures does not come back as one burst. `random` is in [0, 1).
    pub fn delay_seconds(&self, failures: u32, random: f64) -> i32 {
        let exponential = self
            .base_delay_seconds
            .saturating_mul(1 << failures.saturating_sub(1).min(16))
            .min(MAX_DELAY_SECONDS);
        let half = f64::from(exponential) / 2.0;
        // At most 900, so the cast cannot truncate.
        (half + half * random.clamp(0.0, 1.0)).round() as i32
    }
}

/// What a parked message carries besides the envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Parked {
    origin: Origin,
    failures: u32,
    last_error: String,
    attributes: Vec<(String, String)>,
    group_id: Option<String>,
    dedup_id: Option<String>,
    detail_type: Option<String>,
    /// When the delivery first went to the retry queue (expiry.rs). Absent on
    /// messages parked before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_parked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
#[error("not a parked delivery: {0}")]
pub struct UnparkError(String);

pub struct RetryQueues {
    pub(super) sender: SqsSender,
    pub(super) retry_url: String,
    dead_letter_url: String,
    pub(super) dead_letters: DeadLetters,
    policy: RedeliveryPolicy,
}

impl RetryQueues {
    pub fn new(
        client: aws_sdk_sqs::Client,
        retry_url: String,
        dead_letter_url: String,
        dead_letters: DeadLetters,
        policy: RedeliveryPolicy,
    ) -> Self {
        Self {
            sender: SqsSender::new(client, 3),
            retry_url,
            dead_letter_url,
            dead_letters,
            policy,
        }
    }

    /// Parks each failed delivery: on the retry queue with backoff, or, once it
    /// has failed `max_failures` times or can never be delivered, as its
    /// subscription's dead letter (the stack's bus has none: the dead-letter
    /// queue). Returns those that could not be parked at all (the caller must
    /// not acknowledge them).
    pub async fn park(&self, failed: Vec<Failed>) -> Vec<Failed> {
        let (dead, retry): (Vec<Failed>, Vec<Failed>) = failed
            .into_iter()
            .partition(|f| f.permanent || f.delivery.failures + 1 >= self.policy.max_failures);
        let mut unparked = self.send(&self.retry_url, retry, true).await;
        let (subscribed, unsubscribed): (Vec<Failed>, Vec<Failed>) = dead
            .into_iter()
            .partition(|f| f.delivery.origin.subscription_id.is_some());
        let mut to_queue = unsubscribed;
        if let Err(unkept) = self.keep(subscribed, 1).await {
            to_queue.extend(unkept);
        }
        unparked.extend(self.send(&self.dead_letter_url, to_queue, false).await);
        unparked
    }

    /// Keeps deliveries their subscription's circuit held back, untried, as its
    /// dead letters: catch_up.rs sends them again once the circuit closes.
    /// Returns those that could be neither kept nor parked on the retry queue.
    pub async fn shelve(&self, held: Vec<Failed>) -> Vec<Failed> {
        match self.keep(held, 0).await {
            Ok(()) => Vec::new(),
            // Not kept: they wait on the retry queue as any failure would.
            Err(unkept) => self.send(&self.retry_url, unkept, true).await,
        }
    }

    /// Keeps each delivery as its subscription's dead letter, `tried` more
    /// failures counted; all of them back if that failed.
    async fn keep(&self, dead: Vec<Failed>, tried: u32) -> Result<(), Vec<Failed>> {
        if dead.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let letters: Vec<_> = dead
            .iter()
            .filter_map(|f| {
                let origin = &f.delivery.origin;
                let failures = f.delivery.failures + tried;
                tracing::warn!(tenant = %origin.tenant, event_id = %origin.event_id,
                    subscription_id = origin.subscription_id.as_deref(), failures, reason = %f.reason,
                    "delivery failed; kept as the subscription's dead letter");
                let message = parked_message(f, failures, None, now);
                let letter = DeadLetter {
                    event_id: origin.event_id.clone(),
                    failures,
                    last_error: f.reason.chars().take(1000).collect(),
                    at: now,
                    parked: message.attributes.into_iter().next()?.1,
                    body: message.body,
                };
                Some((origin.tenant.clone(), origin.subscription_id.clone()?, letter))
            })
            .collect();
        self.dead_letters.keep(&letters).await.map_err(|err| {
            tracing::error!(error = %err, "could not keep dead letters");
            dead
        })
    }

    /// Hands deliveries over to the retry consumer at once, their failures not
    /// counted (see budget.rs). Returns those that could not be handed over.
    pub async fn defer(&self, deferred: Vec<Failed>) -> Vec<Failed> {
        if deferred.is_empty() {
            return deferred;
        }
        tracing::info!(
            deferred = deferred.len(),
            "deliveries over a tenant's share; handed to the retry queue"
        );
        let now = Utc::now();
        let messages = deferred
            .iter()
            .map(|f| parked_message(f, f.delivery.failures, None, now))
            .collect();
        unsent(deferred, self.sender.send(&self.retry_url, messages).await)
    }

    async fn send(&self, queue_url: &str, failed: Vec<Failed>, delayed: bool) -> Vec<Failed> {
        if failed.is_empty() {
            return failed;
        }
        let now = Utc::now();
        let messages = failed
            .iter()
            .map(|f| {
                let failures = f.delivery.failures + 1;
                tracing::warn!(
                    tenant = %f.delivery.origin.tenant,
                    event_id = %f.delivery.origin.event_id,
                    subscription_id = f.delivery.origin.subscription_id.as_deref(),
                    failures,
                    reason = %f.reason,
                    queue = if delayed { "retry" } else { "dead-letter" },
                    "delivery failed; parked"
                );
                parked_message(
                    f,
                    failures,
                    delayed.then(|| self.policy.delay_seconds(failures, fastrand::f64())),
                    now,
                )
            })
            .collect();
        let undelivered = self.sender.send(queue_url, messages).await;
        unsent(failed, undelivered)
    }

    /// Seconds a delivery waits after its `failures`-th failure in a row.
    pub fn delay_seconds(&self, failures: u32, random: f64) -> i32 {
        self.policy.delay_seconds(failures, random)
    }

    /// Puts something that is not a delivery on the dead-letter queue (a stream
    /// record that cannot be decoded), with the reason. False if that failed too.
    pub async fn dead_letter(&self, body: String, reason: &str) -> bool {
        let message = OutgoingMessage {
            body,
            attributes: vec![(REASON_ATTRIBUTE.to_owned(), reason.to_owned())],
            ..OutgoingMessage::default()
        };
        self.sender.send(&self.dead_letter_url, vec![message]).await.is_empty()
    }
}

/// The entries of `parked` whose messages were `undelivered` (each logged).
pub(super) fn unsent(parked: Vec<Failed>, undelivered: Vec<Undelivered>) -> Vec<Failed> {
    let mut parked: Vec<Option<Failed>> = parked.into_iter().map(Some).collect();
    undelivered
        .into_iter()
        .filter_map(|u| {
            tracing::error!(reason = %u.reason, "could not park a delivery");
            parked.get_mut(u.index)?.take()
        })
        .collect()
}

/// The retry-queue message of `failed`, counted as failed `failures` times,
/// first parked `now` unless it was before.
fn parked_message(failed: &Failed, failures: u32, delay_seconds: Option<i32>, now: DateTime<Utc>) -> OutgoingMessage {
    let message = &failed.delivery.message;
    let parked = Parked {
        origin: failed.delivery.origin.clone(),
        failures,
        last_error: failed.reason.chars().take(1000).collect(),
        attributes: message.attributes.clone(),
        group_id: message.group_id.clone(),
        dedup_id: message.dedup_id.clone(),
        detail_type: message.detail_type.clone(),
        first_parked_at: Some(failed.delivery.parked_since.unwrap_or(now)),
    };
    OutgoingMessage {
        delay_seconds,
        // Serialising plain data into a String cannot fail.
        ..retry_message(message.body.clone(), &parked).unwrap_or_default()
    }
}

/// The paced queue's message of `paced`: its delivery as the retry queue would
/// carry it, in `lane` (its subscription's message group). Each message is its
/// own (a fresh deduplication id): a stream batch handed over again may put a
/// delivery in its lane twice, as it may send one twice (at least once).
pub(super) fn lane_message(paced: &Failed, lane: &str, now: DateTime<Utc>) -> OutgoingMessage {
    OutgoingMessage {
        group_id: Some(lane.to_owned()),
        dedup_id: Some(uuid::Uuid::now_v7().to_string()),
        ..parked_message(paced, paced.delivery.failures, None, now)
    }
}

/// The message that carries `body` and `parked` on the retry queue, in its
/// tenant's message group (fair queues).
fn retry_message(body: String, parked: &Parked) -> Result<OutgoingMessage, UnparkError> {
    Ok(OutgoingMessage {
        body,
        attributes: vec![(
            DELIVERY_ATTRIBUTE.to_owned(),
            serde_json::to_string(parked).map_err(|e| UnparkError(e.to_string()))?,
        )],
        group_id: Some(parked.origin.tenant.as_str().to_owned()),
        ..OutgoingMessage::default()
    })
}

/// The retry-queue message that sends `letter` again, at once, its failures
/// counted afresh and its age from now.
pub fn redriven(letter: &DeadLetter) -> Result<OutgoingMessage, UnparkError> {
    let mut parked: Parked = serde_json::from_str(&letter.parked).map_err(|e| UnparkError(e.to_string()))?;
    parked.failures = 0;
    parked.first_parked_at = Some(Utc::now());
    retry_message(letter.body.clone(), &parked)
}

/// Sends `letters` again through the retry queue at `url`: returns those sent
/// (for the caller to remove) and how many could not be. A letter that cannot be
/// sent again at all is kept, and logged.
pub async fn send_again(sender: &SqsSender, url: &str, letters: Vec<DeadLetter>) -> (Vec<DeadLetter>, usize) {
    let (mut sendable, mut messages) = (Vec::new(), Vec::new());
    for letter in letters {
        match redriven(&letter) {
            Ok(message) => {
                messages.push(message);
                sendable.push(Some(letter));
            }
            Err(err) => {
                tracing::error!(event_id = %letter.event_id, error = %err, "a dead letter cannot be sent again; kept");
            }
        }
    }
    let unsent = sender.send(url, messages).await;
    for undelivered in &unsent {
        tracing::warn!(reason = %undelivered.reason, "a dead letter was not sent again; kept");
        if let Some(slot) = sendable.get_mut(undelivered.index) {
            *slot = None;
        }
    }
    (sendable.into_iter().flatten().collect(), unsent.len())
}

/// When SQS received `message` (its `SentTimestamp`, epoch milliseconds): the
/// latest a message parked without `firstParkedAt` can have been first parked.
fn sent_at(message: &SqsMessage) -> Option<DateTime<Utc>> {
    let millis = message.attributes.get("SentTimestamp")?.parse().ok()?;
    DateTime::from_timestamp_millis(millis)
}

/// The delivery a retry-queue message carries.
pub fn unpark(message: &SqsMessage) -> Result<Delivery, UnparkError> {
    let metadata = message
        .message_attributes
        .get(DELIVERY_ATTRIBUTE)
        .and_then(|a| a.string_value.as_deref())
        .ok_or_else(|| UnparkError(format!("no `{DELIVERY_ATTRIBUTE}` attribute")))?;
    let parked: Parked = serde_json::from_str(metadata).map_err(|e| UnparkError(e.to_string()))?;
    let body = message.body.clone().ok_or_else(|| UnparkError("no body".to_owned()))?;
    Ok(Delivery {
        message: OutgoingMessage {
            body,
            attributes: parked.attributes,
            group_id: parked.group_id,
            dedup_id: parked.dedup_id,
            detail_type: parked.detail_type,
            delay_seconds: None,
            // Made again from the body when the delivery is reshaped for its target.
            trace_header: None,
        },
        origin: parked.origin,
        failures: parked.failures,
        parked_since: parked.first_parked_at.or_else(|| sent_at(message)),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_lambda_events::event::sqs::SqsMessageAttribute;

    use super::*;
    use crate::fanout::plan::Target;
    use crate::tenant::TenantId;

    #[test]
    fn delays_double_up_to_fifteen_minutes_with_half_of_each_random() {
        let policy = RedeliveryPolicy {
            max_failures: 8,
            base_delay_seconds: 30,
        };
        let (low, high) = (|n| policy.delay_seconds(n, 0.0), |n| policy.delay_seconds(n, 0.999_999));
        assert_eq!((low(1), high(1)), (15, 30));
        assert_eq!((low(2), high(2)), (30, 60));
        assert_eq!((low(4), high(4)), (120, 240));
        assert_eq!((low(6), high(6)), (450, 900), "capped at SQS's maximum");
        assert_eq!(high(40), 900, "no overflow for absurd counts");
        let immediate = RedeliveryPolicy {
            max_failures: 3,
            base_delay_seconds: 0,
        };
        assert_eq!(immediate.delay_seconds(2, 0.5), 0);
    }

    fn delivery() -> Delivery {
        Delivery {
            message: OutgoingMessage {
                body: r#"{"eventId":"evt-1"}"#.into(),
                attributes: vec![("eventName".into(), "ORDER.CREATE".into())],
                group_id: Some("ORD-1".into()),
                dedup_id: Some("d-1".into()),
                detail_type: None,
                delay_seconds: None,
                trace_header: None,
            },
            origin: Origin {
                tenant: TenantId::parse("acme").expect("tenant"),
                event_id: "evt-1".into(),
                subscription_id: Some("sub-1".into()),
                psi_fields: Vec::new(),
            },
            failures: 2,
            parked_since: None,
        }
    }

    fn failed(delivery: Delivery) -> Failed {
        Failed {
            target: Target::own_bus("bus"),
            delivery,
            reason: "AWS.SimpleQueueService.NonExistentQueue".into(),
            permanent: false,
        }
    }

    /// `message` as SQS hands it to the retry consumer, sent at `sent_at`.
    fn received(message: &OutgoingMessage, sent_at: Option<DateTime<Utc>>) -> SqsMessage {
        let mut attribute = SqsMessageAttribute::default();
        attribute.string_value = Some(message.attributes[0].1.clone());
        let mut received = SqsMessage::default();
        received.body = Some(message.body.clone());
        received.message_attributes = HashMap::from([(DELIVERY_ATTRIBUTE.to_owned(), attribute)]);
        if let Some(sent_at) = sent_at {
            received.attributes = HashMap::from([("SentTimestamp".to_owned(), sent_at.timestamp_millis().to_string())]);
        }
        received
    }

    #[test]
    fn a_parked_delivery_comes_back_as_it_left_with_one_more_failure_and_when_it_was_first_parked() {
        // GIVEN a delivery failing for the third time, parked for the first time now
        let now = Utc::now();
        let failed = failed(delivery());
        let parked = parked_message(&failed, failed.delivery.failures + 1, Some(60), now);
        assert_eq!(parked.delay_seconds, Some(60));
        // WHEN SQS hands it back to the retry consumer
        let unparked = unpark(&received(&parked, None)).expect("parked");
        // THEN it is as it left, one failure more, parked since now
        assert_eq!(
            unparked,
            Delivery {
                failures: 3,
                parked_since: Some(now),
                ..delivery()
            }
        );
        assert!(unpark(&SqsMessage::default()).is_err());
        // AND parked again later, it keeps its first parking
        let again = parked_message(&self::failed(unparked), 4, Some(60), now + chrono::Duration::hours(1));
        assert_eq!(unpark(&received(&again, None)).expect("parked").parked_since, Some(now));
    }

    #[test]
    fn every_retry_queue_message_is_in_its_tenants_message_group() {
        // GIVEN a delivery to a FIFO queue, whose own group is its entity
        let failed = failed(delivery());
        // WHEN it is parked, deferred or redriven
        let parked = parked_message(&failed, 1, Some(30), Utc::now());
        let letter = DeadLetter {
            event_id: "evt-1".into(),
            failures: 8,
            last_error: "gone".into(),
            at: Utc::now(),
            body: parked.body.clone(),
            parked: parked.attributes[0].1.clone(),
        };
        let redriven = redriven(&letter).expect("redriven");
        // THEN the retry queue's message group is the tenant (SQS fair queues),
        // and the destination's own group travels in the metadata
        assert_eq!(parked.group_id.as_deref(), Some("acme"));
        assert_eq!(redriven.group_id.as_deref(), Some("acme"));
        let unparked = unpark(&received(&redriven, None)).expect("parked");
        assert_eq!(unparked.message.group_id.as_deref(), Some("ORD-1"));
        assert_eq!(unparked.failures, 0);
        assert!(
            unparked
                .parked_since
                .is_some_and(|at| at > letter.at - chrono::Duration::seconds(1))
        );
    }

    #[test]
    fn a_message_parked_before_first_parkings_were_recorded_is_as_old_as_sqs_says() {
        // GIVEN metadata as parked before `firstParkedAt` existed, sent a day ago
        let metadata = r#"{"origin":{"tenant":"acme","eventId":"evt-1","subscriptionId":"sub-1"},"failures":2,
            "lastError":"gone","attributes":[],"groupId":null,"dedupId":null,"detailType":null}"#;
        let old = OutgoingMessage {
            body: "{}".into(),
            attributes: vec![(DELIVERY_ATTRIBUTE.to_owned(), metadata.to_owned())],
            ..OutgoingMessage::default()
        };
        let sent = DateTime::from_timestamp_millis((Utc::now() - chrono::Duration::days(1)).timestamp_millis());
        // WHEN the retry consumer reads it, with and without SQS's SentTimestamp
        // THEN it decodes, first parked no later than it was sent
        assert_eq!(unpark(&received(&old, sent)).expect("decodes").parked_since, sent);
        assert_eq!(unpark(&received(&old, None)).expect("decodes").parked_since, None);
    }
}
