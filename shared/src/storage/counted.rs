//! Records whose number per tenant is capped (the quotas). A count kept beside
//! them (`sk = COUNT#<kind>`) moves in the same transaction as the record, so
//! creates racing at the cap cannot pass it, and a create need not list the
//! tenant's records: only a tenant whose count is not kept yet is counted once.

use std::future::Future;

use super::records::{RecordError, Records, Versioned};
use crate::tenant::TenantId;

pub trait Counted<T>: Records<T> {
    /// How many the tenant holds, once a count is kept for it.
    fn held(&self, tenant: &TenantId) -> impl Future<Output = Result<Option<u64>, RecordError>> + Send;

    /// `create`, counted: `OverQuota` when the tenant holds `max` already. A
    /// count not kept yet starts at `counted` (what the caller found).
    fn create_counted(
        &self,
        tenant: &TenantId,
        id: &str,
        value: T,
        max: u64,
        counted: u64,
    ) -> impl Future<Output = Result<Versioned<T>, RecordError>> + Send;

    /// `replace` by a record that no longer counts (a soft delete frees its place).
    fn replace_uncounted(
        &self,
        tenant: &TenantId,
        id: &str,
        value: T,
        expected: u64,
    ) -> impl Future<Output = Result<Versioned<T>, RecordError>> + Send;
}
