//! Notification jobs: which e-mails go to shoppers, on what schedule.

mod model;
mod request;

pub use model::{Job, JobParameters, Notification, RetryOverflow, RetryShoppers, ScheduleStatus};
pub use request::{JobDraft, JobRequest};
