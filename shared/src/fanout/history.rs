//! Each subscription's delivery history: recent attempts, in the deliveries
//! table beside its dead letters (`sk = ATT#<time>#<event>#<attempt>`), expiring
//! after the retention. Every failed attempt is kept; successes are sampled,
//! one per subscription per invocation, so a busy subscription costs one write
//! per batch, not one per event. Beside them, exact counts per hour
//! (`sk = HOUR#<yyyy-mm-ddThh>`: delivered, failed), one update per
//! subscription per invocation. Written after the deliveries are sent and
//! parked: history is a report, and a failure to write it is only logged.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::dispatch::Sent;
use super::plan::SubscriptionRef;
use super::subscription_items::SubscriptionItems;
use crate::config::{ConfigError, Environment};
use crate::storage::StorageError;
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

/// One attempt to deliver an event to a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub event_id: String,
    /// 1 for the first attempt, 2 for the first retry, …
    pub attempt: u32,
    pub outcome: AttemptOutcome,
    pub error: Option<String>,
    #[serde(with = "rfc3339_millis")]
    pub at: DateTime<Utc>,
    /// How long the calls to its destination took; none when no call completed.
    pub latency_ms: Option<u64>,
}

impl Attempt {
    fn sort_key(&self) -> String {
        format!(
            "{ATTEMPT_KEYS}{}#{}#{}",
            rfc3339_millis::format(&self.at),
            self.event_id,
            self.attempt
        )
    }
}

/// The attempts `sent` made at `at` that the history keeps: every failure, and
/// the first success of each subscription. Deliveries to the stack's bus have
/// no subscription and no history.
pub fn attempts_of(sent: &Sent, at: DateTime<Utc>) -> Vec<(SubscriptionRef, Attempt)> {
    let mut sampled: HashSet<SubscriptionRef> = HashSet::new();
    let failed = sent.failed.iter().filter_map(|f| {
        let attempt = Attempt {
            event_id: f.delivery.origin.event_id.clone(),
            attempt: f.delivery.failures + 1,
            outcome: AttemptOutcome::Failed,
            error: Some(f.reason.chars().take(1000).collect()),
            at,
            latency_ms: None,
        };
        Some((f.delivery.origin.subscription()?, attempt))
    });
    let delivered = sent.delivered.iter().filter_map(|d| {
        let subscription = d.origin.subscription()?;
        sampled.insert(subscription.clone()).then(|| {
            let attempt = Attempt {
                event_id: d.origin.event_id.clone(),
                attempt: d.failures + 1,
                outcome: AttemptOutcome::Delivered,
                error: None,
                at,
                latency_ms: Some(d.latency_ms),
            };
            (subscription, attempt)
        })
    });
    failed
        .collect::<Vec<_>>()
        .into_iter()
        .chain(delivered.collect::<Vec<_>>())
        .collect()
}

/// The delivery history in the deliveries table.
pub struct History(SubscriptionItems);

impl History {
    pub fn new(items: SubscriptionItems) -> Self {
        Self(items)
    }

    /// Keeps `attempts`; a failure is logged, not returned (see the module).
    pub async fn record(&self, attempts: Vec<(SubscriptionRef, Attempt)>) {
        if attempts.is_empty() {
            return;
        }
        let count = attempts.len();
        if let Err(err) = self.write(attempts).await {
            tracing::warn!(attempts = count, error = %err, "delivery history not recorded");
        }
    }

    async fn write(&self, attempts: Vec<(SubscriptionRef, Attempt)>) -> Result<(), StorageError> {
        // One item per key (BatchWriteItem refuses a call naming one twice).
        let mut keys: HashSet<(SubscriptionRef, String)> = HashSet::new();
        let mut requests = Vec::with_capacity(attempts.len());
        for (subscription, attempt) in attempts {
            let sort_key = attempt.sort_key();
            if keys.insert((subscription.clone(), sort_key.clone())) {
                let owner = (&subscription.tenant, subscription.subscription_id.as_str());
                requests.push(self.0.put(owner, sort_key, &attempt, attempt.at)?);
            }
        }
        self.0.write(requests).await
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

    #[test]
    fn every_failure_and_one_success_per_subscription_are_kept() {
        // GIVEN an invocation that delivered three events to "a", one to the
        // stack's bus, and failed one retry to "b"
        let delivered = |subscription, event: &str| Delivered {
            origin: origin(subscription, event),
            failures: 0,
            latency_ms: 12,
        };
        let sent = Sent {
            failed: vec![Failed {
                target: Target::own_bus("bus"),
                delivery: Delivery {
                    message: OutgoingMessage::default(),
                    origin: origin(Some("b"), "e-9"),
                    failures: 2,
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
        };
        // WHEN the history is worked out
        let attempts = attempts_of(&sent, Utc::now());
        // THEN b's third attempt failed, and a's first success stands for its batch
        let summary: Vec<(&str, &str, u32, AttemptOutcome, Option<u64>)> = attempts
            .iter()
            .map(|(s, a)| {
                (
                    s.subscription_id.as_str(),
                    a.event_id.as_str(),
                    a.attempt,
                    a.outcome,
                    a.latency_ms,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("b", "e-9", 3, AttemptOutcome::Failed, None),
                ("a", "e-1", 1, AttemptOutcome::Delivered, Some(12))
            ]
        );
    }
}
