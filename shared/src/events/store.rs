//! The storage port for events. DynamoDB in Lambda, memory in unit tests.

use std::future::Future;

use super::customer::NewCustomer;
use super::model::Event;
use crate::storage::StorageError;
use crate::tenant::TenantId;

/// What a create did. Decided by one conditional write, never read-then-write.
#[derive(Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// The event is new and now stored.
    Created(Event),
    /// The same id with the same content was stored before, or another event
    /// holds the unique key: here is that event.
    Replayed(Event),
    /// The id exists with different content.
    Conflict,
}

impl PutOutcome {
    /// What a create answers when `existing` already has the id of `sent`.
    pub fn for_existing(existing: Event, sent: &Event) -> Self {
        if existing.same_content(sent) {
            Self::Replayed(existing)
        } else {
            Self::Conflict
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct EventPage {
    pub items: Vec<Event>,
    /// Opaque position after the last item; `None` on the last page.
    pub cursor: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EventStoreError {
    #[error("the pagination cursor is not one this API issued")]
    InvalidCursor,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub trait EventStore: Send + Sync {
    /// Stores a new event. With `unique_key`, the event also claims that key in
    /// the same write; when another event holds it, that event is `Replayed`.
    fn put_new(
        &self,
        tenant: &TenantId,
        event: Event,
        unique_key: Option<&str>,
    ) -> impl Future<Output = Result<PutOutcome, EventStoreError>> + Send;

    /// Stores `created` (its CUSTOMER CREATE event) when `customer` is unknown to
    /// the tenant, in one write with the claim that makes it known. True if stored.
    fn add_customer(
        &self,
        tenant: &TenantId,
        customer: &NewCustomer,
        created: Event,
    ) -> impl Future<Output = Result<bool, EventStoreError>> + Send;

    fn get(&self, tenant: &TenantId, id: &str) -> impl Future<Output = Result<Option<Event>, EventStoreError>> + Send;

    /// An entity's events, newest first.
    fn list_by_entity(
        &self,
        tenant: &TenantId,
        entity_name: &str,
        entity_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<EventPage, EventStoreError>> + Send;
}
