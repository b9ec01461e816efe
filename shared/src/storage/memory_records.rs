//! `Records` in memory, for unit tests.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use super::counted::Counted;
use super::records::{RecordError, RecordPage, Records, Versioned};
use crate::tenant::TenantId;

pub struct InMemoryRecords<T> {
    records: Mutex<BTreeMap<(String, String), Versioned<T>>>,
    /// By tenant, once kept (`Counted`); locked after `records`.
    counts: Mutex<BTreeMap<String, u64>>,
}

impl<T> Default for InMemoryRecords<T> {
    fn default() -> Self {
        Self {
            records: Mutex::new(BTreeMap::new()),
            counts: Mutex::new(BTreeMap::new()),
        }
    }
}

impl<T> InMemoryRecords<T> {
    /// Changes record `id` with `change` (false: leave it as it is) and bumps its
    /// version, as a server-side update that a racing client write must not undo
    /// does; false when it is absent or was left alone.
    pub fn update(&self, tenant: &TenantId, id: &str, change: impl FnOnce(&mut T) -> bool) -> bool {
        let mut records = self.lock();
        let Some(record) = records.get_mut(&key(tenant, id)) else {
            return false;
        };
        let changed = change(&mut record.value);
        if changed {
            record.version += 1;
        }
        changed
    }

    /// `update` on the record at `version` only; false when absent or changed since.
    pub fn update_at(&self, tenant: &TenantId, id: &str, version: u64, change: impl FnOnce(&mut T)) -> bool {
        match self.lock().get_mut(&key(tenant, id)) {
            Some(record) if record.version == version => {
                change(&mut record.value);
                true
            }
            _ => false,
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<(String, String), Versioned<T>>> {
        self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn counts(&self) -> MutexGuard<'_, BTreeMap<String, u64>> {
        self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn key(tenant: &TenantId, id: &str) -> (String, String) {
    (tenant.to_string(), id.to_owned())
}

impl<T: Clone + Send + Sync> Records<T> for InMemoryRecords<T> {
    async fn create(&self, tenant: &TenantId, id: &str, value: T) -> Result<Versioned<T>, RecordError> {
        let mut records = self.lock();
        if records.contains_key(&key(tenant, id)) {
            return Err(RecordError::AlreadyExists);
        }
        let record = Versioned { version: 1, value };
        records.insert(key(tenant, id), record.clone());
        Ok(record)
    }

    async fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<Versioned<T>>, RecordError> {
        Ok(self.lock().get(&key(tenant, id)).cloned())
    }

    async fn replace(&self, tenant: &TenantId, id: &str, value: T, expected: u64) -> Result<Versioned<T>, RecordError> {
        let mut records = self.lock();
        let current = records.get_mut(&key(tenant, id)).ok_or(RecordError::NotFound)?;
        if current.version != expected {
            return Err(RecordError::VersionConflict {
                current: current.version,
            });
        }
        *current = Versioned {
            version: expected + 1,
            value,
        };
        Ok(current.clone())
    }

    async fn list(&self, tenant: &TenantId, limit: usize, cursor: Option<&str>) -> Result<RecordPage<T>, RecordError> {
        let records = self.lock();
        let mut page: Vec<(String, Versioned<T>)> = records
            .iter()
            .filter(|((t, id), _)| t == tenant.as_str() && cursor.is_none_or(|c| id.as_str() > c))
            .map(|((_, id), record)| (id.clone(), record.clone()))
            .take(limit + 1)
            .collect();
        let more = page.len() > limit;
        page.truncate(limit);
        let cursor = more.then(|| page.last().map(|(id, _)| id.clone())).flatten();
        Ok(RecordPage {
            items: page.into_iter().map(|(_, record)| record).collect(),
            cursor,
        })
    }
}

impl<T: Clone + Send + Sync> Counted<T> for InMemoryRecords<T> {
    async fn held(&self, tenant: &TenantId) -> Result<Option<u64>, RecordError> {
        Ok(self.counts().get(tenant.as_str()).copied())
    }

    async fn create_counted(
        &self,
        tenant: &TenantId,
        id: &str,
        value: T,
        max: u64,
        counted: u64,
    ) -> Result<Versioned<T>, RecordError> {
        let mut records = self.lock();
        let mut counts = self.counts();
        // In DynamoDB's order: the record's condition, then the count's.
        if records.contains_key(&key(tenant, id)) {
            return Err(RecordError::AlreadyExists);
        }
        let held = counts.get(tenant.as_str()).copied();
        if let Some(held) = held.filter(|held| *held >= max) {
            return Err(RecordError::OverQuota { held });
        }
        let record = Versioned { version: 1, value };
        records.insert(key(tenant, id), record.clone());
        counts.insert(tenant.to_string(), held.unwrap_or(counted) + 1);
        Ok(record)
    }

    async fn replace_uncounted(
        &self,
        tenant: &TenantId,
        id: &str,
        value: T,
        expected: u64,
    ) -> Result<Versioned<T>, RecordError> {
        let replaced = self.replace(tenant, id, value, expected).await?;
        if let Some(held) = self.counts().get_mut(tenant.as_str()) {
            *held = held.saturating_sub(1);
        }
        Ok(replaced)
    }
}
