//! Lanes: deliveries that must go out one after another, in the order they
//! were routed, through the stack's paced FIFO queue, one message group a lane.
//!
//! - A subscription with a rate limit (`rateLimit`, messages a second) has one
//!   lane. fanout-paced takes its deliveries in order and sends as many as the
//!   subscription's counter for the current second grants (one counter a
//!   subscription and second in the rates table, shared by every container,
//!   storage/second_counter.rs); the rest of the lane's batch is hidden for a
//!   second and handed back, and SQS holds the lane's later messages behind
//!   them. So it is sent at most its rate in any second, whatever the number of
//!   fan-out invocations, and in the order its deliveries arrived.
//! - A subscription to a FIFO queue or topic has a lane per message group (the
//!   event's entity): a delivery that fails, or that an open circuit holds back,
//!   stays at the head of its lane for its backoff instead of going to the
//!   unordered retry queue, so the entity's later events wait behind it.
//!
//! Their deliveries are never sent by the function that routed them (the
//! fan-out, the retry consumer, a replay): they join their lanes.

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry;
use chrono::Utc;

use super::dispatch::Failed;
use super::message::MAX_BATCH_ENTRIES;
use super::plan::{Delivery, DeliveryPlan, SubscriptionRef, SubscriptionsByTenant, Target};
use super::retry::{lane_message, unsent};
use super::sqs::SqsSender;
use crate::storage::SecondCounter;

/// What a delivery's message says while it waits in its lane.
pub const PACED: &str = "PACED: in its lane (the subscription's order or rate limit)";

/// How long a lane's deliveries over this second's grant stay hidden: SQS counts
/// visibility in whole seconds, and the next second brings a new grant.
pub const WAIT_SECONDS: i32 = 1;

/// The paced queue and the counters its consumer takes grants from.
pub struct Pacing {
    client: aws_sdk_sqs::Client,
    sender: SqsSender,
    queue_url: String,
    counter: SecondCounter,
}

/// A lane's message that is not sent this time: its id (reported as failed) and
/// receipt handle (to hide it until the next second).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub message_id: String,
    pub receipt_handle: String,
}

impl Pacing {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String, counter: SecondCounter) -> Self {
        Self {
            sender: SqsSender::new(client.clone(), 3),
            client,
            queue_url,
            counter,
        }
    }

    /// Puts each delivery in its lane, in order. Returns those that could not
    /// be (the caller must not acknowledge their source).
    pub async fn enqueue(&self, paced: Vec<(String, Failed)>) -> Vec<Failed> {
        if paced.is_empty() {
            return Vec::new();
        }
        let now = Utc::now();
        let messages = paced.iter().map(|(lane, p)| lane_message(p, lane, now)).collect();
        let undelivered = self.sender.send(&self.queue_url, messages).await;
        unsent(paced.into_iter().map(|(_, p)| p).collect(), undelivered)
    }

    /// How many of `wanted` deliveries `subscription` may be sent now, at
    /// `per_second`. None when its counter cannot be read: they wait.
    pub async fn grant(&self, subscription: &SubscriptionRef, wanted: usize, per_second: u32) -> usize {
        let wanted = u32::try_from(wanted).unwrap_or(u32::MAX);
        let key = format!("S#{}#{}", subscription.tenant, subscription.subscription_id);
        match self
            .counter
            .take(&key, Utc::now().timestamp(), wanted, 0, per_second)
            .await
        {
            Ok(granted) => usize::try_from(granted).unwrap_or(0),
            Err(err) => {
                tracing::warn!(tenant = %subscription.tenant, subscription_id = %subscription.subscription_id,
                    error = %err, "the delivery rate counter failed; the lane waits");
                0
            }
        }
    }

    /// Hides each of `waiting` for its seconds (the rest of a second, or a held
    /// delivery's backoff). One that cannot be hidden comes back after the
    /// queue's visibility timeout instead: later, never lost.
    pub async fn hold_back(&self, waiting: &[(Waiting, i32)]) {
        for chunk in waiting.chunks(MAX_BATCH_ENTRIES) {
            let entries = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, (w, seconds))| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&w.receipt_handle)
                        .visibility_timeout(*seconds)
                        .build()
                        .ok()
                })
                .collect();
            let answer = self
                .client
                .change_message_visibility_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await;
            match answer {
                Ok(answer) if answer.failed().is_empty() => {}
                Ok(answer) => tracing::warn!(
                    failed = answer.failed().len(),
                    "some waiting deliveries could not be hidden for a second; they come back later"
                ),
                Err(err) => {
                    tracing::warn!(error = %DisplayErrorContext(err), "waiting deliveries could not be hidden for a second; they come back later")
                }
            }
        }
    }
}

/// `plan` without the deliveries that go through lanes (rate-limited
/// subscriptions', and those to FIFO destinations), and those with their lanes,
/// in the plan's order (each lane's in the order they were routed).
pub fn split(plan: DeliveryPlan, subscriptions: &SubscriptionsByTenant) -> (DeliveryPlan, Vec<(String, Failed)>) {
    let mut now = DeliveryPlan::new();
    let mut paced = Vec::new();
    for (target, deliveries) in plan {
        for delivery in deliveries {
            match lane_of(&target, &delivery, subscriptions) {
                Some(lane) => paced.push((
                    lane,
                    Failed {
                        target: target.clone(),
                        delivery,
                        reason: PACED.to_owned(),
                        permanent: false,
                    },
                )),
                None => now.entry(target.clone()).or_default().push(delivery),
            }
        }
    }
    (now, paced)
}

/// The lane `delivery` goes through, if any: its subscription's and message
/// group's when `target` keeps order (whether or not it has a rate limit, so a
/// limit set or taken off never moves an entity to another lane); its
/// subscription's when that has a rate limit.
fn lane_of(target: &Target, delivery: &Delivery, subscriptions: &SubscriptionsByTenant) -> Option<String> {
    let subscription = delivery.origin.subscription()?;
    if target.is_fifo() {
        Some(lane(&subscription, delivery.message.group_id.as_deref()))
    } else if rate_limit(delivery, subscriptions).is_some() {
        Some(lane(&subscription, None))
    } else {
        None
    }
}

/// The rate limit of the subscription `delivery` is for, if it has one.
pub fn rate_limit(delivery: &Delivery, subscriptions: &SubscriptionsByTenant) -> Option<u32> {
    let id = delivery.origin.subscription_id.as_ref()?;
    subscriptions
        .get(&delivery.origin.tenant)?
        .iter()
        .find(|s| &s.id == id)?
        .rate_limit
}

/// A lane: its message group on the paced queue, for `subscription` (and one
/// of its destination's message groups). A name SQS takes whatever the ids'
/// length (at most 128 characters of its set).
pub fn lane(subscription: &SubscriptionRef, group: Option<&str>) -> String {
    let key = format!(
        "{}\n{}\n{}",
        subscription.tenant,
        subscription.subscription_id,
        group.unwrap_or_default()
    );
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, key.as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::subscriptions::fixtures::subscription;
    use crate::tenant::TenantId;

    fn queue() -> Target {
        Target::Queue {
            url: "https://sqs.eu-west-1.amazonaws.com/123456789012/orders".into(),
            region: "eu-west-1".into(),
            credentials: None,
            role: None,
        }
    }

    #[test]
    fn a_rate_limited_subscriptions_deliveries_leave_the_plan_in_order() {
        // GIVEN tenant t's subscriptions: "slow" at 5 a second, "fast" unlimited
        let tenant = TenantId::parse("t").expect("tenant");
        let mut slow = subscription("slow");
        slow.rate_limit = Some(5);
        let fast = subscription("fast");
        let subscriptions = SubscriptionsByTenant::from([(tenant, Arc::from(vec![slow, fast]))]);
        // AND a plan of three deliveries to each, interleaved
        let mut plan = DeliveryPlan::new();
        for n in 0..3 {
            for id in ["slow", "fast"] {
                let mut delivery = Delivery::of("t", Some(id));
                delivery.origin.event_id = format!("e{n}");
                plan.entry(queue()).or_default().push(delivery);
            }
        }
        // WHEN it is split
        let (now, paced) = split(plan, &subscriptions);
        // THEN "fast" is sent now and "slow" goes to its lane, e0, e1, e2
        let ids = |ds: Vec<&Delivery>| ds.iter().map(|d| d.origin.event_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(now[&queue()].iter().collect()), ["e0", "e1", "e2"]);
        assert!(
            now[&queue()]
                .iter()
                .all(|d| d.origin.subscription_id.as_deref() == Some("fast"))
        );
        assert_eq!(
            ids(paced.iter().map(|(_, p)| &p.delivery).collect()),
            ["e0", "e1", "e2"]
        );
        assert!(
            paced
                .iter()
                .all(|(_, p)| p.delivery.origin.subscription_id.as_deref() == Some("slow"))
        );
        assert!(paced.iter().all(|(lane, _)| *lane == paced[0].0), "one lane");
    }

    #[test]
    fn a_fifo_subscriptions_deliveries_go_through_a_lane_per_message_group() {
        // GIVEN an unlimited subscription to a FIFO queue, and deliveries of two entities
        let tenant = TenantId::parse("t").expect("tenant");
        let subscriptions = SubscriptionsByTenant::from([(tenant, Arc::from(vec![subscription("ordered")]))]);
        let fifo = Target::Queue {
            url: "https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo".into(),
            region: "eu-west-1".into(),
            credentials: None,
            role: None,
        };
        let mut plan = DeliveryPlan::new();
        for group in ["ORD-1", "ORD-2", "ORD-1"] {
            let mut delivery = Delivery::of("t", Some("ordered"));
            delivery.message.group_id = Some(group.into());
            plan.entry(fifo.clone()).or_default().push(delivery);
        }
        // WHEN it is split
        let (now, paced) = split(plan, &subscriptions);
        // THEN none is sent now; ORD-1's two share a lane, ORD-2's is another
        assert!(now.is_empty());
        let lanes: Vec<String> = paced.iter().map(|(lane, _)| lane.clone()).collect();
        assert_eq!(lanes[0], lanes[2]);
        assert_ne!(lanes[0], lanes[1]);
        // AND a rate limit set later keeps each entity in its lane
        let mut limited = subscription("ordered");
        limited.rate_limit = Some(5);
        let subscriptions =
            SubscriptionsByTenant::from([(TenantId::parse("t").expect("tenant"), Arc::from(vec![limited]))]);
        let mut plan = DeliveryPlan::new();
        plan.insert(fifo, paced.into_iter().map(|(_, p)| p.delivery).collect());
        let (_, limited_lanes) = split(plan, &subscriptions);
        let limited_lanes: Vec<String> = limited_lanes.into_iter().map(|(lane, _)| lane).collect();
        assert_eq!(limited_lanes, lanes);
    }

    #[test]
    fn a_lane_is_one_stable_group_name_within_sqss_limits() {
        let long = SubscriptionRef {
            tenant: TenantId::parse("t").expect("tenant"),
            subscription_id: "s".repeat(128),
        };
        assert_eq!(lane(&long, Some("ORD-1")), lane(&long.clone(), Some("ORD-1")));
        assert_ne!(lane(&long, Some("ORD-1")), lane(&long, Some("ORD-2")));
        assert!(lane(&long, None).len() <= 128);
    }
}
