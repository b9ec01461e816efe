//! Each invocation of a job is a run, stored beside the job (`sk =
//! RUN#<job>#<started at>#<execution id>`, so a job's runs list newest first).
//! How an execution is leased, so that it runs once, is in `lease`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::util::rfc3339_millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    Running,
    /// Every e-mail accepted by SendGrid (or none to send).
    Succeeded,
    /// Some e-mails failed; the others went out.
    Partial,
    /// Nothing could be sent.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// Scheduler's execution id (or a generated one for a run started by hand).
    pub run_id: String,
    pub job_id: String,
    #[serde(with = "rfc3339_millis")]
    pub scheduled_time: DateTime<Utc>,
    #[serde(with = "rfc3339_millis")]
    pub started_at: DateTime<Utc>,
    #[serde(default, with = "rfc3339_millis::option")]
    pub finished_at: Option<DateTime<Utc>>,
    pub status: RunStatus,
    /// Shoppers whose wishlists were looked at.
    pub shoppers: u64,
    /// E-mails SendGrid accepted, and the items they list.
    pub emails: u64,
    pub items: u64,
    /// E-mails that could not be sent.
    pub failures: u64,
    /// The first few errors, for whoever looks at the run.
    pub errors: Vec<String>,
    pub duration_ms: u64,
}

impl Run {
    /// A run of `job_id` for execution `run_id`, starting at `started_at`.
    pub fn starting(run_id: String, job_id: String, scheduled_time: DateTime<Utc>, started_at: DateTime<Utc>) -> Self {
        Self {
            run_id,
            job_id,
            scheduled_time,
            started_at,
            finished_at: None,
            status: RunStatus::Running,
            shoppers: 0,
            emails: 0,
            items: 0,
            failures: 0,
            errors: Vec::new(),
            duration_ms: 0,
        }
    }

    /// Nothing could be sent, for `why`.
    pub fn fail(&mut self, why: String) {
        self.errors.push(why);
        self.status = RunStatus::Failed;
    }
}

pub(super) fn run_key(run: &Run) -> String {
    format!(
        "RUN#{}#{}#{}",
        run.job_id,
        rfc3339_millis::format(&run.started_at),
        run.run_id
    )
}

#[derive(Serialize, Deserialize)]
pub(super) struct RunItem {
    pub(super) pk: String,
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) run: Run,
}

/// Longer than notification-job may run (its timeout is 300 s): a lease this old
/// and still RUNNING belongs to an invocation that is gone.
pub const RUN_LEASE: Duration = Duration::from_secs(310);

/// How many runs of one tenant's jobs may go on at once, unless the operator
/// says otherwise (`MaxConcurrentRunsPerTenant`).
pub const RUNS_PER_TENANT: u32 = 2;

pub struct RunStore {
    pub(super) client: Client,
    pub(super) table: String,
    pub(super) lease: Duration,
    /// The tenant's run slots (lease.rs): how many, and the one each run of this
    /// container holds (by execution id), to free it when the run ends.
    pub(super) slots: u32,
    pub(super) held_slots: Mutex<HashMap<String, u32>>,
}

impl RunStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            lease: RUN_LEASE,
            slots: RUNS_PER_TENANT,
            held_slots: Mutex::default(),
        }
    }

    /// The same store with another lease (tests: zero, to stand for a dead attempt).
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
}
