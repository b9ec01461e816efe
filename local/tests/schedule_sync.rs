//! schedule-sync against moto: jobs written through the API, the jobs table's
//! stream read as Lambda reads it, schedules checked in Scheduler, and the
//! status written back without a loop. AWS calls are counted on the wire.

mod common;

use aws_sdk_scheduler::types::ScheduleState;
use common::{ApiRequest, CountingProxy, TestStack, parts};
use local::stream_poller::StreamPoller;
use serde_json::{Value, json};
use shared::schedule_sync::{ScheduleSync, ScheduleSyncConfig, ScheduleTarget, schedule_name};
use shared::storage::schema::JOBS;
use shared::tenant::TenantId;

const TENANT: &str = "acme";
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:notification-job";

struct Harness {
    stack: TestStack,
    scheduler: aws_sdk_scheduler::Client,
    stream: StreamPoller,
    sync: ScheduleSync,
    proxy: CountingProxy,
}

impl Harness {
    async fn new() -> Self {
        Self::in_group(None, true).await
    }

    /// schedule-sync writing into `group` (default: the stack's).
    /// `held_to_policy`: schedule-sync's calls are checked against its IAM policy
    /// (which grants the stack's group only).
    async fn in_group(group: Option<&str>, held_to_policy: bool) -> Self {
        let stack = TestStack::new().await;
        let sdk = shared::aws::sdk_config().await;
        let proxy = CountingProxy::in_front_of_moto().await;
        let counted = proxy.sdk_config().await;
        let target = ScheduleTarget {
            function_arn: FUNCTION_ARN.into(),
            role_arn: "arn:aws:iam::123456789012:role/scheduler-invokes-notification-job".into(),
            dead_letter_arn: "arn:aws:sqs:us-east-1:123456789012:scheduler-dead-letters".into(),
        };
        let sdk_for_sync = match held_to_policy {
            true => stack.stack.guarded("schedule-sync", &counted),
            false => counted,
        };
        let config = ScheduleSyncConfig {
            group: group.unwrap_or(&stack.stack.schedule_group).to_owned(),
            target,
            ..stack.stack.config("schedule-sync")
        };
        let sync = ScheduleSync::new(&sdk_for_sync, config);
        let stream = StreamPoller::from_now(&sdk, stack.stack.tables.of(&JOBS))
            .await
            .expect("jobs stream");
        Self {
            scheduler: aws_sdk_scheduler::Client::new(&sdk),
            stream,
            sync,
            proxy,
            stack,
        }
    }

    /// Hands the stream's new records to schedule-sync; returns its batch item failures.
    async fn sync(&mut self) -> Vec<String> {
        let records = self.stream.poll().await.expect("stream records");
        self.sync.stream_batch(&records).await
    }

    async fn create(&self, body: &Value) -> Value {
        let request = ApiRequest::new("POST", "/api/v1/jobs")
            .for_tenant(TENANT)
            .json(body)
            .build();
        let (status, job) = parts(self.stack.call("create-job", request).await);
        assert_eq!(status, 201, "{job}");
        job
    }

    async fn update(&self, id: &str, body: &Value) {
        let request = self.with_id("PUT", id).json(body).build();
        let (status, job) = parts(self.stack.call("update-job", request).await);
        assert_eq!(status, 200, "{job}");
    }

    async fn delete(&self, id: &str) {
        let request = self.with_id("DELETE", id).build();
        assert_eq!(parts(self.stack.call("delete-job", request).await).0, 204);
    }

    async fn job(&self, id: &str) -> Value {
        parts(self.stack.call("get-job", self.with_id("GET", id).build()).await).1
    }

    fn with_id(&self, method: &str, id: &str) -> ApiRequest {
        ApiRequest::new(method, &format!("/api/v1/jobs/{id}"))
            .for_tenant(TENANT)
            .path_param("jobId", id)
    }

    async fn schedule(&self, id: &str) -> Option<aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput> {
        let name = schedule_name(&TenantId::parse(TENANT).expect("tenant"), id);
        self.scheduler
            .get_schedule()
            .name(name)
            .group_name(&self.stack.stack.schedule_group)
            .send()
            .await
            .ok()
    }
}

fn job(id: &str) -> Value {
    json!({
        "id": id, "notification": "BACK_IN_STOCK", "template_id": "d-8f2a6c1e4b7d4c0f9e3a2b1c0d9e8f7a",
        "number_of_items_in_email": 3, "job_parameters": {"campaign_id": "winter-restock"},
        "schedule": "0 9 * * 1-5", "scheduleTimezone": "Europe/Berlin",
        "is_active": true, "is_scheduled": true, "deleted": false
    })
}

#[tokio::test]
async fn a_new_job_gets_an_enabled_schedule_and_the_write_back_does_not_loop() {
    let mut h = Harness::new().await;
    // WHEN a job is created and the stream synced
    h.create(&job("restock")).await;
    assert!(h.sync().await.is_empty());

    // THEN Scheduler holds it, enabled, in the job's time zone, invoking notification-job
    let schedule = h.schedule("restock").await.expect("schedule exists");
    assert_eq!(schedule.state(), Some(&ScheduleState::Enabled));
    assert_eq!(schedule.schedule_expression(), Some("cron(0 9 ? * MON-FRI *)"));
    assert_eq!(schedule.schedule_expression_timezone(), Some("Europe/Berlin"));
    let target = schedule.target().expect("target");
    assert_eq!(target.arn(), FUNCTION_ARN);
    let input: Value = serde_json::from_str(target.input().expect("input")).expect("JSON input");
    assert_eq!(
        input,
        json!({"tenant": "acme", "jobId": "restock", "scheduledTime": "<aws.scheduler.scheduled-time>",
               "executionId": "<aws.scheduler.execution-id>"})
    );
    assert!(target.dead_letter_config().is_some() && target.retry_policy().is_some());
    // … and the job shows it
    assert_eq!(h.job("restock").await["schedule_status"], "ENABLED");

    // WHEN the stream brings schedule-sync's own write-back
    let write_back = h.stream.poll().await.expect("stream records");
    assert_eq!(write_back.len(), 1, "the status write is a MODIFY record");
    h.proxy.calls.take();
    assert!(h.sync.stream_batch(&write_back).await.is_empty());
    // THEN nothing is written, to Scheduler or the table
    assert_eq!(h.proxy.calls.take(), Vec::<String>::new());
}

#[tokio::test]
async fn pausing_rescheduling_and_deleting_follow_the_job() {
    let mut h = Harness::new().await;
    h.create(&job("weekly")).await;
    h.sync().await;

    // Paused: the schedule stays, disabled
    let mut paused = job("weekly");
    paused["is_active"] = json!(false);
    h.update("weekly", &paused).await;
    assert_eq!(h.job("weekly").await["schedule_status"], "PENDING");
    assert!(h.sync().await.is_empty());
    let schedule = h.schedule("weekly").await.expect("schedule");
    assert_eq!(schedule.state(), Some(&ScheduleState::Disabled));
    assert_eq!(h.job("weekly").await["schedule_status"], "DISABLED");

    // Rescheduled and resumed: new expression, enabled again
    let mut rescheduled = job("weekly");
    rescheduled["schedule"] = json!("cron(30 18 ? * SUN *)");
    h.update("weekly", &rescheduled).await;
    assert!(h.sync().await.is_empty());
    let schedule = h.schedule("weekly").await.expect("schedule");
    assert_eq!(schedule.schedule_expression(), Some("cron(30 18 ? * SUN *)"));
    assert_eq!(schedule.state(), Some(&ScheduleState::Enabled));

    // Deleted: the schedule is gone, the (soft-deleted) job says so
    h.delete("weekly").await;
    assert!(h.sync().await.is_empty());
    assert!(h.schedule("weekly").await.is_none());
    assert_eq!(h.job("weekly").await["schedule_status"], "DELETED");
}

#[tokio::test]
async fn an_unavailable_scheduler_fails_the_record_for_a_retry() {
    // GIVEN schedule-sync pointed at a group Scheduler does not have (moto answers
    // 500; unchecked, or IAM would refuse a group the policy does not grant first)
    let mut h = Harness::in_group(Some("no-such-group"), false).await;
    h.create(&job("stuck")).await;
    // WHEN the stream is synced
    let failed = h.sync().await;
    // THEN the record is reported for a retry and the job stays PENDING
    assert_eq!(failed.len(), 1);
    assert_eq!(h.job("stuck").await["schedule_status"], "PENDING");
}

#[tokio::test]
async fn a_change_the_stack_may_not_make_fails_the_job_and_parks_the_record_with_the_reason() {
    // GIVEN schedule-sync writing into a group its policy does not grant
    let mut h = Harness::in_group(Some("not-granted"), true).await;
    h.create(&job("denied")).await;
    // WHEN the stream is synced
    let failed = h.sync().await;
    // THEN no retry is asked for (none could help): the job says FAILED without the
    // stack's details, and the operator finds the record and the reason parked
    assert!(failed.is_empty(), "{failed:?}");
    let job = h.job("denied").await;
    assert_eq!(job["schedule_status"], "FAILED");
    let shown = job["schedule_error"].as_str().expect("error");
    assert!(!shown.contains("arn:"), "{shown}");
    let refused = h.stack.calls.take_refused();
    assert!(
        !refused.is_empty() && refused.iter().all(|r| r.contains("scheduler:")),
        "{refused:?}"
    );
    let sqs = aws_sdk_sqs::Client::new(&shared::aws::sdk_config().await);
    let parked = common::drain(&sqs, &h.stack.stack.schedule_sync_failure_queue_url).await;
    assert_eq!(parked.len(), 1);
    let parked: Value = serde_json::from_str(parked[0].body().expect("body")).expect("JSON");
    assert_eq!(
        (parked["function"].as_str(), parked["eventId"].as_str()),
        (Some("schedule-sync"), Some("denied"))
    );
    assert!(
        parked["reason"].as_str().is_some_and(|r| r.contains("AccessDenied")),
        "{parked}"
    );
}
