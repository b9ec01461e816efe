//! Turning a stream batch into deliveries: one message per matching subscription
//! plus one entry per event on the stack's own bus, grouped per target so each
//! target gets batch calls.

use std::collections::{BTreeMap, HashMap};

use super::envelope::Envelope;
use super::message::OutgoingMessage;
use super::routing::matching;
use super::stream::StreamedEvent;
use crate::subscriptions::{Destination, Subscription};
use crate::tenant::TenantId;

/// Where a group of messages goes. Subscriptions with their own credentials are
/// separate targets, so each group is sent with one client.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Queue {
        url: String,
        region: String,
        access_key: Option<String>,
    },
    Topic {
        arn: String,
        region: String,
        access_key: Option<String>,
    },
    /// An EventBridge bus, by name or ARN.
    Bus { bus: String, region: Option<String> },
}

/// Which event and subscription a message carries, to account for failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub tenant: TenantId,
    pub event_id: String,
    /// `None` for the entry on the stack's own bus.
    pub subscription_id: Option<String>,
}

pub type DeliveryPlan = BTreeMap<Target, Vec<(OutgoingMessage, Origin)>>;

/// Every delivery for `events`, given each tenant's subscriptions (active or not;
/// routing decides) and the stack's bus.
pub fn plan(events: &[StreamedEvent], subscriptions: &HashMap<TenantId, Vec<Subscription>>, bus: &str) -> DeliveryPlan {
    let mut plan = DeliveryPlan::new();
    for streamed in events {
        let (tenant, event) = (&streamed.tenant, &streamed.event);
        let origin = |subscription_id: Option<&str>| Origin {
            tenant: tenant.clone(),
            event_id: event.id.clone(),
            subscription_id: subscription_id.map(str::to_owned),
        };
        let own = Envelope::new(tenant.as_str(), event, None);
        plan.entry(Target::Bus {
            bus: bus.to_owned(),
            region: None,
        })
        .or_default()
        .push((bus_entry(&own), origin(None)));
        for subscription in matching(event, subscriptions.get(tenant).map(Vec::as_slice).unwrap_or_default()) {
            let envelope = Envelope::new(tenant.as_str(), event, Some(&subscription.id));
            let (target, message) = match &subscription.destination {
                Destination::Sqs { sqs } => (
                    Target::Queue {
                        url: sqs.queue_url.clone(),
                        region: sqs.region.clone(),
                        access_key: sqs.access_key.clone(),
                    },
                    message(&envelope, sqs.queue_url.ends_with(".fifo")),
                ),
                Destination::Sns { sns } => (
                    Target::Topic {
                        arn: sns.topic_arn.clone(),
                        region: sns.region.clone(),
                        access_key: sns.access_key.clone(),
                    },
                    message(&envelope, sns.topic_arn.ends_with(".fifo")),
                ),
                Destination::EventBridge { event_bridge } => (
                    Target::Bus {
                        bus: event_bridge.event_bus_arn.clone(),
                        region: Some(event_bridge.region.clone()),
                    },
                    bus_entry(&envelope),
                ),
            };
            plan.entry(target)
                .or_default()
                .push((message, origin(Some(&subscription.id))));
        }
    }
    plan
}

fn body(envelope: &Envelope<'_>) -> String {
    // Serialising plain data into a String cannot fail.
    serde_json::to_string(envelope).unwrap_or_default()
}

/// An SQS/SNS message; FIFO targets order by entity and dedupe per event and subscription.
fn message(envelope: &Envelope<'_>, fifo: bool) -> OutgoingMessage {
    let dedup_key = format!(
        "{}\n{}",
        envelope.event_id,
        envelope.subscription_id.unwrap_or_default()
    );
    OutgoingMessage {
        body: body(envelope),
        attributes: envelope.attributes().to_vec(),
        group_id: fifo.then(|| envelope.entity_id.to_owned()),
        // A name-based UUID: 36 characters, within SQS/SNS's 128, whatever the ids' lengths.
        dedup_id: fifo.then(|| uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, dedup_key.as_bytes()).to_string()),
        detail_type: None,
    }
}

fn bus_entry(envelope: &Envelope<'_>) -> OutgoingMessage {
    OutgoingMessage {
        body: body(envelope),
        attributes: Vec::new(),
        group_id: None,
        dedup_id: None,
        detail_type: Some(envelope.detail_type()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use serde_json::json;

    use super::*;
    use crate::events::EventRequest;
    use crate::subscriptions::{BusTarget, QueueTarget};

    fn streamed(tenant: &str, id: &str, entity: &str, operation: &str) -> StreamedEvent {
        let request: EventRequest = serde_json::from_value(json!({
            "id": id, "entity_id": "E-1", "entity_name": entity, "event_source": "SYSTEM",
            "event_type": "ENTITY", "event_payload": {"operation": operation}
        }))
        .expect("request");
        StreamedEvent {
            tenant: TenantId::parse(tenant).expect("tenant"),
            event: request.into_event(Utc::now()).expect("valid"),
        }
    }

    fn subscription(id: &str, destination: Destination) -> Subscription {
        Subscription {
            id: id.into(),
            active: true,
            entity_type: "ORDER".into(),
            subscribe_create: true,
            subscribe_change: false,
            subscribe_delete: false,
            destination,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    fn queue(url: &str) -> Destination {
        Destination::Sqs {
            sqs: QueueTarget {
                queue_url: url.into(),
                region: "eu-west-1".into(),
                access_key: None,
                access_secret: None,
            },
        }
    }

    #[test]
    fn groups_messages_per_target_and_adds_one_bus_entry_per_event() {
        // GIVEN acme's two queue subscriptions and a bus subscription, and globex with none
        let fifo = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo";
        let plain = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders";
        let bus = Destination::EventBridge {
            event_bridge: BusTarget {
                event_bus_arn: "arn:aws:events:eu-west-1:123456789012:event-bus/b".into(),
                region: "eu-west-1".into(),
            },
        };
        let subscriptions = HashMap::from([(
            TenantId::parse("acme").expect("tenant"),
            vec![
                subscription("s-fifo", queue(fifo)),
                subscription("s-plain", queue(plain)),
                subscription("s-bus", bus),
            ],
        )]);
        let events = [
            streamed("acme", "e1", "ORDER", "CREATE"),
            streamed("acme", "e2", "ORDER", "UPDATE"), // no subscription wants updates
            streamed("acme", "e3", "ORDER", "BULK_CREATE"),
            streamed("globex", "e4", "ORDER", "CREATE"),
        ];
        // WHEN the batch is planned
        let plan = plan(&events, &subscriptions, "event-collector-bus");
        // THEN each target has its messages, and the own bus one entry per event
        let count = |target: &Target| plan.get(target).map_or(0, Vec::len);
        let own_bus = Target::Bus {
            bus: "event-collector-bus".into(),
            region: None,
        };
        assert_eq!(count(&own_bus), 4);
        assert_eq!(
            count(&Target::Queue {
                url: fifo.into(),
                region: "eu-west-1".into(),
                access_key: None
            }),
            2
        );
        assert_eq!(
            count(&Target::Queue {
                url: plain.into(),
                region: "eu-west-1".into(),
                access_key: None
            }),
            2
        );
        assert_eq!(plan.len(), 4);
        let (first, origin) = &plan[&Target::Queue {
            url: fifo.into(),
            region: "eu-west-1".into(),
            access_key: None,
        }][0];
        assert_eq!(
            (first.group_id.as_deref(), first.dedup_id.as_ref().map(String::len)),
            (Some("E-1"), Some(36))
        );
        assert_eq!(origin.subscription_id.as_deref(), Some("s-fifo"));
        let (entry, _) = &plan[&own_bus][1];
        assert_eq!(entry.detail_type.as_deref(), Some("order/update"));
        assert!(entry.body.contains(r#""subscriptionId":null"#));
    }
}
