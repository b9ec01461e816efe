//! An in-memory event store for unit tests and examples.

use std::collections::HashMap;
use std::sync::Mutex;

use super::customer::NewCustomer;
use super::item;
use super::model::Event;
use super::store::{EventPage, EventStore, EventStoreError, PutOutcome};
use crate::storage::StorageError;
use crate::tenant::TenantId;

#[derive(Default)]
pub struct InMemoryEventStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    events: HashMap<(TenantId, String), Event>,
    /// Unique keys and customer claims, each naming the event that holds it.
    claims: HashMap<(TenantId, String), String>,
}

impl InMemoryEventStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-written map here.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl EventStore for InMemoryEventStore {
    async fn put_new(
        &self,
        tenant: &TenantId,
        event: Event,
        unique_key: Option<&str>,
    ) -> Result<PutOutcome, EventStoreError> {
        let mut state = self.lock();
        let key = (tenant.clone(), event.id.clone());
        let claim = unique_key.map(|k| (tenant.clone(), format!("U#{k}")));
        if let Some(existing) = state.events.get(&key) {
            return Ok(PutOutcome::for_existing(existing.clone(), &event));
        }
        if let Some(holder) = claim.as_ref().and_then(|c| state.claims.get(c)) {
            let holder = (tenant.clone(), holder.clone());
            return state
                .events
                .get(&holder)
                .cloned()
                .map(PutOutcome::Replayed)
                .ok_or_else(|| StorageError::other("a unique key names a missing event").into());
        }
        if let Some(claim) = claim {
            state.claims.insert(claim, event.id.clone());
        }
        state.events.insert(key, event.clone());
        Ok(PutOutcome::Created(event))
    }

    async fn add_customer(
        &self,
        tenant: &TenantId,
        customer: &NewCustomer,
        created: Event,
    ) -> Result<bool, EventStoreError> {
        let mut state = self.lock();
        let claim = (tenant.clone(), format!("C#{}", customer.digest()));
        if state.claims.contains_key(&claim) {
            return Ok(false);
        }
        state.claims.insert(claim, created.id.clone());
        state.events.insert((tenant.clone(), created.id.clone()), created);
        Ok(true)
    }

    async fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<Event>, EventStoreError> {
        Ok(self.lock().events.get(&(tenant.clone(), id.to_owned())).cloned())
    }

    async fn list_by_entity(
        &self,
        tenant: &TenantId,
        entity_name: &str,
        entity_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<EventPage, EventStoreError> {
        if cursor.is_some_and(|c| item::id_from_sort_key(c).is_none()) {
            return Err(EventStoreError::InvalidCursor);
        }
        let mut matching: Vec<(String, Event)> = self
            .lock()
            .events
            .iter()
            .filter(|((t, _), e)| t == tenant && e.entity_name == entity_name && e.entity_id == entity_id)
            .map(|(_, e)| (item::entity_sort_key(&e.created_at, &e.id), e.clone()))
            .filter(|(sort_key, _)| cursor.is_none_or(|c| sort_key.as_str() < c))
            .collect();
        matching.sort_by(|a, b| b.0.cmp(&a.0));
        let more = matching.len() > limit;
        matching.truncate(limit);
        let cursor = more.then(|| matching.last().map(|(k, _)| k.clone())).flatten();
        Ok(EventPage {
            items: matching.into_iter().map(|(_, e)| e).collect(),
            cursor,
        })
    }
}
