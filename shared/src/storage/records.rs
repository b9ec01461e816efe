//! A tenant's records of one kind (subscriptions, jobs), with optimistic
//! concurrency: every write states the version it replaces.

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::StorageError;
use crate::tenant::TenantId;

/// A stored value and its version (1 on create, +1 on each replace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versioned<T> {
    pub version: u64,
    #[serde(flatten)]
    pub value: T,
}

#[derive(Debug, PartialEq, Eq)]
pub struct RecordPage<T> {
    pub items: Vec<Versioned<T>>,
    /// Opaque position after the last item; `None` on the last page.
    pub cursor: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("a record with this id exists")]
    AlreadyExists,
    #[error("no record with this id")]
    NotFound,
    #[error("the record was changed by someone else (version {current} is current)")]
    VersionConflict { current: u64 },
    #[error("the pagination cursor is not one this API issued")]
    InvalidCursor,
    /// The tenant holds as many as it may (`Counted`).
    #[error("the tenant holds {held} already")]
    OverQuota { held: u64 },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub trait Records<T>: Send + Sync {
    /// Stores a new record at version 1; `AlreadyExists` if the id is taken.
    fn create(
        &self,
        tenant: &TenantId,
        id: &str,
        value: T,
    ) -> impl Future<Output = Result<Versioned<T>, RecordError>> + Send;

    fn get(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> impl Future<Output = Result<Option<Versioned<T>>, RecordError>> + Send;

    /// Replaces version `expected` with `value` at `expected + 1`.
    fn replace(
        &self,
        tenant: &TenantId,
        id: &str,
        value: T,
        expected: u64,
    ) -> impl Future<Output = Result<Versioned<T>, RecordError>> + Send;

    /// The tenant's records in id order.
    fn list(
        &self,
        tenant: &TenantId,
        limit: usize,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<RecordPage<T>, RecordError>> + Send;
}

/// Page size when reading all of a tenant's records.
const ALL_PAGE: usize = 500;

/// Every record of the tenant that `keep` accepts, in id order, page by page.
pub async fn list_all<T>(
    records: &impl Records<T>,
    tenant: &TenantId,
    keep: impl Fn(&T) -> bool,
) -> Result<Vec<Versioned<T>>, RecordError> {
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = records.list(tenant, ALL_PAGE, cursor.as_deref()).await?;
        found.extend(page.items.into_iter().filter(|r| keep(&r.value)));
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(found),
        }
    }
}

/// A shared store is a store (one the runs' and the runner's jobs share in tests).
impl<T, R: Records<T>> Records<T> for std::sync::Arc<R> {
    fn create(
        &self,
        tenant: &TenantId,
        id: &str,
        value: T,
    ) -> impl Future<Output = Result<Versioned<T>, RecordError>> + Send {
        R::create(self, tenant, id, value)
    }

    fn get(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> impl Future<Output = Result<Option<Versioned<T>>, RecordError>> + Send {
        R::get(self, tenant, id)
    }

    fn replace(
        &self,
        tenant: &TenantId,
        id: &str,
        value: T,
        expected: u64,
    ) -> impl Future<Output = Result<Versioned<T>, RecordError>> + Send {
        R::replace(self, tenant, id, value, expected)
    }

    fn list(
        &self,
        tenant: &TenantId,
        limit: usize,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<RecordPage<T>, RecordError>> + Send {
        R::list(self, tenant, limit, cursor)
    }
}
