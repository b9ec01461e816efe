//! Senders in memory, for unit tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::Utc;

use super::store::{SenderStore, StoredAddress, StoredSender};
use crate::sendgrid::Sender;
use crate::storage::StorageError;
use crate::tenant::TenantId;

#[derive(Default)]
pub struct InMemorySenders {
    senders: Mutex<BTreeMap<TenantId, StoredSender>>,
}

impl InMemorySenders {
    fn senders(&self) -> std::sync::MutexGuard<'_, BTreeMap<TenantId, StoredSender>> {
        self.senders.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SenderStore for InMemorySenders {
    async fn get(&self, tenant: &TenantId) -> Result<Option<StoredSender>, StorageError> {
        Ok(self.senders().get(tenant).cloned())
    }

    async fn address(&self, tenant: &TenantId) -> Result<Option<StoredAddress>, StorageError> {
        Ok(self.senders().get(tenant).cloned().map(StoredAddress::from))
    }

    async fn put(&self, tenant: &TenantId, sender: &Sender) -> Result<StoredSender, StorageError> {
        let stored = StoredSender {
            sender: sender.clone(),
            updated_at: Utc::now(),
        };
        self.senders().insert(tenant.clone(), stored.clone());
        Ok(stored)
    }

    async fn delete(&self, tenant: &TenantId) -> Result<(), StorageError> {
        self.senders().remove(tenant);
        Ok(())
    }
}
