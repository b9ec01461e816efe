//! Reading the jobs table's stream: which records call for a schedule change.
//! schedule-sync's own status write-back changes nothing Scheduler holds, so the
//! record it causes is skipped: no write loop.

use aws_lambda_events::event::dynamodb::EventRecord;
use serde::Deserialize;

use super::desired::Desired;
use crate::jobs::{Job, ScheduleStatus};
use crate::storage::Versioned;
use crate::storage::schema::JOB_RECORDS;
use crate::tenant::TenantId;

/// A job as the stream shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobChange {
    pub tenant: TenantId,
    pub id: String,
    /// The new state; `None` when the item itself was removed.
    pub job: Option<Versioned<Job>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the stream image is not a job item: {0}")]
pub struct ChangeError(String);

#[derive(Deserialize)]
struct StoredJob {
    tenant: String,
    #[serde(flatten)]
    record: Versioned<Job>,
}

fn decode(image: &serde_dynamo::Item) -> Result<Option<(TenantId, Versioned<Job>)>, ChangeError> {
    if image.is_empty() {
        return Ok(None);
    }
    let stored: StoredJob = serde_dynamo::from_item(image.clone()).map_err(|e| ChangeError(e.to_string()))?;
    let tenant = TenantId::parse(&stored.tenant).map_err(|_| ChangeError("invalid tenant".into()))?;
    Ok(Some((tenant, stored.record)))
}

/// The change `record` calls for, or `None` when Scheduler already holds what
/// the job wants (the API marks every change of its own `PENDING`).
pub fn job_change(record: &EventRecord) -> Result<Option<JobChange>, ChangeError> {
    // Runs and their claims live in the table too; they are none of Scheduler's business.
    let sort_key = record.change.keys.get("sk").and_then(|v| match v {
        serde_dynamo::AttributeValue::S(sk) => Some(sk.as_str()),
        _ => None,
    });
    if sort_key.is_some_and(|sk| !sk.starts_with(&format!("{JOB_RECORDS}#"))) {
        return Ok(None);
    }
    let old = decode(&record.change.old_image)?;
    let new = decode(&record.change.new_image)?;
    match (new, old) {
        (Some((tenant, new)), old) => {
            let unchanged = old.is_some_and(|(_, old)| Desired::of(&old.value) == Desired::of(&new.value));
            let awaited = new.value.schedule_status == ScheduleStatus::Pending;
            Ok((awaited || !unchanged).then(|| JobChange {
                tenant,
                id: new.value.id.clone(),
                job: Some(new),
            }))
        }
        (None, Some((tenant, old))) => Ok(Some(JobChange {
            tenant,
            id: old.value.id,
            job: None,
        })),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::jobs::Notification;
    use crate::testing;

    fn job(status: ScheduleStatus, active: bool) -> Versioned<Job> {
        Versioned {
            version: 2,
            value: Job {
                schedule_status: status,
                is_active: active,
                ..testing::job("job-1", Notification::BackInStock)
            },
        }
    }

    fn record(old: Option<&Versioned<Job>>, new: Option<&Versioned<Job>>) -> EventRecord {
        testing::job_record(&testing::tenant("acme"), "1", old, new)
    }

    #[test]
    fn only_records_that_change_what_scheduler_holds_or_await_it_are_synced() {
        use ScheduleStatus::{Enabled, Pending};
        let syncs = |old: Option<&Versioned<Job>>, new: Option<&Versioned<Job>>| {
            job_change(&record(old, new)).expect("decodes").is_some()
        };
        let (pending, enabled) = (job(Pending, true), job(Enabled, true));
        assert!(syncs(None, Some(&pending)), "a new job");
        assert!(
            !syncs(Some(&pending), Some(&enabled)),
            "schedule-sync's own status write"
        );
        assert!(
            syncs(Some(&enabled), Some(&pending)),
            "an API update, even of other fields"
        );
        assert!(
            syncs(Some(&enabled), Some(&job(Enabled, false))),
            "a paused job, whatever its status"
        );
        let mut claim = record(None, Some(&pending));
        claim.change.keys =
            serde_json::from_value(json!({"pk": {"S": "T#acme"}, "sk": {"S": "CLAIM#job-1#x"}})).expect("keys");
        claim.change.new_image =
            serde_json::from_value(json!({"pk": {"S": "T#acme"}, "status": {"S": "RUNNING"}})).expect("image");
        assert!(job_change(&claim).expect("no error").is_none(), "a run's claim");
        let removed = job_change(&record(Some(&enabled), None))
            .expect("decodes")
            .expect("a change");
        assert_eq!((removed.id.as_str(), removed.job), ("job-1", None));
    }
}
