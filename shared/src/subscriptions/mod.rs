//! Event subscriptions: where a tenant's events of one entity type are delivered.

pub mod authority;
mod destination;
pub mod filter;
#[cfg(test)]
pub(crate) mod fixtures;
mod model;
pub mod ownership;
mod request;

pub use authority::{Authority, DestinationPolicy, authority};
pub use destination::{DestinationRules, account_of};
pub use filter::{Filter, FilterError};
pub use model::{BusTarget, DeliveryHealth, Destination, QueueTarget, SecretInput, Subscription, TopicTarget};
pub use ownership::{Ownership, TENANT_TAG};
pub use request::{SubscriptionDraft, SubscriptionRequest};
