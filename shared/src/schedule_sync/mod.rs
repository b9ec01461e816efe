//! schedule-sync (docs/architecture.md): one EventBridge Scheduler schedule per job, kept in
//! step with the jobs table, and the outcome written back onto the job.

mod change;
mod desired;
mod handler;
mod name;
mod port;
mod scheduler;

pub use change::{JobChange, job_change};
pub use desired::Desired;
pub use handler::{ScheduleSync, ScheduleSyncConfig};
pub use name::schedule_name;
pub use port::{InMemoryScheduler, Kept, ScheduleStatuses, Scheduler};
pub use scheduler::{ScheduleSpec, ScheduleTarget, SchedulerError, Schedules};
