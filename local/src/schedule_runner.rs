//! EventBridge Scheduler's part in the local run: moto stores the schedules that
//! schedule-sync writes but never fires them, so this reads them back and
//! invokes notification-job when one is due, with the input Scheduler would send.

use std::time::Duration;

use aws_sdk_scheduler::Client;
use aws_sdk_scheduler::error::DisplayErrorContext;
use aws_sdk_scheduler::types::ScheduleState;
use chrono::{DateTime, Utc};
use shared::notifications::{Invocation, NotificationRunner};
use shared::schedule::next_fire;

/// How often schedules are looked at; they fire at most this late.
const TICK: Duration = Duration::from_secs(5);

pub struct ScheduleRunner {
    client: Client,
    group: String,
    runner: NotificationRunner,
}

impl ScheduleRunner {
    pub fn new(client: Client, group: impl Into<String>, runner: NotificationRunner) -> Self {
        Self {
            client,
            group: group.into(),
            runner,
        }
    }

    /// Fires, forever, every enabled schedule whose next time has come.
    pub async fn run(self) {
        let mut checked = Utc::now();
        loop {
            tokio::time::sleep(TICK).await;
            let now = Utc::now();
            if let Err(error) = self.fire_due(checked, now).await {
                tracing::warn!(%error, "could not read the schedules");
            }
            checked = now;
        }
    }

    /// Invokes notification-job for every enabled schedule due in (`after`, `until`].
    pub async fn fire_due(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> Result<usize, String> {
        let listed = self
            .client
            .list_schedules()
            .group_name(&self.group)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
        let mut fired = 0;
        for summary in listed.schedules() {
            let Some(name) = summary.name() else { continue };
            let schedule = self
                .client
                .get_schedule()
                .group_name(&self.group)
                .name(name)
                .send()
                .await
                .map_err(|e| DisplayErrorContext(e).to_string())?;
            if schedule.state() != Some(&ScheduleState::Enabled) {
                continue;
            }
            let due = schedule
                .schedule_expression()
                .and_then(|e| next_fire(e, schedule.schedule_expression_timezone(), after))
                .filter(|at| *at <= until);
            let (Some(at), Some(input)) = (due, schedule.target().and_then(|t| t.input())) else {
                continue;
            };
            match invocation(input, at) {
                Ok(invocation) => {
                    let outcome = self.runner.run(invocation).await;
                    tracing::info!(schedule = name, ?outcome, "fired");
                    fired += 1;
                }
                Err(error) => tracing::warn!(schedule = name, %error, "schedule input is not a job invocation"),
            }
        }
        Ok(fired)
    }
}

/// The target input with Scheduler's placeholders filled in for a firing at `at`.
pub fn invocation(input: &str, at: DateTime<Utc>) -> Result<Invocation, serde_json::Error> {
    let filled = input
        .replace("<aws.scheduler.scheduled-time>", &at.to_rfc3339())
        .replace("<aws.scheduler.execution-id>", &uuid::Uuid::now_v7().to_string());
    serde_json::from_str(&filled)
}
