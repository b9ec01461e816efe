//! A notification job as stored and returned, with the seed's field names
//! (snake_case, but `scheduleExpression`/`scheduleTimezone` as the seed has them).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::util::rfc3339_millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Notification {
    BackInStock,
    PriceDrop,
    LowStock,
    WishlistReminder,
}

/// Where the job's EventBridge Scheduler schedule stands. Written by the API as
/// `PENDING` on every change and by schedule-sync once Scheduler has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScheduleStatus {
    Pending,
    Enabled,
    Disabled,
    Deleted,
    Failed,
}

/// `{campaign_id, utm_medium, low_stock_threshold, …}`: scalar values only.
pub type JobParameters = serde_json::Map<String, serde_json::Value>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub notification: Notification,
    /// SendGrid dynamic template id.
    pub template_id: String,
    /// -1 for all items, else 1 or more.
    pub number_of_items_in_email: i32,
    pub job_parameters: JobParameters,
    /// Both hold the normalised Scheduler expression (e.g. `cron(0 9 ? * MON-FRI *)`).
    pub schedule: Option<String>,
    #[serde(rename = "scheduleExpression")]
    pub schedule_expression: Option<String>,
    /// IANA name; `None` means UTC.
    #[serde(rename = "scheduleTimezone")]
    pub schedule_timezone: Option<String>,
    pub is_active: bool,
    pub is_scheduled: bool,
    pub deleted: bool,
    pub schedule_status: ScheduleStatus,
    /// Why Scheduler refused the schedule, when it did.
    pub schedule_error: Option<String>,
    #[serde(with = "rfc3339_millis::option")]
    pub next_run_at: Option<DateTime<Utc>>,
    #[serde(with = "rfc3339_millis::option")]
    pub last_run_at: Option<DateTime<Utc>>,
    /// Server-set: shoppers whose e-mail SendGrid could not take in a run that
    /// still advanced `last_run_at`, by the time their changes count from; the
    /// next run mails them what changed since.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry_shoppers: Vec<RetryShoppers>,
    /// Server-set: more such shoppers than the job item holds, kept in items of
    /// their own (written by the run named here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_overflow: Option<RetryOverflow>,
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339_millis")]
    pub updated_at: DateTime<Utc>,
}

/// Shoppers a run could not mail, and the time their changes count from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryShoppers {
    #[serde(with = "rfc3339_millis")]
    pub since: DateTime<Utc>,
    pub shoppers: Vec<String>,
}

/// Where the carried shoppers beyond `retry_shoppers` are: `chunks` items
/// written by run `run_id`, `shoppers` in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryOverflow {
    pub run_id: String,
    pub chunks: u32,
    pub shoppers: u64,
}

impl Job {
    /// Whether Scheduler should be firing it.
    pub fn should_run(&self) -> bool {
        self.is_active && self.is_scheduled && !self.deleted
    }
}
