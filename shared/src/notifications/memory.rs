//! `Runs` in memory, for unit tests: the same lease rules as `RunStore`, and
//! the job updated through the same (shared) records the runner reads.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::lease::{JobUpdate, Lease, Progress, Resumed, slot_order, taken_over};
use super::port::Runs;
use super::runs::{RUN_LEASE, RUNS_PER_TENANT, Run, RunStatus};
use crate::jobs::{Job, RetryOverflow, RetryShoppers};
use crate::storage::{InMemoryRecords, StorageError};
use crate::tenant::TenantId;
use crate::util::rfc3339_millis;

pub struct InMemoryRuns {
    jobs: Arc<InMemoryRecords<Job>>,
    lease: Duration,
    slots: u32,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// By (tenant, job id, execution id).
    leases: BTreeMap<(String, String, String), Held>,
    /// By (tenant, job id, started at, run id): one record per attempt.
    runs: BTreeMap<(String, String, DateTime<Utc>, String), Run>,
    /// By (tenant, job id): the execution holding the job, and until when.
    locks: BTreeMap<(String, String), (String, DateTime<Utc>)>,
    /// By (tenant, job id, run id, seq): carried shoppers beyond the job's.
    spills: BTreeMap<(String, String, String, u32), Vec<RetryShoppers>>,
    /// By (tenant, slot): the execution holding the tenant's run slot, and until when.
    slots: BTreeMap<(String, u32), (String, DateTime<Utc>)>,
}

impl State {
    /// Whether another execution holds `run`'s job now.
    fn locked_for(&self, tenant: &TenantId, run: &Run) -> bool {
        self.locks
            .get(&(tenant.to_string(), run.job_id.clone()))
            .is_some_and(|(holder, until)| *holder != run.run_id && *until > run.started_at)
    }

    fn lock(&mut self, tenant: &TenantId, run: &Run, until: DateTime<Utc>) {
        self.locks
            .insert((tenant.to_string(), run.job_id.clone()), (run.run_id.clone(), until));
    }

    /// The first of the tenant's `slots` that `run` may take, tried in the
    /// order `RunStore` tries them.
    fn free_slot(&self, tenant: &TenantId, run: &Run, slots: u32) -> Option<u32> {
        slot_order(&run.job_id, slots).find(|slot| {
            self.slots
                .get(&(tenant.to_string(), *slot))
                .is_none_or(|(holder, until)| *holder == run.run_id || *until <= run.started_at)
        })
    }
}

/// One execution's lease.
struct Held {
    finished: bool,
    until: DateTime<Utc>,
    /// The attempt holding it (its start).
    holder: DateTime<Utc>,
    first_started_at: DateTime<Utc>,
    progress: Progress,
}

impl InMemoryRuns {
    /// Runs of the jobs in `jobs`, which `finish` updates.
    pub fn new(jobs: Arc<InMemoryRecords<Job>>) -> Self {
        Self {
            jobs,
            lease: RUN_LEASE,
            slots: RUNS_PER_TENANT,
            state: Mutex::default(),
        }
    }

    /// The same store with another lease (zero: every attempt's lease is over).
    #[must_use]
    pub fn with_lease(self, lease: Duration) -> Self {
        Self { lease, ..self }
    }

    /// The same store letting `slots` runs of one tenant go on at once (at least one).
    #[must_use]
    pub fn with_slots(self, slots: u32) -> Self {
        Self {
            slots: slots.max(1),
            ..self
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lease_until(&self, run: &Run) -> DateTime<Utc> {
        run.started_at + chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::MAX)
    }
}

fn lease_key(tenant: &TenantId, run: &Run) -> (String, String, String) {
    (tenant.to_string(), run.job_id.clone(), run.run_id.clone())
}

fn run_key(tenant: &TenantId, run: &Run) -> (String, String, DateTime<Utc>, String) {
    (
        tenant.to_string(),
        run.job_id.clone(),
        run.started_at,
        run.run_id.clone(),
    )
}

/// Carried shoppers as the jobs table gives them back: times to the millisecond.
fn as_stored(retry: &[RetryShoppers]) -> Vec<RetryShoppers> {
    retry
        .iter()
        .map(|r| RetryShoppers {
            since: rfc3339_millis::stored(r.since),
            shoppers: r.shoppers.clone(),
        })
        .collect()
}

/// `run` as the jobs table gives it back: times to the millisecond.
fn stored(run: &Run) -> Run {
    Run {
        scheduled_time: rfc3339_millis::stored(run.scheduled_time),
        started_at: rfc3339_millis::stored(run.started_at),
        finished_at: run.finished_at.map(rfc3339_millis::stored),
        ..run.clone()
    }
}

impl Runs for InMemoryRuns {
    async fn lease(&self, tenant: &TenantId, run: &Run) -> Result<Lease, StorageError> {
        let until = self.lease_until(run);
        let mut state = self.lock();
        // Another execution of the job runs now.
        let locked = state.locked_for(tenant, run);
        let slot = state.free_slot(tenant, run, self.slots);
        let resumed = match state.leases.get_mut(&lease_key(tenant, run)) {
            None if locked => return Ok(Lease::Busy),
            None if slot.is_none() => return Ok(Lease::TenantBusy),
            None => {
                state.leases.insert(
                    lease_key(tenant, run),
                    Held {
                        finished: false,
                        until,
                        holder: run.started_at,
                        first_started_at: rfc3339_millis::stored(run.started_at),
                        progress: Progress::default(),
                    },
                );
                Resumed {
                    first_started_at: run.started_at,
                    progress: Progress::default(),
                }
            }
            Some(held) if held.finished => return Ok(Lease::Finished),
            Some(held) if held.until > run.started_at => return Ok(Lease::Busy),
            Some(_) if locked => return Ok(Lease::Busy),
            Some(_) if slot.is_none() => return Ok(Lease::TenantBusy),
            Some(held) => {
                let dead = (tenant.to_string(), run.job_id.clone(), held.holder, run.run_id.clone());
                held.until = until;
                held.holder = run.started_at;
                let resumed = Resumed {
                    first_started_at: held.first_started_at,
                    progress: held.progress.clone(),
                };
                if let Some(dead) = state.runs.get_mut(&dead) {
                    dead.status = RunStatus::Failed;
                    (dead.emails, dead.items, dead.failures) = (
                        resumed.progress.emails,
                        resumed.progress.items,
                        resumed.progress.failures,
                    );
                    dead.errors
                        .push("the invocation ended before the run finished (timeout?); a retry carried on".into());
                }
                resumed
            }
        };
        state.runs.insert(run_key(tenant, run), stored(run));
        state.lock(tenant, run, until);
        if let Some(slot) = slot {
            state
                .slots
                .insert((tenant.to_string(), slot), (run.run_id.clone(), until));
        }
        Ok(Lease::Started(resumed))
    }

    async fn progress(&self, tenant: &TenantId, run: &Run, progress: &Progress) -> Result<(), StorageError> {
        match self.lock().leases.get_mut(&lease_key(tenant, run)) {
            Some(held) if !held.finished && held.holder == run.started_at => {
                held.progress = progress.clone();
                Ok(())
            }
            _ => Err(taken_over()),
        }
    }

    async fn finish(&self, tenant: &TenantId, run: &Run, job: &JobUpdate) -> Result<bool, StorageError> {
        {
            let mut state = self.lock();
            match state.leases.get_mut(&lease_key(tenant, run)) {
                Some(held) if held.holder == run.started_at => held.finished = true,
                _ => return Err(taken_over()),
            }
            state.runs.insert(run_key(tenant, run), stored(run));
            let job = (tenant.to_string(), run.job_id.clone());
            if state.locks.get(&job).is_some_and(|(holder, _)| *holder == run.run_id) {
                state.locks.remove(&job);
            }
            let tenant = tenant.to_string();
            state
                .slots
                .retain(|(of, _), (holder, _)| *of != tenant || *holder != run.run_id);
        }
        // A job deleted meanwhile, or moved on by a later run: the run is still
        // recorded, the job left alone.
        let updated = self.jobs.update(tenant, &run.job_id, |stored| {
            if let Some(ran) = &job.ran
                && stored
                    .last_run_at
                    .is_some_and(|last| last > rfc3339_millis::stored(ran.at))
            {
                return false;
            }
            stored.next_run_at = job.next_run_at.map(rfc3339_millis::stored);
            if let Some(ran) = &job.ran {
                stored.last_run_at = Some(rfc3339_millis::stored(ran.at));
                stored.retry_shoppers = as_stored(&ran.retry);
                stored.retry_overflow = ran.overflow.clone();
            }
            true
        });
        Ok(updated)
    }

    async fn spill(
        &self,
        tenant: &TenantId,
        run: &Run,
        seq: u32,
        shoppers: &[RetryShoppers],
    ) -> Result<(), StorageError> {
        let key = (tenant.to_string(), run.job_id.clone(), run.run_id.clone(), seq);
        self.lock().spills.insert(key, as_stored(shoppers));
        Ok(())
    }

    async fn spilled(
        &self,
        tenant: &TenantId,
        job_id: &str,
        overflow: &RetryOverflow,
    ) -> Result<Vec<RetryShoppers>, StorageError> {
        let state = self.lock();
        let mut carried = Vec::new();
        for seq in 0..overflow.chunks {
            let key = (tenant.to_string(), job_id.to_owned(), overflow.run_id.clone(), seq);
            carried.extend(state.spills.get(&key).into_iter().flatten().cloned());
        }
        Ok(carried)
    }

    async fn forget_spilled(
        &self,
        tenant: &TenantId,
        job_id: &str,
        overflow: &RetryOverflow,
    ) -> Result<(), StorageError> {
        let mut state = self.lock();
        for seq in 0..overflow.chunks {
            state
                .spills
                .remove(&(tenant.to_string(), job_id.to_owned(), overflow.run_id.clone(), seq));
        }
        Ok(())
    }

    async fn latest(&self, tenant: &TenantId, job_id: &str, limit: i32) -> Result<Vec<Run>, StorageError> {
        Ok(self
            .lock()
            .runs
            .iter()
            .rev()
            .filter(|((t, job, _, _), _)| t == tenant.as_str() && job == job_id)
            .take(usize::try_from(limit).unwrap_or(0))
            .map(|(_, run)| run.clone())
            .collect())
    }
}
