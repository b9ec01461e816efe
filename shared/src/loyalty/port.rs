//! The ledger port: a customer's state, one event's change to it, and its
//! entries. `DynamoLedger` keeps them in the loyalty table, `InMemoryLedger` in
//! memory; local/tests/ports.rs holds both to one contract.

use std::future::Future;

use chrono::{DateTime, Utc};

use super::model::{CustomerState, Effect, LedgerEntry, Mark};
use crate::storage::StorageError;
use crate::tenant::TenantId;

/// One event's change to a customer: the state it was computed from, and what
/// the event does to it.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub event_id: &'a str,
    pub before: &'a CustomerState,
    pub effect: &'a Effect,
}

/// How applying one event's change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Written,
    /// The event was applied before (a redelivered batch): nothing written.
    AlreadyApplied,
    /// The customer changed since `before` was read: read again and retry.
    Stale,
}

pub trait Ledger: Send + Sync {
    /// The customer's state (the default one for a customer never seen).
    fn state(
        &self,
        tenant: &TenantId,
        customer: &str,
    ) -> impl Future<Output = Result<CustomerState, StorageError>> + Send;

    /// Writes `change`, if the customer is still as it was computed from and its
    /// event was not applied yet; all or nothing.
    fn apply(
        &self,
        tenant: &TenantId,
        customer: &str,
        change: &Change<'_>,
    ) -> impl Future<Output = Result<Applied, StorageError>> + Send;

    /// The mark event `event_id` was applied with; `None` if it was not applied.
    fn mark(
        &self,
        tenant: &TenantId,
        customer: &str,
        event_id: &str,
    ) -> impl Future<Output = Result<Option<Mark>, StorageError>> + Send;

    /// The entries event `event_id` wrote when it was applied `at` (its mark's time).
    fn entries_of(
        &self,
        tenant: &TenantId,
        customer: &str,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<LedgerEntry>, StorageError>> + Send;

    /// Locks or unlocks a customer known to the ledger, if it is still as `before`.
    fn set_locked(
        &self,
        tenant: &TenantId,
        customer: &str,
        before: &CustomerState,
        locked: bool,
    ) -> impl Future<Output = Result<Applied, StorageError>> + Send;

    /// The customer's entries, newest first, `limit` a page after `cursor`.
    fn entries(
        &self,
        tenant: &TenantId,
        customer: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<(Vec<LedgerEntry>, Option<String>), StorageError>> + Send;
}
