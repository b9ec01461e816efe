//! The runs port: a job's runs, and the lease that makes each execution run
//! once (lease.rs says how). `RunStore` keeps them in the jobs table,
//! `InMemoryRuns` in memory (unit tests); local/tests/ports.rs holds both to
//! the same contract.

use std::future::Future;

use super::lease::{JobUpdate, Lease, Progress};
use super::runs::Run;
use crate::jobs::{RetryOverflow, RetryShoppers};
use crate::storage::StorageError;
use crate::tenant::TenantId;

pub trait Runs: Send + Sync {
    /// Leases `run`'s execution to this attempt (storing `run`), unless it
    /// finished or another attempt holds a live lease on it. An attempt whose
    /// lease is over is taken over: its run is closed FAILED, and its progress
    /// handed on.
    fn lease(&self, tenant: &TenantId, run: &Run) -> impl Future<Output = Result<Lease, StorageError>> + Send;

    /// Keeps `progress` on the lease; a `Conflict` if another attempt took it.
    fn progress(
        &self,
        tenant: &TenantId,
        run: &Run,
        progress: &Progress,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Stores the finished run, ends its lease and updates its job (if it still
    /// exists and no later run moved it on), all at once; true when the job was
    /// updated. A `Conflict` if another attempt took the lease.
    fn finish(
        &self,
        tenant: &TenantId,
        run: &Run,
        job: &JobUpdate,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;

    /// Keeps carried shoppers that do not fit on the job as item `seq` of `run`'s
    /// spill (a retry of the same request writes the same item again, whole).
    fn spill(
        &self,
        tenant: &TenantId,
        run: &Run,
        seq: u32,
        shoppers: &[RetryShoppers],
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// The shoppers `overflow` points at (its items `0..chunks`), in order; an
    /// item gone (expired) is skipped.
    fn spilled(
        &self,
        tenant: &TenantId,
        job_id: &str,
        overflow: &RetryOverflow,
    ) -> impl Future<Output = Result<Vec<RetryShoppers>, StorageError>> + Send;

    /// Removes `overflow`'s items, once a later run took its shoppers over.
    fn forget_spilled(
        &self,
        tenant: &TenantId,
        job_id: &str,
        overflow: &RetryOverflow,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// The job's latest `limit` runs, newest first.
    fn latest(
        &self,
        tenant: &TenantId,
        job_id: &str,
        limit: i32,
    ) -> impl Future<Output = Result<Vec<Run>, StorageError>> + Send;
}
