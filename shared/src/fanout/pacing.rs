//! Subscriptions with a rate limit (`rateLimit`, messages a second). Their
//! deliveries are never sent by the function that routed them: they join the
//! subscription's lane, one message group of the paced FIFO queue, in the order
//! they were routed. fanout-paced takes each lane's deliveries in that order and
//! sends as many as the subscription's counter for the current second grants
//! (one counter a subscription and second in the rates table, shared by every
//! container, storage/second_counter.rs); the rest of the lane's batch is hidden
//! for a second and handed back, and SQS holds the lane's later messages behind
//! them. So a subscription is sent at most its rate in any second, whatever the
//! number of fan-out invocations, and in the order its deliveries arrived.

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry;
use chrono::Utc;

use super::dispatch::Failed;
use super::message::MAX_BATCH_ENTRIES;
use super::plan::{Delivery, DeliveryPlan, SubscriptionRef, SubscriptionsByTenant};
use super::retry::lane_message;
use super::sqs::SqsSender;
use crate::storage::SecondCounter;

/// What a paced delivery's message says while it waits in its lane.
pub const PACED: &str = "PACED: waiting for its subscription's rate limit";

/// How long a lane's deliveries over this second's grant stay hidden: SQS counts
/// visibility in whole seconds, and the next second brings a new grant.
const WAIT_SECONDS: i32 = 1;

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

    /// Puts `paced` in their subscriptions' lanes, in order. Returns those that
    /// could not be (the caller must not acknowledge their source).
    pub async fn enqueue(&self, paced: Vec<Failed>) -> Vec<Failed> {
        if paced.is_empty() {
            return paced;
        }
        let now = Utc::now();
        let messages = paced
            .iter()
            .filter_map(|p| Some(lane_message(p, &lane(&p.delivery.origin.subscription()?), now)))
            .collect();
        let undelivered = self.sender.send(&self.queue_url, messages).await;
        let mut paced: Vec<Option<Failed>> = paced.into_iter().map(Some).collect();
        undelivered
            .into_iter()
            .filter_map(|u| {
                tracing::error!(reason = %u.reason, "could not put a delivery in its subscription's lane");
                paced.get_mut(u.index)?.take()
            })
            .collect()
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

    /// Hides `waiting` until the next second. One that cannot be hidden comes back
    /// after the queue's visibility timeout instead: later, never lost.
    pub async fn hold_back(&self, waiting: &[Waiting]) {
        for chunk in waiting.chunks(MAX_BATCH_ENTRIES) {
            let entries = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, w)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&w.receipt_handle)
                        .visibility_timeout(WAIT_SECONDS)
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

/// `plan` without the deliveries of rate-limited subscriptions, and those, in
/// the plan's order (each subscription's in the order they were routed).
pub fn split(plan: DeliveryPlan, subscriptions: &SubscriptionsByTenant) -> (DeliveryPlan, Vec<Failed>) {
    let mut now = DeliveryPlan::new();
    let mut paced = Vec::new();
    for (target, deliveries) in plan {
        for delivery in deliveries {
            if rate_limit(&delivery, subscriptions).is_some() {
                paced.push(Failed {
                    target: target.clone(),
                    delivery,
                    reason: PACED.to_owned(),
                    permanent: false,
                });
            } else {
                now.entry(target.clone()).or_default().push(delivery);
            }
        }
    }
    (now, paced)
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

/// A subscription's lane: its message group on the paced queue. A name SQS
/// takes whatever the ids' length (at most 128 characters of its set).
pub fn lane(subscription: &SubscriptionRef) -> String {
    let key = format!("{}\n{}", subscription.tenant, subscription.subscription_id);
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, key.as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::fanout::Target;
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
        assert_eq!(ids(paced.iter().map(|p| &p.delivery).collect()), ["e0", "e1", "e2"]);
        assert!(
            paced
                .iter()
                .all(|p| p.delivery.origin.subscription_id.as_deref() == Some("slow"))
        );
    }

    #[test]
    fn a_lane_is_one_stable_group_name_within_sqss_limits() {
        let long = SubscriptionRef {
            tenant: TenantId::parse("t").expect("tenant"),
            subscription_id: "s".repeat(128),
        };
        assert_eq!(lane(&long), lane(&long.clone()));
        assert!(lane(&long).len() <= 128);
    }
}
