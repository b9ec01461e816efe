//! What Scheduler should hold for a job, and the status that records it.

use crate::jobs::{Job, ScheduleStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Desired {
    /// No schedule: the job is deleted or has no expression.
    Absent,
    /// A schedule firing `expression` in `timezone`, enabled iff the job should run
    /// (a paused job keeps its schedule, disabled).
    Present {
        expression: String,
        timezone: String,
        enabled: bool,
    },
}

impl Desired {
    pub fn of(job: &Job) -> Self {
        match &job.schedule_expression {
            Some(expression) if !job.deleted => Self::Present {
                expression: expression.clone(),
                timezone: job.schedule_timezone.clone().unwrap_or_else(|| "UTC".to_owned()),
                enabled: job.should_run(),
            },
            _ => Self::Absent,
        }
    }

    /// The job's status once Scheduler holds this.
    pub fn status(&self, job: &Job) -> ScheduleStatus {
        match self {
            Self::Present { enabled: true, .. } => ScheduleStatus::Enabled,
            Self::Present { enabled: false, .. } => ScheduleStatus::Disabled,
            Self::Absent if job.deleted => ScheduleStatus::Deleted,
            Self::Absent => ScheduleStatus::Disabled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enabled_only_when_active_scheduled_and_not_deleted() {
        let job: Job = serde_json::from_value(serde_json::json!({
            "id": "j", "notification": "PRICE_DROP", "template_id": "d-1", "number_of_items_in_email": -1,
            "job_parameters": {}, "schedule": "rate(1 hour)", "scheduleExpression": "rate(1 hour)",
            "scheduleTimezone": null, "is_active": true, "is_scheduled": true, "deleted": false,
            "schedule_status": "PENDING", "schedule_error": null, "next_run_at": null, "last_run_at": null,
            "created_at": "2026-11-26T00:00:00.000Z", "updated_at": "2026-11-26T00:00:00.000Z"
        }))
        .expect("job");
        let enabled = Desired::of(&job);
        assert_eq!(
            enabled,
            Desired::Present {
                expression: "rate(1 hour)".into(),
                timezone: "UTC".into(),
                enabled: true
            }
        );
        assert_eq!(enabled.status(&job), ScheduleStatus::Enabled);
        for paused in [
            Job {
                is_active: false,
                ..job.clone()
            },
            Job {
                is_scheduled: false,
                ..job.clone()
            },
        ] {
            assert_eq!(Desired::of(&paused).status(&paused), ScheduleStatus::Disabled);
        }
        let deleted = Job {
            deleted: true,
            ..job.clone()
        };
        assert_eq!(Desired::of(&deleted), Desired::Absent);
        assert_eq!(Desired::of(&deleted).status(&deleted), ScheduleStatus::Deleted);
        let unscheduled = Job {
            schedule_expression: None,
            ..job
        };
        assert_eq!(Desired::of(&unscheduled).status(&unscheduled), ScheduleStatus::Disabled);
    }
}
