//! Each subscription's delivery health (`delivery` on GET): failed deliveries in a
//! row and the last error. One update per subscription per invocation, and none
//! for a healthy subscription that stays healthy.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};

use super::dispatch::Failed;
use super::plan::{DeliveryPlan, SubscriptionRef, SubscriptionsByTenant};
use crate::storage::DynamoRecords;
use crate::subscriptions::Subscription;
use crate::util::rfc3339_millis;

/// Health writes in flight at once.
const WRITES_AT_ONCE: usize = 32;

/// What one invocation saw of each subscription it delivered for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct HealthReport {
    tallies: BTreeMap<SubscriptionRef, Tally>,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    failures: u64,
    last_error: Option<String>,
    /// Some delivery was a retry, so the subscription had failed before, whatever
    /// the (cached) record says.
    retried: bool,
}

/// A change to one subscription's health.
#[derive(Debug, PartialEq, Eq)]
pub enum HealthChange {
    Failed { count: u64, last_error: String },
    Recovered,
}

impl HealthReport {
    /// Every subscription `plan` delivers for, none failed yet.
    pub fn new(plan: &DeliveryPlan) -> Self {
        let mut tallies: BTreeMap<SubscriptionRef, Tally> = BTreeMap::new();
        for delivery in plan.values().flatten() {
            if let Some(subscription) = delivery.origin.subscription() {
                tallies.entry(subscription).or_default().retried |= delivery.failures > 0;
            }
        }
        Self { tallies }
    }

    /// Counts the deliveries that `failed`.
    pub fn with_failures(mut self, failed: &[Failed]) -> Self {
        for f in failed {
            if let Some(subscription) = f.delivery.origin.subscription() {
                let tally = self.tallies.entry(subscription).or_default();
                tally.failures += 1;
                tally.last_error = Some(f.reason.clone());
            }
        }
        self
    }

    /// The writes it calls for, given what the subscriptions looked like: failures
    /// are added; a clean run resets a subscription that had failed before (as its
    /// record or a retried delivery shows).
    pub fn changes(self, subscriptions: &SubscriptionsByTenant) -> Vec<(SubscriptionRef, HealthChange)> {
        let had_failed = |s: &SubscriptionRef| {
            subscriptions
                .get(&s.tenant)
                .and_then(|all| all.iter().find(|x| x.id == s.subscription_id))
                .is_some_and(|x| x.delivery.consecutive_failures > 0)
        };
        self.tallies
            .into_iter()
            .filter_map(|(subscription, tally)| match tally.last_error {
                Some(last_error) => Some((
                    subscription,
                    HealthChange::Failed {
                        count: tally.failures,
                        last_error,
                    },
                )),
                None => (tally.retried || had_failed(&subscription)).then_some((subscription, HealthChange::Recovered)),
            })
            .collect()
    }
}

/// Writes health changes onto the subscription records.
pub struct HealthRecorder {
    records: DynamoRecords<Subscription>,
}

impl HealthRecorder {
    pub fn new(records: DynamoRecords<Subscription>) -> Self {
        Self { records }
    }

    /// Applies every change; a failed write is logged, not retried: health is a
    /// report, and the next invocation writes it again.
    pub async fn apply(&self, changes: Vec<(SubscriptionRef, HealthChange)>, now: DateTime<Utc>) {
        // A bounded number at once: a batch may touch many tenants' subscriptions.
        let writes = changes.into_iter().map(|(s, change)| async move {
            let result = self
                .records
                .patch(&s.tenant, &s.subscription_id, |update| match change {
                    HealthChange::Failed { count, last_error } => update
                        .update_expression(
                            "SET delivery.consecutiveFailures = delivery.consecutiveFailures + :n, \
                             delivery.lastError = :error, delivery.lastFailureAt = :at",
                        )
                        .condition_expression("attribute_exists(delivery)")
                        .expression_attribute_values(":n", AttributeValue::N(count.to_string()))
                        .expression_attribute_values(":error", AttributeValue::S(last_error.chars().take(1000).collect()))
                        .expression_attribute_values(":at", AttributeValue::S(rfc3339_millis::format(&now))),
                    HealthChange::Recovered => update
                        .update_expression("SET delivery.consecutiveFailures = :zero")
                        .condition_expression("delivery.consecutiveFailures > :zero")
                        .expression_attribute_values(":zero", AttributeValue::N("0".into())),
                })
                .await;
            if let Err(err) = result {
                tracing::warn!(tenant = %s.tenant, subscription_id = %s.subscription_id, error = %err, "could not record delivery health");
            }
        });
        stream::iter(writes)
            .buffer_unordered(WRITES_AT_ONCE)
            .collect::<Vec<()>>()
            .await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::fanout::message::OutgoingMessage;
    use crate::fanout::plan::{Delivery, Origin, Target};
    use crate::subscriptions::{DeliveryHealth, fixtures};
    use crate::tenant::TenantId;

    fn delivery(subscription: &str) -> Delivery {
        Delivery {
            message: OutgoingMessage::default(),
            origin: Origin {
                tenant: TenantId::parse("acme").expect("tenant"),
                event_id: "evt-1".into(),
                subscription_id: Some(subscription.into()),
                psi_fields: Vec::new(),
            },
            failures: 0,
        }
    }

    fn subscription(id: &str, consecutive_failures: u64) -> Subscription {
        Subscription {
            delivery: DeliveryHealth {
                consecutive_failures,
                ..DeliveryHealth::default()
            },
            ..fixtures::subscription(id)
        }
    }

    #[test]
    fn failures_are_counted_and_only_a_previously_failing_subscription_is_reset() {
        // GIVEN deliveries for three subscriptions, of which "broken" failed twice
        let target = Target::own_bus("b");
        let plan = DeliveryPlan::from([(
            target.clone(),
            vec![
                delivery("broken"),
                delivery("broken"),
                delivery("healed"),
                delivery("fine"),
            ],
        )]);
        let failed: Vec<Failed> = ["first", "second"]
            .into_iter()
            .map(|reason| Failed {
                target: target.clone(),
                delivery: delivery("broken"),
                reason: reason.into(),
                permanent: false,
            })
            .collect();
        let acme = TenantId::parse("acme").expect("tenant");
        let subscriptions = SubscriptionsByTenant::from([(
            acme.clone(),
            Arc::from([
                subscription("broken", 0),
                subscription("healed", 3),
                subscription("fine", 0),
            ]),
        )]);
        // WHEN the health changes are worked out
        let changes = HealthReport::new(&plan).with_failures(&failed).changes(&subscriptions);
        // THEN two writes: the failures, and the recovery; nothing for the healthy one
        let named = |id: &str| SubscriptionRef {
            tenant: acme.clone(),
            subscription_id: id.into(),
        };
        assert_eq!(
            changes,
            [
                (
                    named("broken"),
                    HealthChange::Failed {
                        count: 2,
                        last_error: "second".into()
                    }
                ),
                (named("healed"), HealthChange::Recovered),
            ]
        );
    }

    #[test]
    fn a_retry_that_gets_through_resets_even_when_the_cached_record_shows_no_failures() {
        let retried = Delivery {
            failures: 2,
            ..delivery("flaky")
        };
        let plan = DeliveryPlan::from([(Target::own_bus("b"), vec![retried])]);
        let acme = TenantId::parse("acme").expect("tenant");
        let stale = SubscriptionsByTenant::from([(acme.clone(), Arc::from([subscription("flaky", 0)]))]);
        let changes = HealthReport::new(&plan).with_failures(&[]).changes(&stale);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].1, HealthChange::Recovered);
    }
}
