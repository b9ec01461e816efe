//! The circuit breaker: a subscription whose deliveries failed `failures` times
//! in a row is not tried again for a cool-off (`CircuitCoolOffSeconds`: a
//! minute by default). Its deliveries meanwhile are kept untried as its dead
//! letters (`lastError` CIRCUIT_OPEN), without a call, a health write or an
//! attempt record. Once the cool-off has passed the circuit is half open: each
//! invocation tries one delivery (the probe) and keeps the rest; a failed probe
//! opens it for another cool-off, and the first success closes it and sends the
//! kept deliveries again (catch_up.rs). Its state is the subscription's
//! `delivery.circuitOpenUntil`, written with its health, so every concurrent
//! invocation sees it. A destination that is down then costs one try per
//! cool-off and one write per delivery, not a retry message cycling through the
//! retry queue for each of its deliveries.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};

use super::dispatch::Failed;
use super::health::Opening;
use super::plan::{DeliveryPlan, SubscriptionRef, SubscriptionsByTenant};
use super::retry::RedeliveryPolicy;
use crate::config::{ConfigError, Environment};
use crate::util::rfc3339_millis;

/// Seconds an open circuit waits before its probe. template.yaml sets it
/// (`CircuitCoolOffSeconds`, 60 by default); unset, twice the first retry delay.
pub const COOL_OFF_VARIABLE: &str = "CIRCUIT_COOL_OFF_SECONDS";

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

    /// `for_retries`, with the cool-off `CIRCUIT_COOL_OFF_SECONDS` (1 s to an
    /// hour) when set. Each open circuit costs a probe per cool-off (per
    /// invocation that has its deliveries in hand): the system harness, which
    /// compresses the retries thirtyfold, keeps the probes at a deployed pace
    /// with it.
    pub fn read(env: &Environment, policy: &RedeliveryPolicy) -> Result<Self, ConfigError> {
        let default = Self::for_retries(policy);
        Ok(Self {
            cool_off: env.duration(
                COOL_OFF_VARIABLE,
                Duration::seconds,
                default.cool_off.num_seconds(),
                1..=3600,
            )?,
            ..default
        })
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

    /// `plan` without the deliveries its circuits hold back at `now`, and those,
    /// as failures to keep: all of an open circuit's, and all but the first
    /// (the probe) of a half-open one's.
    pub fn hold(
        &self,
        plan: DeliveryPlan,
        subscriptions: &SubscriptionsByTenant,
        now: DateTime<Utc>,
    ) -> (DeliveryPlan, Vec<Failed>) {
        let circuit_of = |owner: &SubscriptionRef| {
            let all = subscriptions.get(&owner.tenant)?;
            let health = &all.iter().find(|s| s.id == owner.subscription_id)?.delivery;
            let until = health.circuit_open_until?;
            Some((until, health.last_error.clone().unwrap_or_default()))
        };
        let mut probing: HashSet<SubscriptionRef> = HashSet::new();
        let mut kept = DeliveryPlan::new();
        let mut held = Vec::new();
        for (target, deliveries) in plan {
            for delivery in deliveries {
                let owner = delivery.origin.subscription();
                let circuit = owner.as_ref().and_then(circuit_of);
                let hold = match (&circuit, owner) {
                    (Some((until, _)), _) if *until > now => true,
                    // Half open: the first delivery probes, the rest wait for its answer.
                    (Some(_), Some(owner)) => !probing.insert(owner),
                    _ => false,
                };
                match circuit {
                    Some((until, last_error)) if hold => held.push(Failed {
                        target: target.clone(),
                        reason: format!(
                            "{CIRCUIT_OPEN}: kept untried, to be sent again once a delivery gets through \
                             (next try after {}); last error: {last_error}",
                            rfc3339_millis::format(&until)
                        ),
                        delivery,
                        permanent: false,
                    }),
                    _ => kept.entry(target.clone()).or_default().push(delivery),
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
    use crate::tenant::TenantId;

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
    fn an_open_circuit_holds_every_delivery_and_a_half_open_one_lets_one_probe_through() {
        // GIVEN "down" open until a minute from now, "over" open until a second ago (half open)
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
            vec![
                delivery("down"),
                delivery("over"),
                delivery("fine"),
                delivery("down"),
                delivery("over"),
            ],
        )]);
        // WHEN the plan goes through the breaker
        let (kept, held) = circuit().hold(plan, &subscriptions, now);
        // THEN both of down's deliveries wait, saying why; over's first delivery
        // probes and its second waits for the answer; the healthy one goes
        let ids =
            |ds: &[Delivery]| -> Vec<String> { ds.iter().filter_map(|d| d.origin.subscription_id.clone()).collect() };
        assert_eq!(ids(&kept[&target]), ["over", "fine"]);
        let held_deliveries: Vec<Delivery> = held.iter().map(|f| f.delivery.clone()).collect();
        assert_eq!(ids(&held_deliveries), ["down", "down", "over"]);
        assert!(held.iter().all(|f| f.reason.starts_with("CIRCUIT_OPEN: kept untried")
            && f.reason.ends_with("DESTINATION_UNREACHABLE")
            && !f.permanent));
    }
}
