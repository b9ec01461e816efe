//! Notification jobs' e-mails (docs/architecture.md): what each shopper gets, and links
//! tracked for the job's campaign.

mod compose;
mod config;
mod lease;
mod links;
mod memory;
mod port;
mod runner;
mod runs;
mod spill;

pub use compose::Composer;
pub use config::{NotificationConfig, StackSenderConfig, sendgrid_api_key};
pub use lease::{JobUpdate, Lease, Progress, Ran, Resumed};
pub use links::with_utm;
pub use memory::InMemoryRuns;
pub use port::Runs;
pub use runner::{Invocation, NotificationRunner, Outcome, RUN_FINISHED, RunError};
pub use runs::{RUN_LEASE, RUNS_PER_TENANT, Run, RunStatus, RunStore};
