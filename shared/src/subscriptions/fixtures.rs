//! Subscriptions for unit tests.

use chrono::DateTime;

use super::{BusTarget, Destination, Subscription};

/// An active subscription to ORDER creates, delivered to an EventBridge bus.
pub fn subscription(id: &str) -> Subscription {
    Subscription {
        id: id.into(),
        active: true,
        entity_type: "ORDER".into(),
        subscribe_create: true,
        subscribe_change: false,
        subscribe_delete: false,
        include_psi: false,
        destination: Destination::EventBridge {
            event_bridge: BusTarget {
                event_bus_arn: "arn:aws:events:eu-west-1:123456789012:event-bus/b".into(),
                region: "eu-west-1".into(),
                role_arn: None,
            },
        },
        filter: None,
        rate_limit: None,
        created_at: DateTime::UNIX_EPOCH,
        updated_at: DateTime::UNIX_EPOCH,
        delivery: Default::default(),
    }
}
