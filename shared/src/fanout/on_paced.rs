//! The paced queue's consumer (fanout-paced): each rate-limited subscription's
//! lane taken in order, as many of its deliveries sent as this second's grant
//! allows, the rest hidden for a second and handed back (pacing.rs). A lane's
//! delivery that fails is parked on the retry queue as any other; the retry
//! consumer puts it back in the lane, behind what arrived meanwhile.

use std::collections::{BTreeSet, HashMap};

use aws_lambda_events::event::sqs::SqsMessage;
use chrono::Utc;
use futures_util::future::join_all;

use super::app::Fanout;
use super::on_retry::Again;
use super::pacing::{Waiting, rate_limit};
use super::plan::{Delivery, DeliveryPlan, Origin, SubscriptionRef, Target};

/// A lane (its subscription) and its messages in this batch, in order.
type Lane = (Option<SubscriptionRef>, Vec<(Waiting, Delivery)>);

/// A lane's delivery that may be sent: its message, origin, target and delivery.
type Sendable = (Waiting, Origin, Target, Delivery);

impl Fanout {
    /// Sends a batch of the paced queue at its subscriptions' rates; returns the
    /// message ids to report as batch item failures (those waiting for a later
    /// second, and those that could be neither sent nor parked).
    pub async fn paced_batch(&self, messages: &[SqsMessage]) -> Vec<String> {
        let mut failed = BTreeSet::new();
        // Each lane's messages in the order SQS handed them over (its order).
        let mut lanes: Vec<Lane> = Vec::new();
        for message in messages {
            let id = message.message_id.clone().unwrap_or_default();
            let delivery = match self.parked_delivery(&id, message).await {
                Ok(Some(delivery)) => delivery,
                Ok(None) => continue,
                Err(()) => {
                    failed.insert(id);
                    continue;
                }
            };
            let waiting = Waiting {
                message_id: id,
                receipt_handle: message.receipt_handle.clone().unwrap_or_default(),
            };
            let lane = delivery.origin.subscription();
            match lanes.iter_mut().find(|(l, _)| *l == lane) {
                Some((_, entries)) => entries.push((waiting, delivery)),
                None => lanes.push((lane, vec![(waiting, delivery)])),
            }
        }
        let tenants = lanes
            .iter()
            .filter_map(|(lane, _)| Some(lane.as_ref()?.tenant.clone()))
            .collect();
        let (subscriptions, unreadable) = self.subscriptions.for_tenants(tenants).await;
        for (tenant, err) in &unreadable {
            tracing::error!(%tenant, error = %err, "could not read subscriptions; the tenant's lanes wait");
        }
        let now = Utc::now();
        let mut sources: HashMap<Origin, Vec<String>> = HashMap::new();
        let mut given_up = Vec::new();
        let mut ready: Vec<(Option<SubscriptionRef>, Option<u32>, Vec<Sendable>)> = Vec::new();
        for (lane, entries) in lanes {
            let mut sendable = Vec::new();
            let mut rate = None;
            for (message, delivery) in entries {
                let origin = delivery.origin.clone();
                rate = rate.or_else(|| rate_limit(&delivery, &subscriptions));
                match self.again(delivery, &subscriptions, now) {
                    Again::Send(target, delivery) => sendable.push((message, origin, target, delivery)),
                    Again::GiveUp(gone) => {
                        sources.entry(origin).or_default().push(message.message_id);
                        given_up.push(gone);
                    }
                    Again::Drop => {}
                    Again::Unreadable => {
                        failed.insert(message.message_id);
                    }
                }
            }
            ready.push((lane, rate, sendable));
        }
        // One grant a lane, all lanes' at once.
        let grants = join_all(ready.iter().map(|(lane, rate, sendable)| async move {
            match (lane, rate) {
                (Some(lane), Some(rate)) if !sendable.is_empty() => {
                    self.pacing.grant(lane, sendable.len(), *rate).await
                }
                // A limit taken off since: the lane drains as fast as it is read.
                _ => sendable.len(),
            }
        }))
        .await;
        let mut plan = DeliveryPlan::new();
        let mut waiting = Vec::new();
        for ((lane, rate, sendable), granted) in ready.into_iter().zip(grants) {
            if let (Some(lane), Some(rate)) = (&lane, rate)
                && granted < sendable.len()
            {
                tracing::info!(tenant = %lane.tenant, subscription_id = %lane.subscription_id, rate,
                    waiting = sendable.len() - granted, "lane over its rate; the rest waits a second");
            }
            for (n, (message, origin, target, delivery)) in sendable.into_iter().enumerate() {
                if n < granted {
                    sources.entry(origin).or_default().push(message.message_id);
                    plan.entry(target).or_default().push(delivery);
                } else {
                    waiting.push(message);
                }
            }
        }
        let sent: usize = plan.values().map(Vec::len).sum();
        tracing::info!(sent, waiting = waiting.len(), "paced deliveries");
        let mut lost = self.queues.park(given_up).await;
        lost.extend(self.deliver_paced(plan, &subscriptions).await);
        for lost in lost {
            failed.extend(sources.get(&lost.delivery.origin).into_iter().flatten().cloned());
        }
        self.pacing.hold_back(&waiting).await;
        failed.extend(waiting.into_iter().map(|w| w.message_id));
        failed.into_iter().collect()
    }
}
