//! An in-memory event store for unit tests and examples.

use std::collections::HashMap;
use std::sync::Mutex;

use super::item;
use super::model::Event;
use super::store::{EventPage, EventStore, PutOutcome, StoreError};
use crate::tenant::TenantId;

#[derive(Default)]
pub struct InMemoryEventStore {
    events: Mutex<HashMap<(TenantId, String), Event>>,
}

impl InMemoryEventStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(TenantId, String), Event>> {
        // A panic while holding the lock cannot leave a half-written map here.
        self.events.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl EventStore for InMemoryEventStore {
    async fn put_new(&self, tenant: &TenantId, event: Event) -> Result<PutOutcome, StoreError> {
        let mut events = self.lock();
        let key = (tenant.clone(), event.id.clone());
        Ok(match events.get(&key) {
            Some(existing) if existing.same_content(&event) => PutOutcome::Replayed(existing.clone()),
            Some(_) => PutOutcome::Conflict,
            None => {
                events.insert(key, event.clone());
                PutOutcome::Created(event)
            }
        })
    }

    async fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<Event>, StoreError> {
        Ok(self.lock().get(&(tenant.clone(), id.to_owned())).cloned())
    }

    async fn list_by_entity(
        &self,
        tenant: &TenantId,
        entity_name: &str,
        entity_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<EventPage, StoreError> {
        if cursor.is_some_and(|c| item::id_from_sort_key(c).is_none()) {
            return Err(StoreError::InvalidCursor);
        }
        let mut matching: Vec<(String, Event)> = self
            .lock()
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
