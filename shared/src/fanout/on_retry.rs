//! The retry queue's consumer: each parked delivery is sent again to where its
//! subscription points now (a deactivated subscription's retries are dropped;
//! one disabled for failing keeps them as its dead letters), and parked once
//! more, or dead-lettered, if it fails again. One first parked longer ago than
//! `RETRY_MAX_AGE_HOURS` becomes a dead letter instead (expiry.rs). The queue
//! also carries tasks: catch-up pages (catch_up.rs) and circuits' probes (probe.rs).

use std::collections::{BTreeSet, HashMap};

use aws_lambda_events::event::sqs::SqsMessage;
use chrono::{DateTime, Utc};

use super::app::Fanout;
use super::catch_up::{CATCH_UP_ATTRIBUTE, CatchUp};
use super::dispatch::Failed;
use super::envelope::masked_body;
use super::expiry::expired;
use super::plan::{Delivery, DeliveryPlan, Origin, SubscriptionRef, SubscriptionsByTenant, Target};
use super::probe::{PROBE_ATTRIBUTE, Probe, Turn};
use super::retry::unpark;
use crate::subscriptions::Subscription;

impl Fanout {
    /// Retries a batch of parked deliveries; returns the message ids to report
    /// as batch item failures (SQS then hands them over again).
    pub async fn retry_batch(&self, messages: &[SqsMessage]) -> Vec<String> {
        let mut failed = BTreeSet::new();
        let mut deliveries = Vec::new();
        for message in messages {
            let id = message.message_id.clone().unwrap_or_default();
            if let Some(done) = self.task(&id, message).await {
                if !done {
                    failed.insert(id);
                }
                continue;
            }
            match self.parked_delivery(&id, message).await {
                Ok(Some(delivery)) => deliveries.push((id, delivery)),
                Ok(None) => {}
                Err(()) => {
                    failed.insert(id);
                }
            }
        }
        let tenants = deliveries
            .iter()
            .filter(|(_, d)| d.origin.subscription_id.is_some())
            .map(|(_, d)| d.origin.tenant.clone())
            .collect();
        let (subscriptions, unreadable) = self.subscriptions.for_tenants(tenants).await;
        for (tenant, err) in &unreadable {
            tracing::error!(%tenant, error = %err, "could not read subscriptions; the tenant's retries stay queued");
        }
        let mut plan = DeliveryPlan::new();
        let mut sources: HashMap<Origin, Vec<String>> = HashMap::new();
        let mut given_up = Vec::new();
        let now = Utc::now();
        for (id, delivery) in deliveries {
            let origin = delivery.origin.clone();
            match self.again(delivery, &subscriptions, now) {
                Again::Send(target, delivery) => {
                    sources.entry(origin).or_default().push(id);
                    plan.entry(target).or_default().push(delivery);
                }
                Again::GiveUp(gone) => {
                    sources.entry(origin).or_default().push(id);
                    given_up.push(gone);
                }
                Again::Drop => {}
                Again::Unreadable => {
                    failed.insert(id);
                }
            }
        }
        // A subscription disabled for failing keeps what it missed, and one whose
        // deliveries were retried too long keeps those, for redrive.
        let mut lost = self.queues.park(given_up).await;
        lost.extend(self.deliver(plan, &subscriptions).await);
        for lost in lost {
            failed.extend(sources.get(&lost.delivery.origin).into_iter().flatten().cloned());
        }
        failed.into_iter().collect()
    }
}

/// What becomes of a parked delivery taken up again.
pub(super) enum Again {
    /// Sent to where its subscription points now, shaped for it.
    Send(Target, Delivery),
    /// Given up on: its subscription's dead letter.
    GiveUp(Failed),
    /// Its subscription is gone: dropped.
    Drop,
    /// Its tenant's subscriptions could not be read: handed back.
    Unreadable,
}

impl Fanout {
    /// Where `delivery`, parked earlier, goes now: to where its subscription
    /// points now, masked as it now wants; or given up on, when the subscription
    /// was disabled for failing or the delivery was retried too long.
    pub(super) fn again(&self, delivery: Delivery, subscriptions: &SubscriptionsByTenant, now: DateTime<Utc>) -> Again {
        let origin = &delivery.origin;
        let (target, reveal_psi) = match &origin.subscription_id {
            None => (Target::own_bus(&self.event_bus), false),
            Some(subscription_id) => {
                let Some(all) = subscriptions.get(&origin.tenant) else {
                    return Again::Unreadable;
                };
                match all.iter().find(|s| &s.id == subscription_id) {
                    Some(subscription) if subscription.active => {
                        (Target::of(&origin.tenant, subscription), subscription.include_psi)
                    }
                    Some(subscription) => {
                        let reason = subscription.delivery.disabled_reason.clone().unwrap_or_default();
                        return Again::GiveUp(Failed {
                            target: Target::of(&origin.tenant, subscription),
                            delivery,
                            reason: format!("SUBSCRIPTION_DISABLED: {reason}"),
                            permanent: true,
                        });
                    }
                    None => {
                        tracing::info!(tenant = %origin.tenant, %subscription_id, event_id = %origin.event_id, "subscription no longer active; retry dropped");
                        return Again::Drop;
                    }
                }
            }
        };
        if let Some(reason) = expired(&delivery, self.retry_max_age, now) {
            tracing::warn!(tenant = %origin.tenant, subscription_id = origin.subscription_id.as_deref(),
                event_id = %origin.event_id, %reason, "retried too long; dead-lettered");
            return Again::GiveUp(Failed {
                target,
                delivery,
                reason,
                permanent: true,
            });
        }
        let mut message = delivery.message;
        // Parked as the subscription then wanted it; it may not include PSI any more.
        if !reveal_psi {
            message.body = masked_body(&message.body, &delivery.origin.psi_fields);
        }
        let message = target.reshape(message);
        Again::Send(target, Delivery { message, ..delivery })
    }

    /// The delivery `message` carries; `None` when it carries none (it is then
    /// on the dead-letter queue), an error when it could not be put there either.
    pub(super) async fn parked_delivery(&self, id: &str, message: &SqsMessage) -> Result<Option<Delivery>, ()> {
        match unpark(message) {
            Ok(delivery) => Ok(Some(delivery)),
            Err(err) => {
                tracing::error!(message_id = %id, error = %err, "not a parked delivery; dead-lettered");
                let body = message.body.clone().unwrap_or_default();
                if self.queues.dead_letter(body, &err.to_string()).await {
                    Ok(None)
                } else {
                    Err(())
                }
            }
        }
    }

    /// The subscription as it is now, if it is active; `None` if it could not be read.
    async fn active(&self, subscription: &SubscriptionRef) -> Option<Option<Subscription>> {
        let tenants = BTreeSet::from([subscription.tenant.clone()]);
        let (all, unreadable) = self.subscriptions.for_tenants(tenants).await;
        if !unreadable.is_empty() {
            return None;
        }
        Some(all.get(&subscription.tenant).and_then(|subscriptions| {
            subscriptions
                .iter()
                .find(|s| s.id == subscription.subscription_id && s.active)
                .cloned()
        }))
    }

    /// A catch-up page or a circuit's probe, if the message is a task and not a
    /// delivery: whether it is done (else it is received again). An inactive
    /// subscription's tasks stop, its kept letters left for a redrive once it is
    /// reactivated (this consumer drops an inactive subscription's retries).
    async fn task(&self, id: &str, message: &SqsMessage) -> Option<bool> {
        let body = message.body.as_deref().unwrap_or_default();
        let attributes = &message.message_attributes;
        let task = if attributes.contains_key(CATCH_UP_ATTRIBUTE) {
            CatchUp::of(body).map(Task::CatchUp).map_err(|e| e.to_string())
        } else if attributes.contains_key(PROBE_ATTRIBUTE) {
            Probe::of(body).map(Task::Probe).map_err(|e| e.to_string())
        } else {
            return None;
        };
        let task = match task {
            Ok(task) => task,
            Err(err) => {
                tracing::error!(message_id = %id, error = %err, "not a task; dead-lettered");
                return Some(self.queues.dead_letter(body.to_owned(), &err).await);
            }
        };
        let subscription = match &task {
            Task::CatchUp(task) => task.subscription(),
            Task::Probe(task) => task.subscription(),
        };
        let Some(current) = self.active(&subscription).await else {
            // The subscriptions could not be read: received again.
            return Some(false);
        };
        let Some(current) = current else {
            tracing::info!(message_id = %id, "task of an inactive subscription stopped");
            return Some(true);
        };
        let done = match task {
            Task::CatchUp(task) => self.queues.catch_up_page(&task).await.map_err(|e| e.to_string()),
            Task::Probe(task) => match task.turn(current.delivery.circuit_open_until, Utc::now()) {
                Turn::Now => match self.queues.send_probe(&task).await {
                    Ok(true) => {
                        let cool_off = i32::try_from(self.circuit.cool_off.num_seconds()).unwrap_or(900);
                        self.queues.probe_again_later(&task, cool_off).await
                    }
                    Ok(false) => Ok(()),
                    Err(err) => Err(err),
                },
                Turn::Later(_) => self.queues.probe_again_later(&task, 0).await,
                Turn::Over => Ok(()),
            }
            .map_err(|e| e.to_string()),
        };
        if let Err(err) = &done {
            tracing::warn!(message_id = %id, error = %err, "task not done; received again");
        }
        Some(done.is_ok())
    }
}

/// What the retry queue carries besides deliveries.
enum Task {
    CatchUp(CatchUp),
    Probe(Probe),
}
