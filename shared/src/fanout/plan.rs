//! Turning a stream batch into deliveries: one message per matching subscription
//! plus one entry per event on the stack's own bus, grouped per target so each
//! target gets batch calls.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::envelope::{Envelope, attributes, detail_type};
use super::message::OutgoingMessage;
use super::routing::matching;
use crate::events::{Event, StreamedEvent, TRACEPARENT, TraceParent};
use crate::subscriptions::{Destination, Subscription};
use crate::tenant::TenantId;

/// Where a group of messages goes. Subscriptions with their own credentials are
/// separate targets, so each group is sent with one client.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Target {
    Queue {
        url: String,
        region: String,
        credentials: Option<SubscriptionRef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<AssumedRole>,
    },
    Topic {
        arn: String,
        region: String,
        credentials: Option<SubscriptionRef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<AssumedRole>,
    },
    /// An EventBridge bus, by name or ARN; the stack's own bus has no region.
    Bus {
        bus: String,
        region: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<AssumedRole>,
    },
}

/// A subscriber's role, assumed with the subscription's tenant as ExternalId.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssumedRole {
    pub role_arn: String,
    pub external_id: TenantId,
}

/// The subscription whose own access key a target is reached with. Naming the
/// subscription (not the key) keeps one tenant's stored secret from ever
/// carrying another tenant's messages.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionRef {
    pub tenant: TenantId,
    pub subscription_id: String,
}

impl Target {
    /// Where `subscription` (of `tenant`) is delivered.
    pub fn of(tenant: &TenantId, subscription: &Subscription) -> Self {
        let credentials = subscription.destination.credentials().map(|_| SubscriptionRef {
            tenant: tenant.clone(),
            subscription_id: subscription.id.clone(),
        });
        let role = subscription.destination.role_arn().map(|role_arn| AssumedRole {
            role_arn: role_arn.to_owned(),
            external_id: tenant.clone(),
        });
        match &subscription.destination {
            Destination::Sqs { sqs } => Self::Queue {
                url: sqs.queue_url.clone(),
                region: sqs.region.clone(),
                credentials,
                role,
            },
            Destination::Sns { sns } => Self::Topic {
                arn: sns.topic_arn.clone(),
                region: sns.region.clone(),
                credentials,
                role,
            },
            Destination::EventBridge { event_bridge } => Self::Bus {
                bus: event_bridge.event_bus_arn.clone(),
                region: Some(event_bridge.region.clone()),
                role,
            },
        }
    }

    /// The stack's own bus, which gets every event.
    pub fn own_bus(bus: &str) -> Self {
        Self::Bus {
            bus: bus.to_owned(),
            region: None,
            role: None,
        }
    }

    /// FIFO queues and topics need a message group and deduplication id.
    pub(super) fn is_fifo(&self) -> bool {
        match self {
            Self::Queue { url: name, .. } | Self::Topic { arn: name, .. } => name.ends_with(".fifo"),
            Self::Bus { .. } => false,
        }
    }
}

/// Which event and subscription a message carries, to account for failures.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Origin {
    pub tenant: TenantId,
    pub event_id: String,
    /// `None` for the entry on the stack's own bus.
    pub subscription_id: Option<String>,
    /// The event's sensitive payload fields, so a retry can mask them when its
    /// subscription no longer includes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub psi_fields: Vec<String>,
}

impl Origin {
    /// The subscription it was delivered for; `None` for the stack's own bus.
    pub fn subscription(&self) -> Option<SubscriptionRef> {
        self.subscription_id.as_ref().map(|id| SubscriptionRef {
            tenant: self.tenant.clone(),
            subscription_id: id.clone(),
        })
    }
}

/// One message on its way, and how many times it was already tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub message: OutgoingMessage,
    pub origin: Origin,
    /// Failed attempts before this one (0 on the first fan-out of an event).
    pub failures: u32,
    /// When it first went to the retry queue (failed or deferred); `None` until
    /// then. A retry older than `RETRY_MAX_AGE_HOURS` becomes a dead letter.
    pub parked_since: Option<DateTime<Utc>>,
}

pub type DeliveryPlan = BTreeMap<Target, Vec<Delivery>>;

#[cfg(test)]
impl Delivery {
    /// A first delivery of an empty message of `tenant`'s event `e`, for
    /// `subscription` (none: the stack's own bus).
    pub(crate) fn of(tenant: &str, subscription: Option<&str>) -> Self {
        Self {
            message: OutgoingMessage::default(),
            origin: Origin {
                tenant: TenantId::parse(tenant).expect("tenant"),
                event_id: "e".into(),
                subscription_id: subscription.map(str::to_owned),
                psi_fields: Vec::new(),
            },
            failures: 0,
            parked_since: None,
        }
    }
}

/// Each tenant's subscriptions, active or not (routing decides).
pub type SubscriptionsByTenant = HashMap<TenantId, Arc<[Subscription]>>;

/// Every delivery for `events`, given each tenant's subscriptions (active or not;
/// routing decides) and the stack's bus.
pub fn plan(events: &[StreamedEvent], subscriptions: &SubscriptionsByTenant, bus: &str) -> DeliveryPlan {
    let mut plan = DeliveryPlan::new();
    for streamed in events {
        let (tenant, event) = (&streamed.tenant, &streamed.event);
        let origin = |subscription_id: Option<&str>| Origin {
            tenant: tenant.clone(),
            event_id: event.id.clone(),
            subscription_id: subscription_id.map(str::to_owned),
            psi_fields: event.definition.iter().flat_map(|d| d.psi_fields.clone()).collect(),
        };
        let own = Envelope::new(tenant.as_str(), event, None);
        let own_bus = Target::own_bus(bus);
        let entry = own_bus.message(body(&own), Shape::of(&own));
        plan.entry(own_bus)
            .or_default()
            .push(Delivery::new(entry, origin(None)));
        for subscription in matching(
            tenant.as_str(),
            event,
            subscriptions.get(tenant).map(AsRef::as_ref).unwrap_or_default(),
        ) {
            let (target, delivery) = subscription_delivery(tenant, event, subscription, None);
            plan.entry(target).or_default().push(delivery);
        }
    }
    plan
}

/// The deliveries of replay `replay_id`: `events` to `subscription` only.
pub fn replay_plan(tenant: &TenantId, events: &[Event], subscription: &Subscription, replay_id: &str) -> DeliveryPlan {
    let mut plan = DeliveryPlan::new();
    for event in events {
        let (target, delivery) = subscription_delivery(tenant, event, subscription, Some(replay_id));
        plan.entry(target).or_default().push(delivery);
    }
    plan
}

/// `event`'s delivery to `subscription`, as it asks for it.
fn subscription_delivery(
    tenant: &TenantId,
    event: &Event,
    subscription: &Subscription,
    replay_id: Option<&str>,
) -> (Target, Delivery) {
    let mut envelope = if subscription.include_psi {
        Envelope::revealing(tenant.as_str(), event, Some(&subscription.id))
    } else {
        Envelope::new(tenant.as_str(), event, Some(&subscription.id))
    };
    if let Some(replay_id) = replay_id {
        envelope = envelope.replayed(replay_id);
    }
    let target = Target::of(tenant, subscription);
    let message = target.message(body(&envelope), Shape::of(&envelope));
    let origin = Origin {
        tenant: tenant.clone(),
        event_id: event.id.clone(),
        subscription_id: Some(subscription.id.clone()),
        psi_fields: event.definition.iter().flat_map(|d| d.psi_fields.clone()).collect(),
    };
    (target, Delivery::new(message, origin))
}

impl Delivery {
    fn new(message: OutgoingMessage, origin: Origin) -> Self {
        Self {
            message,
            origin,
            failures: 0,
            parked_since: None,
        }
    }
}

fn body(envelope: &Envelope<'_>) -> String {
    // Serialising plain data into a String cannot fail.
    serde_json::to_string(envelope).unwrap_or_default()
}

/// What a message's form depends on besides its target.
struct Shape<'a> {
    tenant: &'a str,
    event_id: &'a str,
    subscription_id: Option<&'a str>,
    replay_id: Option<&'a str>,
    entity_id: &'a str,
    attributes: Vec<(String, String)>,
    detail_type: String,
    traceparent: Option<&'a str>,
}

impl<'a> Shape<'a> {
    fn of(envelope: &'a Envelope<'a>) -> Self {
        Self {
            tenant: envelope.tenant,
            event_id: envelope.event_id,
            subscription_id: envelope.subscription_id,
            replay_id: envelope.replay_id,
            entity_id: envelope.entity_id,
            attributes: envelope.attributes(),
            detail_type: envelope.detail_type(),
            traceparent: envelope.traceparent,
        }
    }
}

/// SQS and SNS FIFO take 1-128 characters of ASCII letters, digits and
/// punctuation as a message group id. The entity id when it is one; otherwise
/// (spaces, non-ASCII, longer) `h-` and a digest of it, so that every valid entity
/// id reaches a FIFO subscriber and keeps its events in one ordered group.
pub fn fifo_group_id(entity_id: &str) -> String {
    let valid = (1..=128).contains(&entity_id.len()) && entity_id.chars().all(|c| c.is_ascii_graphic());
    if valid {
        entity_id.to_owned()
    } else {
        format!("h-{}", crate::ids::digest(&[entity_id]))
    }
}

impl Target {
    /// `body` as this target takes it: SQS/SNS get the attributes (and, when
    /// FIFO, group = entity id and a dedup id per tenant, event and subscription); buses
    /// get the DetailType.
    fn message(&self, body: String, shape: Shape<'_>) -> OutgoingMessage {
        if let Self::Bus { .. } = self {
            return OutgoingMessage {
                body,
                detail_type: Some(shape.detail_type),
                trace_header: shape.traceparent.and_then(TraceParent::xray),
                ..OutgoingMessage::default()
            };
        }
        let fifo = self.is_fifo();
        // The tenant too: tenants choose their ids, and two sharing one FIFO queue
        // must not have each other's messages dropped as duplicates. A replay is a
        // new message: SQS would drop it as a duplicate within five minutes.
        let mut dedup_key = format!(
            "{}\n{}\n{}",
            shape.tenant,
            shape.event_id,
            shape.subscription_id.unwrap_or_default()
        );
        if let Some(replay_id) = shape.replay_id {
            dedup_key = format!("{dedup_key}\n{replay_id}");
        }
        OutgoingMessage {
            body,
            attributes: shape.attributes,
            group_id: fifo.then(|| fifo_group_id(shape.entity_id)),
            // A name-based UUID: 36 characters, within SQS/SNS's 128, whatever the ids' lengths.
            dedup_id: fifo.then(|| uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, dedup_key.as_bytes()).to_string()),
            ..OutgoingMessage::default()
        }
    }

    /// A parked message re-formed for this target, which may not be the one it
    /// was made for (the subscription moved, e.g. to a FIFO queue or a bus). A
    /// body that is not an envelope is left as it is.
    pub fn reshape(&self, message: OutgoingMessage) -> OutgoingMessage {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Fields {
            event_name: String,
            event_id: String,
            tenant: String,
            entity_name: String,
            entity_id: String,
            operation: String,
            subscription_id: Option<String>,
            replay_id: Option<String>,
            traceparent: Option<String>,
        }
        let Ok(f) = serde_json::from_str::<Fields>(&message.body) else {
            return message;
        };
        let mut attributes = attributes(&f.event_name, &f.entity_name, &f.operation, &f.tenant);
        if let Some(replay_id) = &f.replay_id {
            attributes.push(("replayId".into(), replay_id.clone()));
        }
        if let Some(traceparent) = &f.traceparent {
            attributes.push((TRACEPARENT.into(), traceparent.clone()));
        }
        let shape = Shape {
            tenant: &f.tenant,
            event_id: &f.event_id,
            subscription_id: f.subscription_id.as_deref(),
            replay_id: f.replay_id.as_deref(),
            entity_id: &f.entity_id,
            attributes,
            detail_type: detail_type(&f.entity_name, &f.operation),
            traceparent: f.traceparent.as_deref(),
        };
        self.message(message.body.clone(), shape)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use crate::events::EventRequest;
    use crate::subscriptions::{BusTarget, QueueTarget, fixtures};

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
            destination,
            ..fixtures::subscription(id)
        }
    }

    fn queue(url: &str) -> Destination {
        Destination::Sqs {
            sqs: QueueTarget {
                queue_url: url.into(),
                region: "eu-west-1".into(),
                role_arn: None,
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
                role_arn: None,
            },
        };
        let subscriptions = HashMap::from([(
            TenantId::parse("acme").expect("tenant"),
            Arc::from([
                subscription("s-fifo", queue(fifo)),
                subscription("s-plain", queue(plain)),
                subscription("s-bus", bus),
            ]),
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
        let own_bus = Target::own_bus("event-collector-bus");
        assert_eq!(count(&own_bus), 4);
        assert_eq!(
            count(&Target::Queue {
                url: fifo.into(),
                region: "eu-west-1".into(),
                credentials: None,
                role: None
            }),
            2
        );
        assert_eq!(
            count(&Target::Queue {
                url: plain.into(),
                region: "eu-west-1".into(),
                credentials: None,
                role: None
            }),
            2
        );
        assert_eq!(plan.len(), 4);
        let Delivery {
            message: first, origin, ..
        } = &plan[&Target::Queue {
            url: fifo.into(),
            region: "eu-west-1".into(),
            credentials: None,
            role: None,
        }][0];
        assert_eq!(
            (first.group_id.as_deref(), first.dedup_id.as_ref().map(String::len)),
            (Some("E-1"), Some(36))
        );
        assert_eq!(origin.subscription_id.as_deref(), Some("s-fifo"));
        let entry = &plan[&own_bus][1].message;
        assert_eq!(entry.detail_type.as_deref(), Some("order/update"));
        assert!(entry.body.contains(r#""subscriptionId":null"#));
    }

    #[test]
    fn a_parked_message_is_reshaped_for_where_its_subscription_points_now() {
        // GIVEN a message made for a standard queue
        let subscriptions = SubscriptionsByTenant::from([(
            TenantId::parse("acme").expect("tenant"),
            Arc::from([subscription(
                "s-1",
                queue("https://sqs.eu-west-1.amazonaws.com/123456789012/orders"),
            )]),
        )]);
        let planned = plan(&[streamed("acme", "e1", "ORDER", "CREATE")], &subscriptions, "bus");
        let (_, deliveries) = planned
            .iter()
            .find(|(target, _)| matches!(target, Target::Queue { .. }))
            .expect("a queue delivery");
        let standard = deliveries[0].message.clone();
        assert_eq!(standard.group_id, None);
        // WHEN the subscription now points at a FIFO queue, or at a bus
        let fifo = Target::Queue {
            url: "https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo".into(),
            region: "eu-west-1".into(),
            credentials: None,
            role: None,
        };
        let to_fifo = fifo.reshape(standard.clone());
        let to_bus = Target::own_bus("b").reshape(standard.clone());
        // THEN each gets what its target needs, with the same body
        assert_eq!(to_fifo.group_id.as_deref(), Some("E-1"));
        assert_eq!(to_fifo.dedup_id.as_ref().map(String::len), Some(36));
        assert_eq!(to_fifo.attributes, standard.attributes);
        assert_eq!(to_bus.detail_type.as_deref(), Some("order/create"));
        assert!(to_bus.attributes.is_empty());
        assert_eq!(to_bus.body, standard.body);
    }

    #[test]
    fn the_events_trace_rides_every_message_and_survives_a_reshape() {
        // GIVEN an event stored in a trace, and a queue subscription
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let mut traced = streamed("acme", "e1", "ORDER", "CREATE");
        traced.event.traceparent = Some(traceparent.into());
        let subscriptions = SubscriptionsByTenant::from([(
            TenantId::parse("acme").expect("tenant"),
            Arc::from([subscription(
                "s-1",
                queue("https://sqs.eu-west-1.amazonaws.com/123456789012/orders"),
            )]),
        )]);
        // WHEN it is planned, and its queue message later reshaped for a bus
        let planned = plan(&[traced], &subscriptions, "bus");
        let (_, deliveries) = planned
            .iter()
            .find(|(target, _)| matches!(target, Target::Queue { .. }))
            .expect("a queue delivery");
        let queued = deliveries[0].message.clone();
        let own_bus = &planned[&Target::own_bus("bus")][0].message;
        let to_bus = Target::own_bus("b").reshape(OutgoingMessage {
            attributes: Vec::new(),
            ..queued.clone()
        });
        // THEN the queue gets it as an attribute and the buses as X-Ray's TraceHeader
        let attribute = |m: &OutgoingMessage| {
            m.attributes
                .iter()
                .find(|(k, _)| k == TRACEPARENT)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(attribute(&queued).as_deref(), Some(traceparent));
        let xray = Some("Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1");
        assert_eq!(own_bus.trace_header.as_deref(), xray);
        assert_eq!(to_bus.trace_header.as_deref(), xray);
        // AND a reshape back to a queue finds it in the body
        let back = Target::Queue {
            url: "https://sqs.eu-west-1.amazonaws.com/123456789012/other".into(),
            region: "eu-west-1".into(),
            credentials: None,
            role: None,
        }
        .reshape(to_bus);
        assert_eq!(attribute(&back).as_deref(), Some(traceparent));
    }

    #[test]
    fn two_tenants_same_ids_in_one_fifo_queue_get_different_deduplication_ids() {
        // GIVEN tenants acme and globex, each with subscription "s-1" to one FIFO queue
        let fifo = queue("https://sqs.eu-west-1.amazonaws.com/123456789012/shared.fifo");
        let dedup_of = |tenant: &str| {
            let subscriptions = SubscriptionsByTenant::from([(
                TenantId::parse(tenant).expect("tenant"),
                Arc::from([subscription("s-1", fifo.clone())]),
            )]);
            // WHEN each posts an event with the same id
            let planned = plan(&[streamed(tenant, "e1", "ORDER", "CREATE")], &subscriptions, "bus");
            planned
                .into_iter()
                .find(|(target, _)| matches!(target, Target::Queue { .. }))
                .and_then(|(_, deliveries)| deliveries[0].message.dedup_id.clone())
                .expect("a FIFO delivery")
        };
        // THEN SQS sees two messages, not one and a duplicate
        assert_ne!(dedup_of("acme"), dedup_of("globex"));
        assert_eq!(dedup_of("acme"), dedup_of("acme"), "a retry keeps its id");
    }

    #[test]
    fn fifo_group_ids_are_the_entity_id_when_sqs_takes_it_and_a_digest_otherwise() {
        assert_eq!(fifo_group_id("ORD-1/2024#x"), "ORD-1/2024#x");
        for unsafe_id in ["ORD 1", "Bestellung-Ä", &"x".repeat(129)] {
            let group = fifo_group_id(unsafe_id);
            assert!(group.starts_with("h-") && group.len() == 34, "{group}");
            assert_eq!(group, fifo_group_id(unsafe_id), "one group per entity");
        }
        assert_ne!(fifo_group_id("ORD 1"), fifo_group_id("ORD 2"));
    }
}
