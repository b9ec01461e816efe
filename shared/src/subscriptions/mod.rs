//! Event subscriptions: where a tenant's events of one entity type are delivered.

mod destination;
#[cfg(test)]
pub(crate) mod fixtures;
mod model;
mod request;

pub use destination::DestinationRules;
pub use model::{BusTarget, DeliveryHealth, Destination, QueueTarget, SecretInput, Subscription, TopicTarget};
pub use request::{SubscriptionDraft, SubscriptionRequest};
