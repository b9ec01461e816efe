//! The delivery history, in the deliveries table, expiring after the
//! retention. Every attempt is kept under its event (event_attempts.rs: "did
//! event X reach subscription Y?"). Under each subscription
//! (`sk = ATT#<time>#<event>#<attempt>`) every failed attempt is kept and
//! successes are sampled, one per subscription per invocation: its listing is
//! for spotting trouble, and its exact counts per hour sit beside it
//! (`sk = HOUR#<yyyy-mm-ddThh>`: delivered, failed), one update per
//! subscription per invocation. Written after the deliveries are sent and
//! parked: history is a report, and a failure to write it is only logged.

use std::collections::HashSet;

use aws_sdk_dynamodb::types::WriteRequest;
use chrono::{DateTime, Duration, Utc};
use futures_util::{StreamExt, stream};
use serde::{Deserialize, Serialize};

use super::dispatch::Sent;
use super::event_attempts::{EventAttempt, event_partition};
use super::plan::SubscriptionRef;
use super::subscription_items::{SubscriptionItems, subscription_partition};
use crate::config::{ConfigError, Environment};
use crate::storage::{StorageError, WRITES_PER_CALL};
use crate::tenant::TenantId;
use crate::util::rfc3339_millis;

/// Sort-key prefix of attempts; a page's cursor must start with it.
pub const ATTEMPT_KEYS: &str = "ATT#";

/// Sort-key prefix of the hourly counts.
const HOUR_KEYS: &str = "HOUR#";

/// A subscription's deliveries in one hour (UTC): `hour` is `yyyy-mm-ddThh`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourCount {
    /// Read from the item's sort key (`HOUR#…`, the prefix then cut).
    #[serde(rename(deserialize = "sk"))]
    pub hour: String,
    #[serde(default)]
    pub delivered: u64,
    #[serde(default)]
    pub failed: u64,
}

/// Each subscription's deliveries and failures in `sent` (not sampled).
pub fn hourly_counts(sent: &Sent) -> Vec<(SubscriptionRef, u64, u64)> {
    let mut counts: std::collections::BTreeMap<SubscriptionRef, (u64, u64)> = std::collections::BTreeMap::new();
    for origin in sent.delivered.iter().map(|d| &d.origin) {
        if let Some(subscription) = origin.subscription() {
            counts.entry(subscription).or_default().0 += 1;
        }
    }
    for origin in sent.failed.iter().map(|f| &f.delivery.origin) {
        if let Some(subscription) = origin.subscription() {
            counts.entry(subscription).or_default().1 += 1;
        }
    }
    counts.into_iter().map(|(s, (d, f))| (s, d, f)).collect()
}

/// Days attempts are kept.
pub const RETENTION_VARIABLE: &str = "DELIVERY_HISTORY_DAYS";

/// `DELIVERY_HISTORY_DAYS`: 1 to 90 days, default 7.
pub fn retention(env: &Environment) -> Result<Duration, ConfigError> {
    env.duration(RETENTION_VARIABLE, Duration::days, 7, 1..=90)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttemptOutcome {
    Delivered,
    Failed,
}

/// What one attempt to deliver an event to a subscription came to, listed
/// with its event (`Attempt`, under the subscription) or with its subscription
/// (`EventAttempt`, under the event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptResult {
    /// 1 for the first attempt, 2 for the first retry, …
    pub attempt: u32,
    pub outcome: AttemptOutcome,
    pub error: Option<String>,
    #[serde(with = "rfc3339_millis")]
    pub at: DateTime<Utc>,
    /// How long the calls to its destination took; none when no call completed.
    pub latency_ms: Option<u64>,
}

/// An attempt as a subscription's listing shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub event_id: String,
    #[serde(flatten)]
    pub result: AttemptResult,
}

impl Attempt {
    fn sort_key(&self) -> String {
        format!(
            "{ATTEMPT_KEYS}{}#{}#{}",
            rfc3339_millis::format(&self.result.at),
            self.event_id,
            self.result.attempt
        )
    }
}

/// Every attempt `sent` made at `at`. Deliveries to the stack's bus have no
/// subscription and no history.
pub fn attempts_of(sent: &Sent, at: DateTime<Utc>) -> Vec<(SubscriptionRef, Attempt)> {
    let failed = sent.failed.iter().filter_map(|f| {
        let result = AttemptResult {
            attempt: f.delivery.failures + 1,
            outcome: AttemptOutcome::Failed,
            error: Some(f.reason.chars().take(1000).collect()),
            at,
            latency_ms: None,
        };
        Some((
            f.delivery.origin.subscription()?,
            f.delivery.origin.event_id.clone(),
            result,
        ))
    });
    let delivered = sent.delivered.iter().filter_map(|d| {
        let result = AttemptResult {
            attempt: d.failures + 1,
            outcome: AttemptOutcome::Delivered,
            error: None,
            at,
            latency_ms: Some(d.latency_ms),
        };
        Some((d.origin.subscription()?, d.origin.event_id.clone(), result))
    });
    failed
        .chain(delivered)
        .map(|(subscription, event_id, result)| (subscription, Attempt { event_id, result }))
        .collect()
}

/// Whether each of `attempts` goes to its subscription's listing too: every
/// failure, and the first success of each subscription.
fn sampled(attempts: &[(SubscriptionRef, Attempt)]) -> Vec<bool> {
    let mut with_success: HashSet<&SubscriptionRef> = HashSet::new();
    attempts
        .iter()
        .map(|(subscription, attempt)| match attempt.result.outcome {
            AttemptOutcome::Failed => true,
            AttemptOutcome::Delivered => with_success.insert(subscription),
        })
        .collect()
}

/// The delivery history in the deliveries table.
pub struct History(SubscriptionItems);

/// BatchWriteItem calls of one invocation's history in flight at once.
const WRITES_AT_ONCE: usize = 8;

impl History {
    pub fn new(items: SubscriptionItems) -> Self {
        Self(items)
    }

    /// Keeps `attempts` (all of them, from `attempts_of`); a failure is logged,
    /// not returned (see the module).
    pub async fn record(&self, attempts: Vec<(SubscriptionRef, Attempt)>) {
        if attempts.is_empty() {
            return;
        }
        let count = attempts.len();
        let written = match self.requests(attempts) {
            Ok(requests) => self.write(requests).await,
            Err(err) => Err(err),
        };
        if let Err(err) = written {
            tracing::warn!(attempts = count, error = %err, "delivery history not recorded");
        }
    }

    /// The writes that keep `attempts`: each under its event, and the sampled
    /// ones under their subscription too.
    fn requests(&self, mut attempts: Vec<(SubscriptionRef, Attempt)>) -> Result<Vec<WriteRequest>, StorageError> {
        // One item per key (BatchWriteItem refuses a call naming one twice);
        // both keys are made of these.
        let mut keys: HashSet<(SubscriptionRef, String, u32, DateTime<Utc>)> = HashSet::new();
        attempts.retain(|(subscription, a)| {
            keys.insert((subscription.clone(), a.event_id.clone(), a.result.attempt, a.result.at))
        });
        let mut requests = Vec::with_capacity(attempts.len() * 2);
        let sampled = sampled(&attempts);
        for ((subscription, attempt), sampled) in attempts.into_iter().zip(sampled) {
            let (tenant, at) = (&subscription.tenant, attempt.result.at);
            let under_event = EventAttempt::of(&subscription, &attempt);
            let partition = event_partition(tenant, &attempt.event_id);
            requests.push(self.0.put_in(partition, under_event.sort_key(), &under_event, at)?);
            if sampled {
                let partition = subscription_partition(tenant, &subscription.subscription_id);
                requests.push(self.0.put_in(partition, attempt.sort_key(), &attempt, at)?);
            }
        }
        Ok(requests)
    }

    /// Writes `requests`, a full BatchWriteItem a call, a few calls at once.
    async fn write(&self, requests: Vec<WriteRequest>) -> Result<(), StorageError> {
        let chunks: Vec<Vec<WriteRequest>> = requests.chunks(WRITES_PER_CALL).map(<[_]>::to_vec).collect();
        let calls = chunks.into_iter().map(|chunk| self.0.write(chunk));
        let written: Vec<Result<(), StorageError>> =
            stream::iter(calls).buffer_unordered(WRITES_AT_ONCE).collect().await;
        written.into_iter().collect()
    }

    /// Adds each subscription's counts to its hour (`at`'s); a failure is logged.
    pub async fn count(&self, counts: Vec<(SubscriptionRef, u64, u64)>, at: DateTime<Utc>) {
        let hour = format!("{HOUR_KEYS}{}", at.format("%Y-%m-%dT%H"));
        let updates = counts.iter().map(|(subscription, delivered, failed)| {
            let hour = hour.clone();
            async move {
                let owner = (&subscription.tenant, subscription.subscription_id.as_str());
                let counts = [("delivered", *delivered), ("failed", *failed)];
                self.0.add(owner, hour, &counts, at).await
            }
        });
        for result in futures_util::future::join_all(updates).await {
            if let Err(err) = result {
                tracing::warn!(error = %err, "delivery counts not recorded");
            }
        }
    }

    /// A subscription's counts of the last `hours` hours that had deliveries, newest first.
    pub async fn hours(
        &self,
        tenant: &TenantId,
        subscription_id: &str,
        hours: usize,
    ) -> Result<Vec<HourCount>, StorageError> {
        let (mut counts, _): (Vec<HourCount>, _) = self
            .0
            .page((tenant, subscription_id), HOUR_KEYS, true, (hours, None))
            .await?;
        for count in &mut counts {
            count.hour = count.hour.trim_start_matches(HOUR_KEYS).to_owned();
        }
        Ok(counts)
    }

    /// A subscription's attempts, newest first, `limit` after `cursor` (a sort
    /// key this returned); the cursor of the next page, if any.
    pub async fn page(
        &self,
        tenant: &TenantId,
        subscription_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<Attempt>, Option<String>), StorageError> {
        self.0
            .page((tenant, subscription_id), ATTEMPT_KEYS, true, (limit, cursor))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fanout::dispatch::{Delivered, Failed};
    use crate::fanout::message::OutgoingMessage;
    use crate::fanout::plan::{Delivery, Origin, Target};

    fn origin(subscription: Option<&str>, event: &str) -> Origin {
        Origin {
            tenant: TenantId::parse("acme").expect("tenant"),
            event_id: event.into(),
            subscription_id: subscription.map(str::to_owned),
            psi_fields: Vec::new(),
        }
    }

    /// An invocation that delivered three events to "a", one to the stack's
    /// bus, and failed a retry to "b".
    fn sent() -> Sent {
        let delivered = |subscription, event: &str| Delivered {
            origin: origin(subscription, event),
            failures: 0,
            latency_ms: 12,
        };
        Sent {
            failed: vec![Failed {
                target: Target::own_bus("bus"),
                delivery: Delivery {
                    message: OutgoingMessage::default(),
                    origin: origin(Some("b"), "e-9"),
                    failures: 2,
                    parked_since: None,
                },
                reason: "DESTINATION_UNREACHABLE".into(),
                permanent: false,
            }],
            delivered: vec![
                delivered(Some("a"), "e-1"),
                delivered(Some("a"), "e-2"),
                delivered(None, "e-1"),
                delivered(Some("a"), "e-3"),
            ],
        }
    }

    fn history() -> History {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .build();
        let items = SubscriptionItems::new(aws_sdk_dynamodb::Client::from_conf(config), "deliveries")
            .keeping_for(Duration::days(7));
        History::new(items)
    }

    #[test]
    fn every_attempt_to_a_subscription_is_kept() {
        // GIVEN an invocation's deliveries
        let sent = sent();
        // WHEN its attempts are worked out
        let attempts = attempts_of(&sent, Utc::now());
        // THEN b's third attempt failed, and each of a's successes is there; the
        // stack's bus has none
        let summary: Vec<(&str, &str, u32, AttemptOutcome, Option<u64>)> = attempts
            .iter()
            .map(|(s, a)| {
                (
                    s.subscription_id.as_str(),
                    a.event_id.as_str(),
                    a.result.attempt,
                    a.result.outcome,
                    a.result.latency_ms,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("b", "e-9", 3, AttemptOutcome::Failed, None),
                ("a", "e-1", 1, AttemptOutcome::Delivered, Some(12)),
                ("a", "e-2", 1, AttemptOutcome::Delivered, Some(12)),
                ("a", "e-3", 1, AttemptOutcome::Delivered, Some(12)),
            ]
        );
    }

    #[test]
    fn every_attempt_is_written_under_its_event_and_failures_and_a_sample_under_the_subscription() {
        // GIVEN an invocation's attempts, one of them twice (a batch handed over again)
        let at = Utc::now();
        let mut attempts = attempts_of(&sent(), at);
        attempts.push(attempts[1].clone());
        // WHEN the history's writes are made
        let requests = history().requests(attempts).expect("requests");
        // THEN each attempt is one item under its event, and b's failure and a's
        // first success are under their subscriptions too, each key once
        let time = rfc3339_millis::format(&at);
        let keys: Vec<(String, String)> = requests
            .iter()
            .map(|r| {
                let item = &r.put_request().expect("a put").item;
                let text = |name: &str| item[name].as_s().expect("a string").clone();
                (text("pk"), text("sk"))
            })
            .collect();
        let key = |pk: &str, sk: String| (pk.to_owned(), sk);
        assert_eq!(
            keys,
            [
                key("T#acme#E#e-9", format!("ATT#{time}#b#3")),
                key("T#acme#S#b", format!("ATT#{time}#e-9#3")),
                key("T#acme#E#e-1", format!("ATT#{time}#a#1")),
                key("T#acme#S#a", format!("ATT#{time}#e-1#1")),
                key("T#acme#E#e-2", format!("ATT#{time}#a#1")),
                key("T#acme#E#e-3", format!("ATT#{time}#a#1")),
            ]
        );
        // AND an event's item names its subscription, and expires with the history
        let item = &requests[0].put_request().expect("a put").item;
        assert_eq!(item["subscriptionId"].as_s().ok().map(String::as_str), Some("b"));
        assert_eq!(item["outcome"].as_s().ok().map(String::as_str), Some("failed"));
        let expires = (at + Duration::days(7)).timestamp().to_string();
        assert_eq!(item["expires_at"].as_n().ok(), Some(&expires));
    }
}
