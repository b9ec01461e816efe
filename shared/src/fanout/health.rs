//! Each subscription's delivery health (`delivery` on GET): failed deliveries in a
//! row, the last error, and since when it has failed without a break. One update
//! per subscription per invocation, and none for a healthy subscription that
//! stays healthy. A subscription that has failed without a break for longer than
//! the stack allows is deactivated by that update, with the reason.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use futures_util::{StreamExt, stream};

use super::circuit::Circuit;
use super::dispatch::{Delivered, Failed};
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
    /// Failures the destination caused (not the message): what may open its circuit.
    destination_failures: u64,
    delivered: u64,
    last_error: Option<String>,
    /// Some delivery was a retry, so the subscription had failed before, whatever
    /// the (cached) record says.
    retried: bool,
}

/// A circuit to open: until when, once the subscription's failures in a row
/// (as stored, after this write) are at least `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opening {
    pub until: DateTime<Utc>,
    pub after: u64,
}

/// A change to one subscription's health.
#[derive(Debug, PartialEq, Eq)]
pub enum HealthChange {
    Failed {
        count: u64,
        last_error: String,
        /// Set when these failures open its circuit (circuit.rs).
        opening: Option<Opening>,
    },
    /// Failed again, and it has failed without a break since `since`, longer
    /// than allowed: the subscription is deactivated.
    Disabled {
        count: u64,
        last_error: String,
        since: DateTime<Utc>,
    },
    /// Got through after failing; `catch_up` when its circuit had opened, so
    /// the deliveries it kept are to be sent again (catch_up.rs).
    Recovered { catch_up: bool },
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
                tally.destination_failures += u64::from(!f.permanent);
                tally.last_error = Some(f.reason.clone());
            }
        }
        self
    }

    /// Counts the deliveries that got through.
    pub fn with_delivered(mut self, delivered: &[Delivered]) -> Self {
        for d in delivered {
            if let Some(subscription) = d.origin.subscription() {
                self.tallies.entry(subscription).or_default().delivered += 1;
            }
        }
        self
    }

    /// The writes it calls for at `now`, given what the subscriptions looked
    /// like: failures are added, and a subscription failing without a break for
    /// `disable_after` or longer is deactivated; a clean run resets a subscription
    /// that had failed before (as its record or a retried delivery shows).
    pub fn changes(
        self,
        subscriptions: &SubscriptionsByTenant,
        now: DateTime<Utc>,
        disable_after: Duration,
        circuit: &Circuit,
    ) -> Vec<(SubscriptionRef, HealthChange)> {
        let health = |s: &SubscriptionRef| {
            subscriptions
                .get(&s.tenant)
                .and_then(|all| all.iter().find(|x| x.id == s.subscription_id))
                .map(|x| x.delivery.clone())
                .unwrap_or_default()
        };
        self.tallies
            .into_iter()
            .filter_map(|(subscription, tally)| {
                let before = health(&subscription);
                let change = match (tally.last_error, before.failing_since) {
                    (Some(last_error), Some(since)) if now - since >= disable_after => HealthChange::Disabled {
                        count: tally.failures,
                        last_error,
                        since,
                    },
                    (Some(last_error), _) => HealthChange::Failed {
                        count: tally.failures,
                        last_error,
                        // Only when nothing got through, and the destination (not a
                        // message) failed: a throttled entry among many is no outage.
                        opening: (tally.delivered == 0 && tally.destination_failures > 0)
                            .then(|| circuit.opens(before.consecutive_failures, tally.failures, now))
                            .flatten(),
                    },
                    (None, _) if tally.retried || before.consecutive_failures > 0 => HealthChange::Recovered {
                        catch_up: before.circuit_open_until.is_some(),
                    },
                    (None, _) => return None,
                };
                Some((subscription, change))
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
    /// report, and the next invocation writes it again. Returns the circuits it
    /// opened and closed.
    pub async fn apply(&self, changes: Vec<(SubscriptionRef, HealthChange)>, now: DateTime<Utc>) -> Switched {
        // A bounded number at once: a batch may touch many tenants' subscriptions.
        let writes = changes.into_iter().map(|(s, change)| async move {
            let opening = match &change {
                HealthChange::Failed { opening, .. } => *opening,
                _ => None,
            };
            let closes = matches!(change, HealthChange::Recovered { catch_up: true });
            if let HealthChange::Disabled { since, .. } = &change {
                tracing::warn!(tenant = %s.tenant, subscription_id = %s.subscription_id, failing_since = %since,
                    "deliveries failed without a break for too long; subscription deactivated");
            }
            let result = self
                .records
                .patch(&s.tenant, &s.subscription_id, |update| match change {
                    HealthChange::Failed { count, last_error, .. } => update
                        .update_expression(
                            "SET delivery.consecutiveFailures = delivery.consecutiveFailures + :n, \
                             delivery.lastError = :error, delivery.lastFailureAt = :at, \
                             delivery.failingSince = if_not_exists(delivery.failingSince, :at)",
                        )
                        .condition_expression("attribute_exists(delivery)")
                        .expression_attribute_values(":n", AttributeValue::N(count.to_string()))
                        .expression_attribute_values(":error", AttributeValue::S(last_error.chars().take(1000).collect()))
                        .expression_attribute_values(":at", AttributeValue::S(rfc3339_millis::format(&now))),
                    HealthChange::Disabled {
                        count,
                        last_error,
                        since,
                    } => update
                        .update_expression(
                            "SET active = :inactive, \
                             delivery.consecutiveFailures = delivery.consecutiveFailures + :n, \
                             delivery.lastError = :error, delivery.lastFailureAt = :at, \
                             delivery.disabledAt = :at, delivery.disabledReason = :reason",
                        )
                        // Not if it recovered or was changed meanwhile.
                        .condition_expression("delivery.failingSince = :since AND active = :active")
                        .expression_attribute_values(":inactive", AttributeValue::Bool(false))
                        .expression_attribute_values(":active", AttributeValue::Bool(true))
                        .expression_attribute_values(":n", AttributeValue::N(count.to_string()))
                        .expression_attribute_values(":error", AttributeValue::S(last_error.chars().take(1000).collect()))
                        .expression_attribute_values(":at", AttributeValue::S(rfc3339_millis::format(&now)))
                        .expression_attribute_values(":since", AttributeValue::S(rfc3339_millis::format(&since)))
                        .expression_attribute_values(
                            ":reason",
                            AttributeValue::S(format!(
                                "deliveries failed without a break since {}; reactivate with a PUT of \"active\": true, \
                                 then redrive its dead letters",
                                rfc3339_millis::format(&since)
                            )),
                        ),
                    // Only as the record was read: a circuit opened meanwhile by another
                    // invocation is not closed by a write that would start no catch-up
                    // (its next probe closes it), nor one closed meanwhile twice.
                    HealthChange::Recovered { catch_up } => update
                        .update_expression(
                            "SET delivery.consecutiveFailures = :zero REMOVE delivery.failingSince, delivery.circuitOpenUntil",
                        )
                        .condition_expression(if catch_up {
                            "delivery.consecutiveFailures > :zero AND attribute_exists(delivery.circuitOpenUntil)"
                        } else {
                            "delivery.consecutiveFailures > :zero AND attribute_not_exists(delivery.circuitOpenUntil)"
                        })
                        .expression_attribute_values(":zero", AttributeValue::N("0".into())),
                })
                .await;
            if let Err(err) = &result {
                tracing::warn!(tenant = %s.tenant, subscription_id = %s.subscription_id, error = %err, "could not record delivery health");
            }
            match (result, opening) {
                (Ok(true), Some(opening)) if self.open(&s, opening).await => Some((s, Some(opening.until))),
                (Ok(true), None) if closes => Some((s, None)),
                _ => None,
            }
        });
        let mut switched = Switched::default();
        let mut done = stream::iter(writes).buffer_unordered(WRITES_AT_ONCE);
        while let Some(change) = done.next().await {
            match change {
                Some((s, Some(until))) => switched.opened.push((s, until)),
                Some((s, None)) => switched.closed.push(s),
                None => {}
            }
        }
        switched
    }
}

/// The circuits one `apply` switched.
#[derive(Debug, Default)]
pub struct Switched {
    /// Opened, and until when: their probes are this invocation's to queue.
    pub opened: Vec<(SubscriptionRef, DateTime<Utc>)>,
    /// Closed (the conditional write makes that one invocation): their
    /// catch-ups are this invocation's to start.
    pub closed: Vec<SubscriptionRef>,
}

impl HealthRecorder {
    /// Opens the subscription's circuit, unless a success reset its failures
    /// since they were read (another invocation's probe got through). True if
    /// it did.
    async fn open(&self, s: &SubscriptionRef, opening: Opening) -> bool {
        let opened = self
            .records
            .patch(&s.tenant, &s.subscription_id, |update| {
                update
                    .update_expression("SET delivery.circuitOpenUntil = :until")
                    .condition_expression("delivery.consecutiveFailures >= :after")
                    .expression_attribute_values(":until", AttributeValue::S(rfc3339_millis::format(&opening.until)))
                    .expression_attribute_values(":after", AttributeValue::N(opening.after.to_string()))
            })
            .await;
        match opened {
            Ok(true) => {
                tracing::warn!(tenant = %s.tenant, subscription_id = %s.subscription_id,
                    until = %rfc3339_millis::format(&opening.until), "deliveries failed without a break; circuit opened");
                true
            }
            Ok(false) => false,
            Err(err) => {
                tracing::warn!(tenant = %s.tenant, subscription_id = %s.subscription_id, error = %err, "could not open the circuit");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::fanout::plan::{Delivery, Target};
    use crate::subscriptions::{DeliveryHealth, fixtures};
    use crate::tenant::TenantId;

    fn delivery(subscription: &str) -> Delivery {
        Delivery::of("acme", Some(subscription))
    }

    fn circuit() -> Circuit {
        Circuit::deployed()
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
        let changes = HealthReport::new(&plan).with_failures(&failed).changes(
            &subscriptions,
            Utc::now(),
            Duration::days(3),
            &circuit(),
        );
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
                        last_error: "second".into(),
                        opening: None
                    }
                ),
                (named("healed"), HealthChange::Recovered { catch_up: false }),
            ]
        );
    }

    #[test]
    fn a_subscription_failing_without_a_break_for_too_long_is_disabled() {
        // GIVEN a subscription failing since four days, another since one
        let now = Utc::now();
        let failing = |id: &str, days: i64| Subscription {
            delivery: DeliveryHealth {
                consecutive_failures: 9,
                failing_since: Some(now - Duration::days(days)),
                ..DeliveryHealth::default()
            },
            ..fixtures::subscription(id)
        };
        let target = Target::own_bus("b");
        let plan = DeliveryPlan::from([(target.clone(), vec![delivery("old"), delivery("new")])]);
        let failed: Vec<Failed> = ["old", "new"]
            .into_iter()
            .map(|id| Failed {
                target: target.clone(),
                delivery: delivery(id),
                reason: "DESTINATION_UNREACHABLE".into(),
                permanent: false,
            })
            .collect();
        let acme = TenantId::parse("acme").expect("tenant");
        let subscriptions = SubscriptionsByTenant::from([(acme, Arc::from([failing("old", 4), failing("new", 1)]))]);
        // WHEN both fail again, three days being the limit
        let changes =
            HealthReport::new(&plan)
                .with_failures(&failed)
                .changes(&subscriptions, now, Duration::days(3), &circuit());
        // THEN the older is disabled (since when it failed), the newer only counted
        assert!(
            matches!(&changes[1].1, HealthChange::Disabled { since, .. } if *since == now - Duration::days(4)),
            "{changes:?}"
        );
        assert!(
            matches!(&changes[0].1, HealthChange::Failed { count: 1, .. }),
            "{changes:?}"
        );
    }

    #[test]
    fn the_tenth_failure_in_a_row_opens_the_circuit() {
        let now = Utc::now();
        let target = Target::own_bus("b");
        let plan = DeliveryPlan::from([(target.clone(), vec![delivery("down")])]);
        let failed = [Failed {
            target,
            delivery: delivery("down"),
            reason: "DESTINATION_UNREACHABLE".into(),
            permanent: false,
        }];
        let acme = TenantId::parse("acme").expect("tenant");
        let subscriptions = SubscriptionsByTenant::from([(acme, Arc::from([subscription("down", 9)]))]);
        let changes =
            HealthReport::new(&plan)
                .with_failures(&failed)
                .changes(&subscriptions, now, Duration::days(3), &circuit());
        assert!(
            matches!(&changes[0].1, HealthChange::Failed { opening: Some(o), .. } if o.until == now + Duration::seconds(60) && o.after == 10),
            "{changes:?}"
        );
    }

    #[test]
    fn a_batch_where_some_got_through_or_only_messages_were_refused_opens_no_circuit() {
        let now = Utc::now();
        let target = Target::own_bus("b");
        let plan = DeliveryPlan::from([(target.clone(), vec![delivery("busy"), delivery("refused")])]);
        let failed = |id: &str, permanent: bool| Failed {
            target: target.clone(),
            delivery: delivery(id),
            reason: "THROTTLED".into(),
            permanent,
        };
        let got_through = Delivered {
            origin: delivery("busy").origin,
            failures: 0,
            latency_ms: 5,
        };
        let acme = TenantId::parse("acme").expect("tenant");
        let subscriptions =
            SubscriptionsByTenant::from([(acme, Arc::from([subscription("busy", 9), subscription("refused", 9)]))]);
        let changes = HealthReport::new(&plan)
            .with_failures(&[failed("busy", false), failed("refused", true)])
            .with_delivered(&[got_through])
            .changes(&subscriptions, now, Duration::days(3), &circuit());
        assert!(
            changes
                .iter()
                .all(|(_, c)| matches!(c, HealthChange::Failed { opening: None, .. })),
            "{changes:?}"
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
        let changes =
            HealthReport::new(&plan)
                .with_failures(&[])
                .changes(&stale, Utc::now(), Duration::days(3), &circuit());
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].1, HealthChange::Recovered { catch_up: false });
    }
}
