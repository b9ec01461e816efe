//! The paced queue's consumer (fanout-paced): each lane taken in order
//! (pacing.rs). A rate-limited subscription's lane sends as many deliveries as
//! this second's grant allows and hides the rest for a second. A delivery that
//! fails, or that an open circuit holds back, stays at the head of its lane for
//! its backoff: SQS serves none of the lane's later messages before it. One
//! that can never be delivered becomes its subscription's dead letter.

use std::collections::{BTreeSet, HashMap};

use aws_lambda_events::event::sqs::SqsMessage;
use chrono::{DateTime, Utc};
use futures_util::future::join_all;

use super::app::Fanout;
use super::on_retry::Again;
use super::pacing::{WAIT_SECONDS, Waiting, lane, rate_limit};
use super::plan::{Delivery, DeliveryPlan, Origin, SubscriptionRef, SubscriptionsByTenant, Target};

/// The SQS attribute that names a FIFO message's group: its lane.
const GROUP_ATTRIBUTE: &str = "MessageGroupId";
/// The SQS attribute that counts a message's receives.
const RECEIVE_COUNT_ATTRIBUTE: &str = "ApproximateReceiveCount";

/// A lane, its subscription, and its messages in this batch, in order.
struct Lane {
    name: String,
    subscription: Option<SubscriptionRef>,
    messages: Vec<(Waiting, Delivery)>,
}

/// A lane's delivery that may be sent: its message, origin, target and delivery.
type Sendable = (Waiting, Origin, Target, Delivery);

/// A lane ready to be served: its subscription, its rate limit, how long its
/// open circuit still holds it, and what it may send.
struct Ready {
    subscription: Option<SubscriptionRef>,
    rate: Option<u32>,
    open_for: Option<i32>,
    sendable: Vec<Sendable>,
}

impl Fanout {
    /// Sends a batch of the paced queue, each lane in order; returns the message
    /// ids to report as batch item failures (those that wait in their lanes,
    /// and those that could be neither sent nor parked).
    pub async fn paced_batch(&self, messages: &[SqsMessage]) -> Vec<String> {
        let mut failed = BTreeSet::new();
        let mut lanes: Vec<Lane> = Vec::new();
        for message in messages {
            let id = message.message_id.clone().unwrap_or_default();
            let mut delivery = match self.parked_delivery(&id, message).await {
                Ok(Some(delivery)) => delivery,
                Ok(None) => continue,
                Err(()) => {
                    failed.insert(id);
                    continue;
                }
            };
            // A lane's head that failed was received once a try: its tries so
            // far, for its backoff (a rate-limited lane's waits count too, which
            // only lengthens it).
            let received: u32 = message
                .attributes
                .get(RECEIVE_COUNT_ATTRIBUTE)
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            delivery.failures = delivery.failures.max(received.saturating_sub(1));
            let subscription = delivery.origin.subscription();
            let name = message.attributes.get(GROUP_ATTRIBUTE).cloned().unwrap_or_else(|| {
                subscription
                    .as_ref()
                    .map(|s| lane(s, delivery.message.group_id.as_deref()))
                    .unwrap_or_default()
            });
            let waiting = Waiting {
                message_id: id,
                receipt_handle: message.receipt_handle.clone().unwrap_or_default(),
            };
            match lanes.iter_mut().find(|l| l.name == name) {
                Some(lane) => lane.messages.push((waiting, delivery)),
                None => lanes.push(Lane {
                    name,
                    subscription,
                    messages: vec![(waiting, delivery)],
                }),
            }
        }
        let tenants = lanes
            .iter()
            .filter_map(|lane| Some(lane.subscription.as_ref()?.tenant.clone()))
            .collect();
        let (subscriptions, unreadable) = self.subscriptions.for_tenants(tenants).await;
        for (tenant, err) in &unreadable {
            tracing::error!(%tenant, error = %err, "could not read subscriptions; the tenant's lanes wait");
        }
        let now = Utc::now();
        let mut sources: HashMap<Origin, Vec<Waiting>> = HashMap::new();
        let mut given_up = Vec::new();
        let mut ready: Vec<Ready> = Vec::new();
        for lane in lanes {
            let mut sendable = Vec::new();
            let mut rate = None;
            for (message, delivery) in lane.messages {
                let origin = delivery.origin.clone();
                rate = rate.or_else(|| rate_limit(&delivery, &subscriptions));
                match self.again(delivery, &subscriptions, now) {
                    Again::Send(target, delivery) => sendable.push((message, origin, target, delivery)),
                    Again::GiveUp(gone) => {
                        sources.entry(origin).or_default().push(message);
                        given_up.push(gone);
                    }
                    Again::Drop => {}
                    Again::Unreadable => {
                        failed.insert(message.message_id);
                    }
                }
            }
            let open_for = lane
                .subscription
                .as_ref()
                .and_then(|l| circuit_open_for(l, &subscriptions, now));
            ready.push(Ready {
                subscription: lane.subscription,
                rate,
                open_for,
                sendable,
            });
        }
        // One grant a rate-limited lane, all lanes' at once; none for a lane
        // whose circuit is open (it waits, and spends nothing of its rate).
        let grants = join_all(ready.iter().map(|lane| async move {
            match (&lane.subscription, lane.rate) {
                _ if lane.open_for.is_some() => 0,
                (Some(subscription), Some(rate)) if !lane.sendable.is_empty() => {
                    self.pacing.grant(subscription, lane.sendable.len(), rate).await
                }
                // No limit (or one taken off since): as fast as the lane is read.
                _ => lane.sendable.len(),
            }
        }))
        .await;
        let mut plan = DeliveryPlan::new();
        let mut hidden: Vec<(Waiting, i32)> = Vec::new();
        // How long the longest-waiting delivery held back here has been in its
        // lane: the metric FanoutPacedBacklogAlarm watches (SQS's own age of the
        // oldest message leaves out messages received three times or more).
        let mut oldest = 0;
        for (
            Ready {
                subscription,
                rate,
                open_for,
                sendable,
            },
            granted,
        ) in ready.into_iter().zip(grants)
        {
            if let (Some(lane), Some(rate)) = (&subscription, rate)
                && granted < sendable.len()
            {
                tracing::info!(tenant = %lane.tenant, subscription_id = %lane.subscription_id, rate,
                    waiting = sendable.len() - granted, "lane over its rate; the rest waits a second");
            }
            for (n, (message, origin, target, delivery)) in sendable.into_iter().enumerate() {
                if n < granted {
                    sources.entry(origin).or_default().push(message);
                    plan.entry(target).or_default().push(delivery);
                } else {
                    oldest = oldest.max(waited(&delivery, now));
                    hidden.push((message, open_for.unwrap_or(WAIT_SECONDS)));
                }
            }
        }
        let sent: usize = plan.values().map(Vec::len).sum();
        let mut lost = self.queues.park(given_up).await;
        let outcome = self.deliver_paced(plan, &subscriptions).await;
        lost.extend(outcome.lost);
        for (held, _) in &outcome.held {
            oldest = oldest.max(waited(&held.delivery, now));
        }
        tracing::info!(
            sent,
            waiting = hidden.len(),
            held = outcome.held.len(),
            oldest_waiting_seconds = oldest,
            "lanes served"
        );
        for (held, seconds) in outcome.held {
            for message in sources.remove(&held.delivery.origin).unwrap_or_default() {
                hidden.push((message, seconds));
            }
        }
        for lost in lost {
            failed.extend(
                sources
                    .remove(&lost.delivery.origin)
                    .into_iter()
                    .flatten()
                    .map(|m| m.message_id),
            );
        }
        self.pacing.hold_back(&hidden).await;
        failed.extend(hidden.into_iter().map(|(m, _)| m.message_id));
        failed.into_iter().collect()
    }
}

/// Seconds until `lane`'s subscription's open circuit may be probed; `None`
/// when it is closed or half open (then a delivery probes it).
fn circuit_open_for(lane: &SubscriptionRef, subscriptions: &SubscriptionsByTenant, now: DateTime<Utc>) -> Option<i32> {
    let until = subscriptions
        .get(&lane.tenant)?
        .iter()
        .find(|s| s.id == lane.subscription_id)?
        .delivery
        .circuit_open_until?;
    let seconds = (until - now).num_seconds();
    (seconds > 0).then(|| i32::try_from(seconds.min(900)).unwrap_or(900))
}

/// Seconds `delivery` has been in its lane.
fn waited(delivery: &Delivery, now: DateTime<Utc>) -> i64 {
    delivery
        .parked_since
        .map_or(0, |since| (now - since).num_seconds().max(0))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::subscriptions::fixtures::subscription;
    use crate::tenant::TenantId;

    #[test]
    fn an_open_circuit_holds_its_lanes_until_it_may_be_probed_and_a_half_open_one_does_not() {
        // GIVEN a subscription whose circuit is open for 30 s more, and one half open
        let now = Utc::now();
        let tenant = TenantId::parse("t").expect("tenant");
        let mut open = subscription("open");
        open.delivery.circuit_open_until = Some(now + chrono::Duration::seconds(30));
        let mut half = subscription("half");
        half.delivery.circuit_open_until = Some(now - chrono::Duration::seconds(1));
        let subscriptions = SubscriptionsByTenant::from([(tenant.clone(), Arc::from(vec![open, half]))]);
        let lane = |id: &str| SubscriptionRef {
            tenant: tenant.clone(),
            subscription_id: id.into(),
        };
        // THEN the open one's lanes wait 30 s (no grant asked), the half-open one's are served
        assert_eq!(circuit_open_for(&lane("open"), &subscriptions, now), Some(30));
        assert_eq!(circuit_open_for(&lane("half"), &subscriptions, now), None);
        assert_eq!(circuit_open_for(&lane("unknown"), &subscriptions, now), None);
    }
}
