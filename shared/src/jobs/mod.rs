//! Notification jobs: which e-mails go to shoppers, on what schedule.

mod model;
mod request;

pub use model::{Job, JobParameters, Notification, RetryShoppers, ScheduleStatus};
pub use request::{JobDraft, JobRequest};
