//! The port tenants' senders are kept behind.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::sendgrid::{Address, Sender};
use crate::storage::StorageError;
use crate::tenant::TenantId;

/// A tenant's sender, and when it was last set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSender {
    pub sender: Sender,
    pub updated_at: DateTime<Utc>,
}

/// A tenant's sender address without its key, and when it was last set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAddress {
    pub from: Address,
    pub updated_at: DateTime<Utc>,
}

impl From<StoredSender> for StoredAddress {
    fn from(stored: StoredSender) -> Self {
        Self {
            from: stored.sender.from,
            updated_at: stored.updated_at,
        }
    }
}

/// One sender per tenant; every call names the tenant, so none can reach another's.
pub trait SenderStore: Send + Sync {
    fn get(&self, tenant: &TenantId) -> impl Future<Output = Result<Option<StoredSender>, StorageError>> + Send;

    /// The sender without its key: what may be answered, read without the
    /// authority to read the key.
    fn address(&self, tenant: &TenantId) -> impl Future<Output = Result<Option<StoredAddress>, StorageError>> + Send;

    /// Sets (or replaces) the tenant's sender.
    fn put(
        &self,
        tenant: &TenantId,
        sender: &Sender,
    ) -> impl Future<Output = Result<StoredSender, StorageError>> + Send;

    /// Removes it at once; Ok also when there was none (idempotent).
    fn delete(&self, tenant: &TenantId) -> impl Future<Output = Result<(), StorageError>> + Send;
}
