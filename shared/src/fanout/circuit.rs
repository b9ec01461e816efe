//! The circuit breaker: a subscription whose deliveries failed `failures` times
//! in a row is not tried again for a cool-off (twice the first retry delay:
//! a minute as deployed). Its deliveries meanwhile go to the retry queue at
//! once, each counted as a failure, without a call, a health write or an attempt
//! record; the first invocation after the cool-off tries them (the probe): a
//! success closes the circuit, a failure opens it for another cool-off. Its
//! state is the subscription's `delivery.circuitOpenUntil`, written with its
//! health, so every concurrent invocation sees it. A destination that is down
//! then costs the batches it shares with healthy ones a parking call, not a
//! failing call, its health write and its attempts' records.

use chrono::{DateTime, Duration, Utc};

use super::dispatch::Failed;
use super::health::Opening;
use super::plan::{DeliveryPlan, SubscriptionsByTenant};
use super::retry::RedeliveryPolicy;
use crate::tenant::TenantId;
use crate::util::rfc3339_millis;

/// What a held delivery's parked message says, before the last error.
pub const CIRCUIT_OPEN: &str = "CIRCUIT_OPEN";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Circuit {
    /// Failed deliveries in a row that open it.
    pub failures: u64,
    pub cool_off: Duration,
}

impl Circuit {
    /// The deployed defaults' circuit (8 failures, 30 s first delay): a minute's cool-off.
    #[cfg(test)]
    pub(super) fn deployed() -> Self {
        Self::for_retries(&RedeliveryPolicy {
            max_failures: 8,
            base_delay_seconds: 30,
        })
    }

    /// Ten failures in a row; a cool-off of twice the retries' first delay (at least a second).
    pub fn for_retries(policy: &RedeliveryPolicy) -> Self {
        Self {
            failures: 10,
            cool_off: Duration::seconds(i64::from(policy.base_delay_seconds.saturating_mul(2)).max(1)),
        }
    }

    /// The opening of the circuit of a subscription that had failed `before`
    /// times in a row and now failed `now_failed` more with nothing getting
    /// through, if that opens it.
    pub fn opens(&self, before: u64, now_failed: u64, now: DateTime<Utc>) -> Option<Opening> {
        (before.saturating_add(now_failed) >= self.failures).then(|| Opening {
            until: now + self.cool_off,
            after: self.failures,
        })
    }

    /// `plan` without the deliveries to subscriptions whose circuit is open at
    /// `now`, and those, as failures to park.
    pub fn hold(
        &self,
        plan: DeliveryPlan,
        subscriptions: &SubscriptionsByTenant,
        now: DateTime<Utc>,
    ) -> (DeliveryPlan, Vec<Failed>) {
        let open_until = |tenant: &TenantId, id: &str| {
            let all = subscriptions.get(tenant)?;
            let health = &all.iter().find(|s| s.id == id)?.delivery;
            let until = health.circuit_open_until.filter(|until| *until > now)?;
            Some((until, health.last_error.clone().unwrap_or_default()))
        };
        let mut kept = DeliveryPlan::new();
        let mut held = Vec::new();
        for (target, deliveries) in plan {
            for delivery in deliveries {
                let origin = &delivery.origin;
                let open = origin
                    .subscription_id
                    .as_deref()
                    .and_then(|id| open_until(&origin.tenant, id));
                match open {
                    Some((until, last_error)) => held.push(Failed {
                        target: target.clone(),
                        reason: format!(
                            "{CIRCUIT_OPEN}: not tried until {} after failing without a break; last error: {last_error}",
                            rfc3339_millis::format(&until)
                        ),
                        delivery,
                        permanent: false,
                    }),
                    None => kept.entry(target.clone()).or_default().push(delivery),
                }
            }
        }
        (kept, held)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::fanout::plan::{Delivery, Target};
    use crate::subscriptions::{DeliveryHealth, Subscription, fixtures};

    fn delivery(subscription: &str) -> Delivery {
        Delivery::of("acme", Some(subscription))
    }

    fn circuit() -> Circuit {
        Circuit::deployed()
    }

    #[test]
    fn ten_failures_in_a_row_open_it_for_twice_the_first_retry_delay() {
        let now = Utc::now();
        assert_eq!(circuit().opens(7, 2, now), None);
        assert_eq!(
            circuit().opens(7, 3, now),
            Some(Opening {
                until: now + Duration::seconds(60),
                after: 10
            })
        );
        let compressed = Circuit::for_retries(&RedeliveryPolicy {
            max_failures: 6,
            base_delay_seconds: 0,
        });
        assert_eq!(compressed.cool_off, Duration::seconds(1));
    }

    #[test]
    fn deliveries_to_an_open_circuit_are_held_and_the_rest_sent() {
        // GIVEN "down" open until a minute from now, "over" open until a second ago
        let now = Utc::now();
        let with_circuit = |id: &str, until: DateTime<Utc>| Subscription {
            delivery: DeliveryHealth {
                consecutive_failures: 12,
                last_error: Some("DESTINATION_UNREACHABLE".into()),
                circuit_open_until: Some(until),
                ..DeliveryHealth::default()
            },
            ..fixtures::subscription(id)
        };
        let acme = TenantId::parse("acme").expect("tenant");
        let subscriptions = SubscriptionsByTenant::from([(
            acme,
            Arc::from([
                with_circuit("down", now + Duration::minutes(1)),
                with_circuit("over", now - Duration::seconds(1)),
                fixtures::subscription("fine"),
            ]),
        )]);
        let target = Target::own_bus("b");
        let plan = DeliveryPlan::from([(
            target.clone(),
            vec![delivery("down"), delivery("over"), delivery("fine"), delivery("down")],
        )]);
        // WHEN the plan goes through the breaker
        let (kept, held) = circuit().hold(plan, &subscriptions, now);
        // THEN both of down's deliveries wait, saying why; the probe and the healthy one go
        let ids =
            |ds: &[Delivery]| -> Vec<String> { ds.iter().filter_map(|d| d.origin.subscription_id.clone()).collect() };
        assert_eq!(ids(&kept[&target]), ["over", "fine"]);
        assert_eq!(held.len(), 2);
        assert!(
            held.iter()
                .all(|f| f.reason.starts_with("CIRCUIT_OPEN: not tried until")
                    && f.reason.ends_with("DESTINATION_UNREACHABLE")
                    && !f.permanent)
        );
    }
}
