//! notification-job against moto and a SendGrid stub: wishlist and stock events
//! POSTed through the API and projected from the stream, runs invoked as
//! Scheduler invokes them, e-mails checked as SendGrid receives them.

mod common;

use std::time::Duration;

use common::{ApiRequest, ProjectedStack, SendGridStub, TestStack, parts};
use futures_util::{StreamExt, stream};
use local::schedule_runner::ScheduleRunner;
use local::stream_poller::StreamPoller;
use serde_json::{Value, json};
use shared::notifications::{Invocation, NotificationRunner, Outcome, RunStatus, Runs};
use shared::projections::{ProductKey, ProductState, Projections, Shopper, Wishlist, WishlistItem};
use shared::sendgrid::{RetryPolicy, SendGrid};
use shared::storage::schema::JOBS;
use shared::tenant::TenantId;

const TENANT: &str = "acme";

struct Harness {
    projected: ProjectedStack,
    runner: NotificationRunner,
    sendgrid: SendGridStub,
}

impl Harness {
    async fn new() -> Self {
        let projected = ProjectedStack::new().await;
        let sendgrid = SendGridStub::start().await.expect("SendGrid stub");
        let retry = RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(10),
        };
        let client = SendGrid::new(&sendgrid.url, retry).expect("client");
        let mut runner = projected
            .stack
            .stack
            .notification_runner(client)
            .await
            .expect("notification-job");
        // Changes are written and runs made one after the other here: no write is
        // still on its way when a run reads, so its window may end at its start.
        runner.settle = chrono::TimeDelta::zero();
        Self {
            projected,
            runner,
            sendgrid,
        }
    }

    fn stack(&self) -> &TestStack {
        &self.projected.stack
    }

    async fn post(&mut self, entity: &str, operation: &str, payload: Value) {
        self.projected.post(TENANT, entity, operation, payload).await;
    }

    async fn project(&mut self) {
        self.projected.project().await;
    }

    async fn job(&self, notification: &str, items: i32) -> String {
        self.job_of(TENANT, notification, items).await
    }

    async fn job_of(&self, tenant: &str, notification: &str, items: i32) -> String {
        let body = json!({
            "notification": notification, "template_id": "d-restock", "number_of_items_in_email": items,
            "job_parameters": {"campaign_id": "winter", "low_stock_threshold": 3},
            "schedule": "0 9 * * *", "is_active": true, "is_scheduled": true, "deleted": false
        });
        let request = ApiRequest::new("POST", "/api/v1/jobs")
            .for_tenant(tenant)
            .json(&body)
            .build();
        let (status, job) = parts(self.stack().call("create-job", request).await);
        assert_eq!(status, 201, "{job}");
        job["id"].as_str().expect("id").to_owned()
    }

    async fn run(&self, job_id: &str, execution_id: &str) -> Outcome {
        self.run_of(TENANT, job_id, execution_id).await
    }

    async fn run_of(&self, tenant: &str, job_id: &str, execution_id: &str) -> Outcome {
        let invocation = Invocation {
            tenant: tenant.into(),
            job_id: job_id.into(),
            scheduled_time: None,
            execution_id: execution_id.into(),
        };
        self.runner.run(invocation).await.expect("run")
    }

    /// (recipient, product ids) of every personalization SendGrid received so far.
    fn sent(&self) -> Vec<(String, Vec<String>)> {
        let mut sent: Vec<(String, Vec<String>)> = self
            .sendgrid
            .received()
            .iter()
            .flat_map(|r| r.body["personalizations"].as_array().cloned().unwrap_or_default())
            .map(|p| {
                let to = p["to"][0]["email"].as_str().unwrap_or_default().to_owned();
                let items = p["dynamic_template_data"]["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|i| i["product_id"].as_str().unwrap_or_default().to_owned())
                    .collect();
                (to, items)
            })
            .collect();
        sent.sort();
        sent
    }
}

fn shopper(id: &str) -> Value {
    json!({"id": id, "email": format!("{id}@example.com"), "name": id})
}

fn item(product: &str) -> Value {
    json!({"product_id": product, "name": product, "url": format!("https://shop.example/p/{product}?size=42")})
}

/// Wishlists A = {P1, P2} and B = {P2}; P1 in stock, P2 out of stock.
async fn wishlists(h: &mut Harness) {
    h.post(
        "WISHLIST",
        "CREATE",
        json!({"shopper": shopper("a"), "items": [item("P1"), item("P2")]}),
    )
    .await;
    h.post(
        "WISHLIST",
        "CREATE",
        json!({"shopper": shopper("b"), "items": [item("P2")]}),
    )
    .await;
    h.post("INVENTORY_LEVEL", "UPDATE", json!({"product_id": "P1", "quantity": 9}))
        .await;
    h.post("INVENTORY_LEVEL", "UPDATE", json!({"product_id": "P2", "quantity": 0}))
        .await;
    h.project().await;
}

fn ran(outcome: Outcome) -> shared::notifications::Run {
    match outcome {
        Outcome::Ran(run) => run,
        other => panic!("expected a run, got {other:?}"),
    }
}

#[tokio::test]
async fn back_in_stock_mails_each_shopper_once_per_restock_and_once_per_execution() {
    let mut h = Harness::new().await;
    wishlists(&mut h).await;
    let job = h.job("BACK_IN_STOCK", 3).await;
    // a first run: nothing came back in stock yet
    assert_eq!(ran(h.run(&job, "exec-1").await).emails, 0);
    assert!(h.sent().is_empty());

    // WHEN P2 goes 0 → 5 after that run, and the job runs again
    h.post("INVENTORY_LEVEL", "UPDATE", json!({"product_id": "P2", "quantity": 5}))
        .await;
    h.project().await;
    h.stack().calls.take();
    let run = ran(h.run(&job, "exec-2").await);
    // (the wishlists in one batch read, not one read per shopper; the job read
    // twice: before the lease, and again under the job's lock)
    let calls = h.stack().calls.take();
    let count = |op: &str| calls.iter().filter(|c| *c == op).count();
    assert_eq!((count("BatchGetItem"), count("GetItem")), (1, 2), "{calls:?}");

    // THEN exactly A and B get an e-mail listing P2, with the job's template and tracked links
    assert_eq!(
        (run.status, run.shoppers, run.emails, run.items),
        (RunStatus::Succeeded, 2, 2, 2)
    );
    assert_eq!(
        h.sent(),
        [
            ("a@example.com".to_owned(), vec!["P2".to_owned()]),
            ("b@example.com".to_owned(), vec!["P2".to_owned()])
        ]
    );
    let request = &h.sendgrid.received()[0].body;
    assert_eq!(request["template_id"], "d-restock");
    assert_eq!(request["custom_args"]["run_id"], "exec-2");
    let link = request["personalizations"][0]["dynamic_template_data"]["items"][0]["url"]
        .as_str()
        .expect("url");
    assert_eq!(
        link,
        "https://shop.example/p/P2?size=42&utm_medium=email&utm_campaign=winter"
    );

    // … a run with no change since sends nothing, nor does the same execution again
    assert_eq!(ran(h.run(&job, "exec-3").await).emails, 0);
    assert_eq!(h.run(&job, "exec-2").await, Outcome::AlreadyRan);
    assert_eq!(h.sendgrid.received().len(), 1);
    // … and the job shows its last and next run
    let request = ApiRequest::new("GET", &format!("/api/v1/jobs/{job}"))
        .for_tenant(TENANT)
        .path_param("jobId", &job)
        .build();
    let (_, shown) = parts(h.stack().call("get-job", request).await);
    assert!(
        shown["last_run_at"].is_string() && shown["next_run_at"].is_string(),
        "{shown}"
    );

    // … and lists its runs, newest first, to its own tenant only
    let runs = |tenant: &str, limit: &str| {
        ApiRequest::new("GET", &format!("/api/v1/jobs/{job}/runs"))
            .for_tenant(tenant)
            .path_param("jobId", &job)
            .query("limit", limit)
            .build()
    };
    let (status, listed) = parts(h.stack().call("list-job-runs", runs(TENANT, "10")).await);
    assert_eq!(status, 200, "{listed}");
    let ids: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["run_id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["exec-3", "exec-2", "exec-1"]);
    assert_eq!(
        (listed[1]["emails"].as_u64(), listed[1]["status"].as_str()),
        (Some(2), Some("SUCCEEDED"))
    );
    assert_eq!(
        parts(h.stack().call("list-job-runs", runs("globex", "10")).await).0,
        404
    );
    assert_eq!(parts(h.stack().call("list-job-runs", runs(TENANT, "0")).await).0, 400);
}

#[tokio::test]
async fn reminders_price_drops_and_low_stock() {
    let mut h = Harness::new().await;
    wishlists(&mut h).await;
    h.post("PRICE", "UPDATE", json!({"product_id": "P1", "price": 50.0}))
        .await;
    h.post("WISHLIST_ITEM", "CREATE", json!({"shopper": shopper("c"), "item": {"product_id": "P1", "name": "P1", "url": "https://shop.example/p/P1", "purchased": true}})).await;
    h.post("WISHLIST", "CREATE", json!({"shopper": {"id": "d", "email": "d@example.com", "notifications_disabled": true}, "items": [item("P1")]})).await;
    h.project().await;
    let (reminder, all, drop, low) = (
        h.job("WISHLIST_REMINDER", 1).await,
        h.job("WISHLIST_REMINDER", -1).await,
        h.job("PRICE_DROP", -1).await,
        h.job("LOW_STOCK", -1).await,
    );
    for job in [&drop, &low] {
        ran(h.run(job, "baseline").await);
    }

    // Reminders: at most N items; -1 lists all; purchased items and opted-out shoppers never
    ran(h.run(&reminder, "r-1").await);
    assert_eq!(
        h.sent(),
        [
            ("a@example.com".to_owned(), vec!["P1".to_owned()]),
            ("b@example.com".to_owned(), vec!["P2".to_owned()])
        ]
    );
    ran(h.run(&all, "r-2").await);
    assert!(
        h.sent()
            .contains(&("a@example.com".to_owned(), vec!["P1".to_owned(), "P2".to_owned()]))
    );
    assert!(
        !h.sent()
            .iter()
            .any(|(to, _)| to == "c@example.com" || to == "d@example.com")
    );

    // A price drop and a fall to low stock after the baseline runs
    let before = h.sendgrid.received().len();
    h.post("PRICE", "UPDATE", json!({"product_id": "P1", "price": 35.0}))
        .await;
    h.post("INVENTORY_LEVEL", "UPDATE", json!({"product_id": "P1", "quantity": 2}))
        .await;
    h.project().await;
    assert_eq!(
        ran(h.run(&drop, "d-1").await).emails,
        1,
        "only A wishes for P1 (C bought it, D opted out)"
    );
    assert_eq!(ran(h.run(&low, "l-1").await).emails, 1);
    let mails = &h.sendgrid.received()[before..];
    for mail in mails {
        assert_eq!(mail.body["personalizations"][0]["to"][0]["email"], "a@example.com");
        assert_eq!(
            mail.body["personalizations"][0]["dynamic_template_data"]["items"][0]["product_id"],
            "P1"
        );
    }
}

#[tokio::test]
async fn a_rate_limit_is_retried_and_a_rejected_shopper_does_not_stop_the_others() {
    let mut h = Harness::new().await;
    wishlists(&mut h).await;
    let job = h.job("WISHLIST_REMINDER", -1).await;
    // 429 then 202: both shoppers sent, counted once
    h.sendgrid.answer_with(429, vec![("retry-after", "0".into())]);
    let run = ran(h.run(&job, "e-1").await);
    assert_eq!((run.status, run.emails, run.failures), (RunStatus::Succeeded, 2, 0));
    assert_eq!(h.sendgrid.received().len(), 2);

    // 400 for the request, then for one shopper's own: the other still gets it
    h.sendgrid.answer_with(400, Vec::new());
    h.sendgrid.answer_with(400, Vec::new());
    let run = ran(h.run(&job, "e-2").await);
    assert_eq!((run.status, run.emails, run.failures), (RunStatus::Partial, 1, 1));
    assert!(run.errors[0].contains("400"), "{:?}", run.errors);
}

#[tokio::test]
async fn inactive_deleted_and_unknown_jobs_do_nothing() {
    let h = Harness::new().await;
    assert!(matches!(h.run("no-such-job", "x").await, Outcome::Skipped(_)));
    // A malformed invocation cannot succeed on a retry: skipped, not an error.
    assert!(matches!(h.run(&"j".repeat(5000), "x").await, Outcome::Skipped(_)));
    let bad_tenant = Invocation {
        tenant: "no such tenant!".into(),
        job_id: "j".into(),
        scheduled_time: None,
        execution_id: "x".into(),
    };
    assert!(matches!(h.runner.run(bad_tenant).await, Ok(Outcome::Skipped(_))));
    let body = json!({
        "notification": "WISHLIST_REMINDER", "template_id": "d-1", "number_of_items_in_email": -1,
        "job_parameters": {}, "is_active": false, "is_scheduled": false, "deleted": false
    });
    let request = ApiRequest::new("POST", "/api/v1/jobs")
        .for_tenant(TENANT)
        .json(&body)
        .build();
    let (_, job) = parts(h.stack().call("create-job", request).await);
    let id = job["id"].as_str().expect("id");
    assert!(matches!(h.run(id, "x").await, Outcome::Skipped(_)));
    assert!(h.sendgrid.received().is_empty());
}

#[tokio::test]
async fn the_local_run_fires_a_due_schedule_with_schedulers_input() {
    // GIVEN a reminder job every 15 minutes (the shortest allowed), synced into a schedule
    let mut h = Harness::new().await;
    wishlists(&mut h).await;
    let sdk = shared::aws::sdk_config().await;
    let mut jobs_stream = StreamPoller::from_now(&sdk, h.stack().stack.tables.of(&JOBS))
        .await
        .expect("jobs stream");
    let body = json!({
        "notification": "WISHLIST_REMINDER", "template_id": "d-remind", "number_of_items_in_email": -1,
        "job_parameters": {}, "schedule": "*/15 * * * *", "is_active": true, "is_scheduled": true, "deleted": false
    });
    let request = ApiRequest::new("POST", "/api/v1/jobs")
        .for_tenant(TENANT)
        .json(&body)
        .build();
    let (_, job) = parts(h.stack().call("create-job", request).await);
    let records = jobs_stream.poll().await.expect("jobs records");
    assert!(h.stack().stack.schedule_sync().stream_batch(&records).await.is_empty());

    // WHEN its next time comes
    let sendgrid = SendGrid::new(&h.sendgrid.url, RetryPolicy::default()).expect("client");
    let schedules = ScheduleRunner::new(
        aws_sdk_scheduler::Client::new(&sdk),
        &h.stack().stack.schedule_group,
        h.stack()
            .stack
            .notification_runner(sendgrid)
            .await
            .expect("notification-job"),
    );
    let now = chrono::Utc::now();
    let fired = schedules
        .fire_due(now, now + chrono::Duration::seconds(15 * 60 + 1))
        .await
        .expect("schedules");

    // THEN notification-job ran once, as Scheduler would have invoked it
    assert_eq!(fired, 1);
    assert_eq!(h.sendgrid.received().len(), 1);
    let request = ApiRequest::new("GET", &format!("/api/v1/jobs/{}/runs", job["id"].as_str().expect("id")))
        .for_tenant(TENANT)
        .path_param("jobId", job["id"].as_str().expect("id"))
        .build();
    let (_, runs) = parts(h.stack().call("list-job-runs", request).await);
    assert_eq!(runs[0]["emails"], 2);
    assert!(
        runs[0]["scheduled_time"]
            .as_str()
            .is_some_and(|t| t.ends_with(":00.000Z")),
        "{runs}"
    );
}

#[tokio::test]
async fn the_sendgrid_key_is_read_from_secrets_manager_plain_or_as_json() {
    let secrets = aws_sdk_secretsmanager::Client::new(&shared::aws::sdk_config().await);
    let unique = uuid::Uuid::now_v7().simple().to_string();
    for (name, value) in [("plain", "SG.plain-key\n"), ("json", r#"{"api_key": "SG.json-key"}"#)] {
        let arn = secrets
            .create_secret()
            .name(format!("{name}-{unique}"))
            .secret_string(value)
            .send()
            .await
            .expect("secret")
            .arn
            .expect("arn");
        let key = shared::notifications::sendgrid_api_key(&secrets, &arn)
            .await
            .expect("key");
        assert_eq!(key, if name == "plain" { "SG.plain-key" } else { "SG.json-key" });
    }
    let missing = shared::notifications::sendgrid_api_key(&secrets, "no-such-secret").await;
    assert!(missing.is_err_and(|e| e.to_string().contains("SENDGRID_API_KEY_SECRET_ARN")));
}

#[tokio::test]
async fn a_restock_stamped_before_the_last_run_but_projected_after_it_is_still_mailed() {
    // GIVEN a run that saw P2 out of stock
    let mut h = Harness::new().await;
    wishlists(&mut h).await;
    let job = h.job("BACK_IN_STOCK", -1).await;
    let first = ran(h.run(&job, "exec-1").await);
    // WHEN a restock whose own time (the retailer's clock) is just before that run
    // reaches the projections only after it
    let stamped = (first.started_at - chrono::Duration::milliseconds(1)).to_rfc3339();
    h.post(
        "INVENTORY_LEVEL",
        "UPDATE",
        json!({"product_id": "P2", "quantity": 5, "occurred_at": stamped}),
    )
    .await;
    h.project().await;
    // THEN the next run still e-mails both shoppers
    assert_eq!(ran(h.run(&job, "exec-2").await).emails, 2);
}

/// A run of `job` as notification-job starts it, `seconds_ago`.
fn attempt(job: &str, execution: &str, seconds_ago: i64) -> shared::notifications::Run {
    let started = chrono::Utc::now() - chrono::Duration::seconds(seconds_ago);
    shared::notifications::Run::starting(execution.into(), job.into(), started, started)
}

#[tokio::test]
async fn a_retry_after_an_attempt_died_mid_run_carries_on_after_its_last_shopper() {
    use shared::notifications::{Lease, Progress, RunStore};
    // GIVEN wishlists of a and b, a reminder job, and leases that end at once
    let mut h = Harness::new().await;
    wishlists(&mut h).await;
    let job = h.job("WISHLIST_REMINDER", -1).await;
    let table = h.stack().stack.tables.of(&JOBS).to_owned();
    let runs = || RunStore::new(h.stack().client.clone(), &table).with_lease(Duration::ZERO);
    let tenant = shared::tenant::TenantId::parse(TENANT).expect("tenant");
    // … and an attempt of execution x-1 that leased the run, mailed a, and died
    let dead = attempt(&job, "x-1", 2);
    let dead_runs = runs();
    assert!(matches!(
        dead_runs.lease(&tenant, &dead).await.expect("lease"),
        Lease::Started(_)
    ));
    let reached_a = Progress {
        sent_through: Some("a".into()),
        emails: 1,
        items: 2,
        ..Progress::default()
    };
    dead_runs.progress(&tenant, &dead, &reached_a).await.expect("progress");

    // WHEN Lambda retries execution x-1
    h.runner.runs = runs();
    let run = ran(h.run(&job, "x-1").await);

    // THEN only b is mailed, the dead attempt's run is closed as FAILED with what
    // it did, and the job's last run is the execution's cut-off
    assert_eq!(h.sent(), [("b@example.com".to_owned(), vec!["P2".to_owned()])]);
    assert_eq!((run.status, run.shoppers, run.emails), (RunStatus::Succeeded, 1, 1));
    let request = ApiRequest::new("GET", &format!("/api/v1/jobs/{job}/runs"))
        .for_tenant(TENANT)
        .path_param("jobId", &job)
        .build();
    let (_, listed) = parts(h.stack().call("list-job-runs", request).await);
    let listed: Vec<(&str, u64)> = listed
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap_or_default(),
                r["emails"].as_u64().unwrap_or(99),
            )
        })
        .collect();
    assert_eq!(listed, [("SUCCEEDED", 1), ("FAILED", 1)]);
    let request = ApiRequest::new("GET", &format!("/api/v1/jobs/{job}"))
        .for_tenant(TENANT)
        .path_param("jobId", &job)
        .build();
    let (_, shown) = parts(h.stack().call("get-job", request).await);
    // (the execution's cut-off: its first start, here backdated before the job's
    // creation, so the creation)
    let created = shown["created_at"].as_str().expect("created_at");
    let cut_off = shared::util::rfc3339_millis::format(&dead.started_at).max(created.to_owned());
    assert_eq!(shown["last_run_at"].as_str(), Some(cut_off.as_str()));
    // … the runner kept its own progress on the lease
    let lease = h
        .stack()
        .client
        .get_item()
        .table_name(&table)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("T#{TENANT}")))
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("CLAIM#{job}#x-1")),
        )
        .send()
        .await
        .expect("lease")
        .item
        .expect("lease item");
    let progress: Progress = serde_dynamo::from_attribute_value(lease["progress"].clone()).expect("progress");
    assert_eq!((progress.sent_through.as_deref(), progress.emails), (Some("b"), 2));
    // … and the execution is done: a further retry sends nothing
    assert_eq!(h.run(&job, "x-1").await, Outcome::AlreadyRan);
}

#[tokio::test]
async fn an_attempt_within_a_live_lease_is_refused_for_lambda_to_retry_later() {
    // GIVEN an attempt of execution y-1 that holds its lease (the default length)
    let mut h = Harness::new().await;
    wishlists(&mut h).await;
    let job = h.job("WISHLIST_REMINDER", -1).await;
    let tenant = shared::tenant::TenantId::parse(TENANT).expect("tenant");
    let live = attempt(&job, "y-1", 1);
    h.runner.runs.lease(&tenant, &live).await.expect("lease");

    // WHEN the same execution arrives again, THEN it is an error and nothing is sent
    let invocation = Invocation {
        tenant: TENANT.into(),
        job_id: job.clone(),
        scheduled_time: None,
        execution_id: "y-1".into(),
    };
    let refused = h.runner.run(invocation).await;
    assert!(
        matches!(refused, Err(shared::notifications::RunError::Busy)),
        "{refused:?}"
    );
    assert!(h.sent().is_empty());
}

#[tokio::test]
async fn a_shopper_sendgrid_could_not_take_is_mailed_by_the_next_run() {
    // GIVEN a back-in-stock job that ran once, then P2 (on A's and B's wishlists)
    // restocked; B also wishes for P3, sold out
    let mut h = Harness::new().await;
    wishlists(&mut h).await;
    h.post(
        "WISHLIST",
        "UPDATE",
        json!({"shopper": shopper("b"), "items": [item("P2"), item("P3")]}),
    )
    .await;
    h.post("INVENTORY_LEVEL", "UPDATE", json!({"product_id": "P3", "quantity": 0}))
        .await;
    h.project().await;
    let job = h.job("BACK_IN_STOCK", -1).await;
    ran(h.run(&job, "first").await);
    h.post("INVENTORY_LEVEL", "UPDATE", json!({"product_id": "P2", "quantity": 5}))
        .await;
    h.project().await;

    // WHEN the run's request is refused as a whole (400), A's own goes through,
    // and SendGrid stays unavailable for B's (5xx on every attempt)
    h.sendgrid.answer_with(400, Vec::new());
    h.sendgrid.answer_with(202, Vec::new());
    for _ in 0..3 {
        h.sendgrid.answer_with(503, Vec::new());
    }
    let partial = ran(h.run(&job, "second").await);
    assert_eq!(
        (partial.status, partial.emails, partial.failures),
        (RunStatus::Partial, 1, 1)
    );
    let carried = shown(&h, &job).await;
    assert_eq!(carried["retry_shoppers"][0]["shoppers"], json!(["b"]));

    // … a run that reaches nobody (SendGrid still down) keeps B, and the comparison time
    for _ in 0..3 {
        h.sendgrid.answer_with(503, Vec::new());
    }
    assert_eq!(ran(h.run(&job, "third").await).status, RunStatus::Failed);
    let kept = shown(&h, &job).await;
    assert_eq!(
        (&kept["retry_shoppers"], &kept["last_run_at"]),
        (&carried["retry_shoppers"], &carried["last_run_at"])
    );

    // THEN once P3 is restocked too (news for B as a candidate as well), the next run
    // mails B once, with the restock it missed and the new one, and A nothing
    h.post("INVENTORY_LEVEL", "UPDATE", json!({"product_id": "P3", "quantity": 4}))
        .await;
    h.project().await;
    let before = h.sendgrid.received().len();
    let next = ran(h.run(&job, "fourth").await);
    assert_eq!((next.status, next.emails), (RunStatus::Succeeded, 1));
    assert_eq!(h.sendgrid.received().len(), before + 1);
    let mut sent = h.sent();
    sent.retain(|(to, _)| to == "b@example.com");
    assert_eq!(
        sent.last(),
        Some(&("b@example.com".to_owned(), vec!["P2".to_owned(), "P3".to_owned()]))
    );
    let request = &h.sendgrid.received()[before].body;
    assert_eq!(request["personalizations"].as_array().map(Vec::len), Some(1));
    // … and nobody is carried any more
    assert_eq!(shown(&h, &job).await.get("retry_shoppers"), None);
    assert_eq!(ran(h.run(&job, "fifth").await).emails, 0);
}

/// The job as GET /api/v1/jobs/{jobId} shows it.
async fn shown(h: &Harness, job: &str) -> Value {
    let request = ApiRequest::new("GET", &format!("/api/v1/jobs/{job}"))
        .for_tenant(TENANT)
        .path_param("jobId", job)
        .build();
    parts(h.stack().call("get-job", request).await).1
}

#[tokio::test]
async fn two_overlapping_executions_of_one_job_mail_each_shopper_once() {
    // GIVEN a reminder job for wishlists a and b
    let mut h = Harness::new().await;
    wishlists(&mut h).await;
    let job = h.job("WISHLIST_REMINDER", -1).await;
    let invocation = |execution: &str| Invocation {
        tenant: TENANT.into(),
        job_id: job.clone(),
        scheduled_time: None,
        execution_id: execution.into(),
    };
    // WHEN two executions of it run at the same time (a late one and the next)
    let (first, second) = tokio::join!(h.runner.run(invocation("exec-a")), h.runner.run(invocation("exec-b")));
    // THEN one ran and the other found the job busy (Lambda retries it later)
    let outcomes = [&first, &second];
    assert_eq!(
        outcomes.iter().filter(|o| matches!(o, Ok(Outcome::Ran(_)))).count(),
        1,
        "{first:?} {second:?}"
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Err(shared::notifications::RunError::Busy)))
            .count(),
        1,
        "{first:?} {second:?}"
    );
    // AND each shopper got one e-mail
    let recipients: Vec<String> = h.sent().into_iter().map(|(to, _)| to).collect();
    assert_eq!(recipients, ["a@example.com", "b@example.com"]);
}

#[tokio::test]
async fn a_put_racing_a_run_loses_neither_sides_fields() {
    // GIVEN a job read by a client (version 1), then run
    let mut h = Harness::new().await;
    wishlists(&mut h).await;
    let job = h.job("WISHLIST_REMINDER", -1).await;
    let read = |id: &str| {
        ApiRequest::new("GET", &format!("/api/v1/jobs/{id}"))
            .for_tenant(TENANT)
            .path_param("jobId", id)
            .build()
    };
    let (_, before) = parts(h.stack().call("get-job", read(&job)).await);
    assert_eq!(before["version"], 1);
    let run = ran(h.run(&job, "exec-1").await);
    // WHEN the client PUTs what it read, with its version
    let mut change = before.clone();
    change["template_id"] = json!("d-new");
    let put = |body: &Value| {
        ApiRequest::new("PUT", &format!("/api/v1/jobs/{job}"))
            .for_tenant(TENANT)
            .path_param("jobId", &job)
            .json(body)
            .build()
    };
    let (status, problem) = parts(h.stack().call("update-job", put(&change)).await);
    // THEN it is refused: the run moved the job on, and the client must read again
    assert_eq!(status, 409, "{problem}");
    // WHEN it reads again and PUTs its change
    let (_, current) = parts(h.stack().call("get-job", read(&job)).await);
    let mut change = current.clone();
    change["template_id"] = json!("d-new");
    let (status, updated) = parts(h.stack().call("update-job", put(&change)).await);
    // THEN both the client's change and the run's fields are kept
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["template_id"], "d-new");
    assert_eq!(updated["last_run_at"], current["last_run_at"]);
    assert!(
        updated["last_run_at"]
            .as_str()
            .is_some_and(|t| t.starts_with(&run.started_at.format("%Y-%m-%dT%H:%M").to_string()))
    );
}

/// The sender `PUT /api/v1/settings/sendgrid` sets for `tenant`.
fn sendgrid_settings(tenant: &str) -> Value {
    json!({"api_key": format!("SG.{tenant}-key"), "from_email": format!("news@{tenant}.example"), "from_name": tenant})
}

async fn settings_call(h: &Harness, method: &str, tenant: &str, body: Option<Value>) -> (u16, Value) {
    let function = format!("{}-sendgrid-settings", method.to_lowercase());
    let mut request = ApiRequest::new(method, "/api/v1/settings/sendgrid").for_tenant(tenant);
    if let Some(body) = body {
        request = request.json(&body);
    }
    parts(h.stack().call(&function, request.build()).await)
}

#[tokio::test]
async fn a_tenants_jobs_send_with_its_own_key_and_never_with_anothers() {
    // GIVEN the operator lets only initech send with the stack's key
    let mut h = Harness::new().await;
    let stack = h
        .stack()
        .stack
        .clone()
        .with_parameter("StackSenderTenants", "initech")
        .expect("stack");
    let client = SendGrid::new(&h.sendgrid.url, RetryPolicy::default()).expect("client");
    h.runner = stack.notification_runner(client).await.expect("notification-job");
    // AND acme and globex set keys of their own (never answered back)
    for tenant in ["acme", "globex"] {
        let (status, set) = settings_call(&h, "PUT", tenant, Some(sendgrid_settings(tenant))).await;
        assert_eq!((status, &set["api_key"]), (200, &json!("****")), "{set}");
        let (status, read) = settings_call(&h, "GET", tenant, None).await;
        assert_eq!(status, 200);
        assert!(!read.to_string().contains("-key"), "{read}");
        assert_eq!(read["from_email"], format!("news@{tenant}.example"));
    }
    // AND each tenant has a shopper with a wishlist, and a reminder job
    let tenants = ["acme", "globex", "initech", "hooli"];
    for tenant in tenants {
        let wishlist = json!({"shopper": shopper(&format!("{tenant}-shopper")), "items": [item("P1")]});
        h.projected.post(tenant, "WISHLIST", "CREATE", wishlist).await;
    }
    h.project().await;
    let mut runs = Vec::new();
    for tenant in tenants {
        let job = h.job_of(tenant, "WISHLIST_REMINDER", -1).await;
        // WHEN each job runs
        runs.push(ran(h.run_of(tenant, &job, &format!("exec-{tenant}")).await));
    }
    // THEN each request carries its own tenant's key and sender; initech's the stack's
    let mut sent: Vec<(String, String, String)> = h
        .sendgrid
        .received()
        .iter()
        .map(|r| {
            let to = r.body["personalizations"][0]["to"][0]["email"]
                .as_str()
                .unwrap_or_default();
            let from = r.body["from"]["email"].as_str().unwrap_or_default();
            (to.to_owned(), r.authorization.clone(), from.to_owned())
        })
        .collect();
    sent.sort();
    let expected =
        |to: &str, key: &str, from: &str| (format!("{to}@example.com"), format!("Bearer {key}"), from.to_owned());
    assert_eq!(
        sent,
        [
            expected("acme-shopper", "SG.acme-key", "news@acme.example"),
            expected("globex-shopper", "SG.globex-key", "news@globex.example"),
            expected("initech-shopper", "SG.local", "notifications@shop.example"),
        ]
    );
    // AND hooli, with no key and no grant, sends nothing and is told how to set one
    assert_eq!(runs[3].status, RunStatus::Failed);
    assert!(
        runs[3].errors[0].contains("PUT /api/v1/settings/sendgrid"),
        "{:?}",
        runs[3].errors
    );

    // WHEN acme takes its key back
    assert_eq!(settings_call(&h, "DELETE", "acme", None).await.0, 204);
    assert_eq!(settings_call(&h, "GET", "acme", None).await.0, 404);
    assert_eq!(settings_call(&h, "DELETE", "acme", None).await.0, 204, "idempotent");
    // THEN its next run sends nothing (not even with the stack's key), while
    // globex's key is untouched
    let job = h.job_of("acme", "WISHLIST_REMINDER", -1).await;
    assert_eq!(
        ran(h.run_of("acme", &job, "exec-acme-2").await).status,
        RunStatus::Failed
    );
    assert_eq!(h.sendgrid.received().len(), 3);
    assert_eq!(settings_call(&h, "GET", "globex", None).await.0, 200);
    // AND a key can be set again at once
    assert_eq!(
        settings_call(&h, "PUT", "acme", Some(sendgrid_settings("acme")))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn more_carried_shoppers_than_a_job_item_holds_are_all_mailed_by_the_next_run() {
    // GIVEN 2,001 shoppers wishing for P9, out of stock when the job is created
    // (written straight into the projections: the projector is not under test)
    let h = Harness::new().await;
    let store = h.projected.store();
    let acme = TenantId::parse(TENANT).expect("tenant");
    let shoppers: Vec<String> = (0..2001).map(|i| format!("w{i:04}")).collect();
    let p9 = ProductKey::new("P9", None);
    stock(&store, &acme, &p9, 0).await;
    stream::iter(&shoppers)
        .for_each_concurrent(16, |id| wish(&store, &acme, id, "P9"))
        .await;
    let job = h.job("BACK_IN_STOCK", -1).await;
    // AND P9 back in stock, and SendGrid unable to take the first and the third
    // request (1,000 and 1 shoppers; three tries each)
    stock(&store, &acme, &p9, 5).await;
    const SCRIPT: [u16; 7] = [503, 503, 503, 202, 503, 503, 503];
    for status in SCRIPT {
        h.sendgrid.answer_with(status, Vec::new());
    }
    // WHEN the job runs
    let first = ran(h.run(&job, "exec-1").await);
    // THEN 1,001 shoppers are carried: 1,000 on the job, one in an item of its own
    assert_eq!(
        (first.status, first.emails, first.failures),
        (RunStatus::Partial, 1000, 1001)
    );
    let carried = shown(&h, &job).await;
    let on_job: usize = carried["retry_shoppers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| g["shoppers"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(on_job, 1000);
    assert_eq!(
        carried["retry_overflow"]["shoppers"], 1,
        "{}",
        carried["retry_overflow"]
    );
    // WHEN SendGrid is back and the next run finds no new change
    let second = ran(h.run(&job, "exec-2").await);
    // THEN every shopper has had exactly one e-mail, and nothing is carried any more
    assert_eq!((second.status, second.emails), (RunStatus::Succeeded, 1001));
    // The stub answered its script in order, then 202 to everything.
    let answered = SCRIPT.into_iter().chain(std::iter::repeat(202));
    let mut accepted: Vec<String> = h
        .sendgrid
        .received()
        .iter()
        .zip(answered)
        .filter(|(_, status)| *status == 202)
        .flat_map(|(request, _)| request.body["personalizations"].as_array().cloned().unwrap_or_default())
        .map(|p| {
            p["to"][0]["email"]
                .as_str()
                .unwrap_or_default()
                .replace("@example.com", "")
        })
        .collect();
    accepted.sort();
    assert_eq!(accepted, shoppers);
    let settled = shown(&h, &job).await;
    assert_eq!(
        (settled.get("retry_shoppers"), settled.get("retry_overflow")),
        (None, None)
    );
    // AND notification-job did nothing its policy does not allow
    assert_eq!(h.stack().calls.refused(), Vec::<String>::new());
}

async fn wish(store: &impl Projections, tenant: &TenantId, shopper_id: &str, product: &str) {
    let person: Shopper = serde_json::from_value(shopper(shopper_id)).expect("shopper");
    let wished: WishlistItem = serde_json::from_value(item(product)).expect("item");
    let at = chrono::Utc::now();
    store
        .update_wishlist(tenant, shopper_id, |stored| {
            let mut wishlist = stored.unwrap_or_else(|| Wishlist::new(at, person.clone()));
            wishlist.set_item(at, person.clone(), product.into(), Some(wished.clone()));
            Some(wishlist)
        })
        .await
        .expect("wishlist");
}

async fn stock(store: &impl Projections, tenant: &TenantId, product: &ProductKey, quantity: i64) {
    let now = chrono::Utc::now();
    store
        .update_product(tenant, product, |stored| {
            let mut state = stored.unwrap_or_else(|| ProductState::new(product.clone()));
            state.apply(now, now, None, Some(quantity), None).then_some(state)
        })
        .await
        .expect("product");
}
