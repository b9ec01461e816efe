//! The ledger in memory, for unit tests: the same rules as `DynamoLedger`.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use super::dynamo::entry_key;
use chrono::{DateTime, Utc};

use super::model::{CustomerState, LedgerEntry, Mark};
use super::port::{Applied, Change, Ledger};
use crate::storage::StorageError;
use crate::tenant::TenantId;

#[derive(Default)]
pub struct InMemoryLedger {
    state: Mutex<Customers>,
}

#[derive(Default)]
struct Customers {
    states: BTreeMap<(String, String), CustomerState>,
    /// Newest last.
    entries: BTreeMap<(String, String), Vec<LedgerEntry>>,
    marks: BTreeMap<(String, String, String), Mark>,
}

impl InMemoryLedger {
    fn lock(&self) -> MutexGuard<'_, Customers> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn key(tenant: &TenantId, customer: &str) -> (String, String) {
    (tenant.to_string(), customer.to_owned())
}

impl Ledger for InMemoryLedger {
    async fn state(&self, tenant: &TenantId, customer: &str) -> Result<CustomerState, StorageError> {
        Ok(self
            .lock()
            .states
            .get(&key(tenant, customer))
            .cloned()
            .unwrap_or_default())
    }

    async fn apply(&self, tenant: &TenantId, customer: &str, change: &Change<'_>) -> Result<Applied, StorageError> {
        let Change {
            event_id,
            before,
            effect,
        } = *change;
        let mut customers = self.lock();
        let mark = (tenant.to_string(), customer.to_owned(), event_id.to_owned());
        if customers.marks.contains_key(&mark) {
            return Ok(Applied::AlreadyApplied);
        }
        let stored_version = customers.states.get(&key(tenant, customer)).and_then(|s| s.version);
        if stored_version != before.version {
            return Ok(Applied::Stale);
        }
        customers.marks.insert(mark, effect.mark);
        customers.states.insert(key(tenant, customer), effect.next.clone());
        let list = customers.entries.entry(key(tenant, customer)).or_default();
        list.extend(effect.entries.iter().cloned());
        list.sort_by(|a, b| (a.created_at, &a.entry_id).cmp(&(b.created_at, &b.entry_id)));
        Ok(Applied::Written)
    }

    async fn mark(&self, tenant: &TenantId, customer: &str, event_id: &str) -> Result<Option<Mark>, StorageError> {
        let mark = (tenant.to_string(), customer.to_owned(), event_id.to_owned());
        Ok(self.lock().marks.get(&mark).copied())
    }

    async fn entries_of(
        &self,
        tenant: &TenantId,
        customer: &str,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<LedgerEntry>, StorageError> {
        let customers = self.lock();
        let all = customers.entries.get(&key(tenant, customer)).into_iter().flatten();
        Ok(all
            .filter(|entry| entry.event_id == event_id && entry.created_at == at)
            .cloned()
            .collect())
    }

    async fn set_locked(
        &self,
        tenant: &TenantId,
        customer: &str,
        before: &CustomerState,
        locked: bool,
    ) -> Result<Applied, StorageError> {
        let mut customers = self.lock();
        match customers.states.get_mut(&key(tenant, customer)) {
            Some(state) if state.version == before.version => {
                state.locked = locked;
                state.version = state.version.map(|v| v + 1);
                Ok(Applied::Written)
            }
            _ => Ok(Applied::Stale),
        }
    }

    async fn entries(
        &self,
        tenant: &TenantId,
        customer: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<LedgerEntry>, Option<String>), StorageError> {
        let customers = self.lock();
        let newest_first = customers
            .entries
            .get(&key(tenant, customer))
            .into_iter()
            .flatten()
            .rev()
            .skip_while(|entry| cursor.is_some_and(|c| entry_key(entry) != c))
            .skip(usize::from(cursor.is_some()));
        let mut page: Vec<LedgerEntry> = newest_first.take(limit + 1).cloned().collect();
        let more = page.len() > limit;
        page.truncate(limit);
        let next = more.then(|| page.last().map(entry_key)).flatten();
        Ok((page, next))
    }
}
