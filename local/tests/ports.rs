//! One contract per port, run against both implementations: the in-memory one
//! the unit tests use, and the adapter the deployed functions use (DynamoDB,
//! SQS, Scheduler and SendGrid, here moto and a local stub). A difference
//! between the two would make the unit tests prove the wrong thing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::dynamodb::EventRecord;
use chrono::Utc;
use common::{SendGridStub, TestStack};
use serde_json::json;
use shared::jobs::{Job, RetryOverflow, RetryShoppers, ScheduleStatus};
use shared::loyalty::{Applied, Change, CustomerState, DynamoLedger, InMemoryLedger, Ledger, Outcome, Spend};
use shared::notifications::{InMemoryRuns, JobUpdate, Lease, Progress, Ran, Run, RunStatus, RunStore, Runs};
use shared::projections::{
    InMemoryProjections, MAX_PROJECTION_BYTES, ProductKey, ProductState, ProjectionStore, Projections, Shopper,
    Wishlist, WishlistItem,
};
use shared::rules::Fulfilled;
use shared::schedule_sync::{InMemoryScheduler, ScheduleSpec, ScheduleStatuses, Scheduler, Schedules};
use shared::senders::{InMemorySenders, SecretsManagerSenders, SenderStore};
use shared::sendgrid::{Address, ApiKey, Mail, Mailer, Outbox, Personalization, RetryPolicy, SendGrid, Sender};
use shared::storage::schema::{JOB_RECORDS, JOBS, LOYALTY, PROJECTIONS};
use shared::storage::{Counted, DynamoRecords, ErrorKind, InMemoryRecords, RecordError, Records};
use shared::stream_failures::{FailureQueue, ParkedInMemory, Parking};
use shared::tenant::TenantId;
use shared::util::rfc3339_millis;

fn tenant(name: &str) -> TenantId {
    TenantId::parse(name).expect("tenant")
}

fn shopper(id: &str) -> Shopper {
    serde_json::from_value(json!({"id": id, "email": format!("{id}@example.com")})).expect("shopper")
}

fn item(product: &str) -> WishlistItem {
    serde_json::from_value(json!({"product_id": product, "name": product, "url": "https://shop.example/p"}))
        .expect("item")
}

/// Sets (or, with `None`, removes) `product` on `shopper`'s wishlist.
async fn wish(store: &impl Projections, tenant: &TenantId, shopper_id: &str, product: &str, wished: bool) {
    let at = Utc::now();
    store
        .update_wishlist(tenant, shopper_id, |stored| {
            let mut wishlist = stored.unwrap_or_else(|| Wishlist::new(at, shopper(shopper_id)));
            let changed = wishlist.set_item(at, shopper(shopper_id), product.into(), wished.then(|| item(product)));
            changed.then_some(wishlist)
        })
        .await
        .expect("wishlist");
}

async fn stock(store: &impl Projections, tenant: &TenantId, product: &ProductKey, quantity: i64) {
    store
        .update_product(tenant, product, |stored| {
            let mut state = stored.unwrap_or_else(|| ProductState::new(product.clone()));
            state
                .apply(Utc::now(), Utc::now(), None, Some(quantity), None)
                .then_some(state)
        })
        .await
        .expect("product");
}

/// What every projections store must do.
async fn projections_contract(store: &impl Projections) {
    let (acme, other) = (tenant("acme"), tenant("other"));
    let (p1, p2) = (ProductKey::new("P1", None), ProductKey::new("P2", None));
    // Wishlists, and who wishes for what, in shopper id order, per tenant.
    wish(store, &acme, "B", "P1", true).await;
    wish(store, &acme, "A", "P1", true).await;
    wish(store, &acme, "A", "P2", true).await;
    wish(store, &other, "Z", "P1", true).await;
    assert_eq!(store.shoppers_wishing(&acme, &p1).await.expect("read"), ["A", "B"]);
    wish(store, &acme, "A", "P1", false).await;
    assert_eq!(store.shoppers_wishing(&acme, &p1).await.expect("read"), ["B"]);
    assert_eq!(store.shoppers_wishing(&acme, &p2).await.expect("read"), ["A"]);
    let a = store.wishlist(&acme, "A").await.expect("read").expect("A");
    assert_eq!(a.present().count(), 1);
    assert!(store.wishlist(&other, "A").await.expect("read").is_none());
    let ids = |wishlists: Vec<Wishlist>| -> Vec<String> { wishlists.into_iter().map(|w| w.shopper.value.id).collect() };
    let asked = ["B".to_owned(), "nobody".to_owned(), "A".to_owned()];
    let mut found = ids(store.wishlists(&acme, &asked).await.expect("read"));
    found.sort();
    assert_eq!(found, ["A", "B"]);
    assert_eq!(ids(store.all_wishlists(&acme).await.expect("read")), ["A", "B"]);
    // An apply that changes nothing writes nothing.
    store.update_wishlist(&acme, "C", |_| None).await.expect("no change");
    assert!(store.wishlist(&acme, "C").await.expect("read").is_none());
    // Product states, and which were written after a time.
    stock(store, &acme, &p1, 3).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let between = Utc::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    stock(store, &acme, &p2, 0).await;
    let changed = store.products_changed_since(&acme, between).await.expect("read");
    let changed: Vec<&ProductKey> = changed.iter().map(|s| &s.product).collect();
    assert_eq!(changed, [&p2]);
    assert_eq!(
        store
            .product(&acme, &p1)
            .await
            .expect("read")
            .expect("P1")
            .stock
            .current(),
        Some(&3)
    );
    let states = store
        .products(&acme, &[p1.clone(), ProductKey::new("P9", None)])
        .await
        .expect("read");
    assert_eq!(states.len(), 1);
    assert!(store.product(&other, &p1).await.expect("read").is_none());
    // A value larger than a projection may be is refused for good.
    let huge = "x".repeat(MAX_PROJECTION_BYTES);
    let refused = store
        .update_wishlist(&acme, "D", |_| {
            let mut wishlist = Wishlist::new(Utc::now(), shopper("D"));
            wishlist.set_item(
                Utc::now(),
                shopper("D"),
                "P1".into(),
                Some(WishlistItem {
                    name: huge.clone(),
                    ..item("P1")
                }),
            );
            Some(wishlist)
        })
        .await
        .expect_err("too large");
    assert_eq!(refused.kind(), ErrorKind::Other);
}

#[tokio::test]
async fn projections_in_memory_keep_the_contract() {
    projections_contract(&InMemoryProjections::default()).await;
}

#[tokio::test]
async fn projections_in_dynamodb_keep_the_contract() {
    let stack = TestStack::new().await;
    projections_contract(&ProjectionStore::new(
        stack.client.clone(),
        stack.stack.tables.of(&PROJECTIONS),
    ))
    .await;
}

fn attempt(execution: &str, minutes_ago: i64) -> Run {
    let started = Utc::now() - chrono::Duration::minutes(minutes_ago);
    Run::starting(execution.into(), "job-1".into(), started, started)
}

fn job() -> Job {
    serde_json::from_value(json!({
        "id": "job-1", "notification": "BACK_IN_STOCK", "template_id": "d-1", "number_of_items_in_email": 3,
        "job_parameters": {}, "schedule": "rate(1 hour)", "scheduleExpression": "rate(1 hour)",
        "scheduleTimezone": null, "is_active": true, "is_scheduled": true, "deleted": false,
        "schedule_status": "PENDING", "schedule_error": null, "next_run_at": null, "last_run_at": null,
        "created_at": "2026-11-26T00:00:00.000Z", "updated_at": "2026-11-26T00:00:00.000Z"
    }))
    .expect("job")
}

/// What every runs store must do: `runs` with the usual lease, `expired` with
/// leases that are over at once, both over `jobs`.
async fn runs_contract(runs: &impl Runs, expired: &impl Runs, jobs: &impl Records<Job>) {
    let acme = tenant("acme");
    jobs.create(&acme, "job-1", job()).await.expect("job");
    // A first attempt leases its execution; another attempt must wait.
    let first = attempt("exec-1", 1);
    let Lease::Started(resumed) = runs.lease(&acme, &first).await.expect("lease") else {
        panic!("a new execution is leased");
    };
    assert_eq!(
        (resumed.first_started_at, resumed.progress),
        (first.started_at, Progress::default())
    );
    // Times are kept to the millisecond.
    let stored = rfc3339_millis::stored;
    assert_eq!(
        runs.lease(&acme, &attempt("exec-1", 0)).await.expect("lease"),
        Lease::Busy
    );
    // Only the holder keeps progress.
    let progress = Progress {
        sent_through: Some("A".into()),
        emails: 1,
        ..Progress::default()
    };
    runs.progress(&acme, &first, &progress)
        .await
        .expect("holder's progress");
    let stranger = runs.progress(&acme, &attempt("exec-1", 5), &progress).await;
    assert_eq!(stranger.expect_err("not the holder").kind(), ErrorKind::Conflict);
    // Finishing records the run and moves the job on; the execution is then done.
    let mut finished = first.clone();
    finished.status = RunStatus::Succeeded;
    let retry = vec![RetryShoppers {
        since: first.started_at,
        shoppers: vec!["B".into()],
    }];
    // More carried shoppers than the job holds are spilled into items of their own.
    let spilled = vec![RetryShoppers {
        since: first.started_at,
        shoppers: vec!["C".into(), "D".into()],
    }];
    runs.spill(&acme, &first, 0, &spilled).await.expect("spill");
    let overflow = RetryOverflow {
        run_id: first.run_id.clone(),
        chunks: 1,
        shoppers: 2,
    };
    let next = Utc::now() + chrono::Duration::hours(1);
    let update = JobUpdate {
        next_run_at: Some(next),
        ran: Some(Ran {
            at: first.started_at,
            retry: retry.clone(),
            overflow: Some(overflow.clone()),
        }),
    };
    assert!(
        runs.finish(&acme, &finished, &update).await.expect("finish"),
        "the job moved on"
    );
    let moved = jobs.get(&acme, "job-1").await.expect("read").expect("job");
    assert_eq!(
        moved.version, 2,
        "a run moves the version on: a PUT based on the job before it is refused"
    );
    assert_eq!(moved.value.last_run_at, Some(stored(first.started_at)));
    assert_eq!(moved.value.retry_shoppers[0].since, stored(first.started_at));
    assert_eq!(moved.value.retry_shoppers[0].shoppers, retry[0].shoppers);
    assert_eq!(moved.value.next_run_at, Some(stored(next)));
    assert_eq!(moved.value.retry_overflow.as_ref(), Some(&overflow));
    let read = runs.spilled(&acme, "job-1", &overflow).await.expect("spilled");
    assert_eq!(
        (read[0].since, &read[0].shoppers),
        (stored(first.started_at), &spilled[0].shoppers)
    );
    // Forgotten once taken over; an item gone reads as nothing (it expired).
    runs.forget_spilled(&acme, "job-1", &overflow).await.expect("forget");
    assert!(
        runs.spilled(&acme, "job-1", &overflow)
            .await
            .expect("spilled")
            .is_empty()
    );
    assert_eq!(
        runs.lease(&acme, &attempt("exec-1", 0)).await.expect("lease"),
        Lease::Finished
    );
    // A late attempt of an older execution is recorded, but never moves the job back.
    let older = attempt("exec-0", 30);
    runs.lease(&acme, &older).await.expect("lease");
    let stale = JobUpdate {
        next_run_at: None,
        ran: Some(Ran {
            at: older.started_at,
            retry: Vec::new(),
            overflow: None,
        }),
    };
    assert!(
        !runs.finish(&acme, &older, &stale).await.expect("finish"),
        "the job is left alone"
    );
    let kept = jobs.get(&acme, "job-1").await.expect("read").expect("job");
    assert_eq!(
        (kept.version, kept.value.last_run_at),
        (2, Some(stored(first.started_at)))
    );
    // One execution of a job at a time: another waits until the first finishes.
    let running = attempt("exec-5", 0);
    assert!(matches!(
        runs.lease(&acme, &running).await.expect("lease"),
        Lease::Started(_)
    ));
    let overlapping = attempt("exec-6", 0);
    assert_eq!(runs.lease(&acme, &overlapping).await.expect("lease"), Lease::Busy);
    let ran = JobUpdate {
        next_run_at: None,
        ran: None,
    };
    runs.finish(&acme, &running, &ran).await.expect("finish");
    assert!(matches!(
        runs.lease(&acme, &overlapping).await.expect("lease"),
        Lease::Started(_)
    ));
    runs.finish(&acme, &overlapping, &ran).await.expect("finish");
    // Runs, newest first.
    let second = attempt("exec-2", 0);
    runs.lease(&acme, &second).await.expect("lease");
    let latest = runs.latest(&acme, "job-1", 10).await.expect("runs");
    assert_eq!(
        latest.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(),
        ["exec-2", "exec-6", "exec-5", "exec-1", "exec-0"]
    );
    assert_eq!(latest[3].status, RunStatus::Succeeded);
    assert!(
        runs.latest(&tenant("other"), "job-1", 5)
            .await
            .expect("runs")
            .is_empty()
    );

    runs.finish(&acme, &second, &ran).await.expect("finish");

    // A dead attempt's lease is taken over with its progress; the dead one's run is closed.
    let dead = attempt("exec-3", 10);
    expired.lease(&acme, &dead).await.expect("lease");
    expired.progress(&acme, &dead, &progress).await.expect("progress");
    let retry_attempt = attempt("exec-3", 0);
    let Lease::Started(resumed) = expired.lease(&acme, &retry_attempt).await.expect("lease") else {
        panic!("a dead attempt's lease is taken over");
    };
    assert_eq!(
        (resumed.first_started_at, &resumed.progress),
        (stored(dead.started_at), &progress)
    );
    let late = expired.progress(&acme, &dead, &progress).await;
    assert_eq!(late.expect_err("taken over").kind(), ErrorKind::Conflict);
    let closed = expired.latest(&acme, "job-1", 10).await.expect("runs");
    let dead_run = closed
        .iter()
        .find(|r| r.run_id == "exec-3" && r.started_at == stored(dead.started_at))
        .expect("the dead attempt's run");
    assert_eq!((dead_run.status, dead_run.emails), (RunStatus::Failed, 1));
    // A job deleted meanwhile does not stop its run being recorded.
    let mut orphan = attempt("exec-4", 0);
    orphan.job_id = "gone".into();
    expired.lease(&acme, &orphan).await.expect("lease");
    expired
        .finish(&acme, &orphan, &update)
        .await
        .expect("finish without the job");
    assert_eq!(expired.latest(&acme, "gone", 1).await.expect("runs").len(), 1);
}

/// What every runs store must do with one run slot per tenant: a second job of
/// the tenant waits while the first runs, another tenant's job does not, and the
/// slot is the next run's once the first finishes.
async fn run_slots_contract(runs: &impl Runs, jobs: &impl Records<Job>) {
    let (acme, globex) = (tenant("acme"), tenant("globex"));
    let run_of = |job: &str, execution: &str| {
        let started = Utc::now();
        Run::starting(execution.into(), job.into(), started, started)
    };
    for (tenant, job_id) in [(&acme, "job-1"), (&acme, "job-2"), (&globex, "job-1")] {
        jobs.create(tenant, job_id, job()).await.expect("job");
    }
    let first = run_of("job-1", "exec-a1");
    assert!(matches!(
        runs.lease(&acme, &first).await.expect("lease"),
        Lease::Started(_)
    ));
    // GIVEN acme's one slot held WHEN its other job's run comes THEN it waits,
    assert_eq!(
        runs.lease(&acme, &run_of("job-2", "exec-a2")).await.expect("lease"),
        Lease::TenantBusy
    );
    // AND another tenant's run goes on,
    assert!(matches!(
        runs.lease(&globex, &run_of("job-1", "exec-g1")).await.expect("lease"),
        Lease::Started(_)
    ));
    // AND once acme's run finishes, its other job's run has the slot.
    let update = JobUpdate {
        next_run_at: None,
        ran: None,
    };
    runs.finish(&acme, &first, &update).await.expect("finish");
    assert!(matches!(
        runs.lease(&acme, &run_of("job-2", "exec-a3")).await.expect("lease"),
        Lease::Started(_)
    ));
}

#[tokio::test]
async fn run_slots_in_memory_keep_the_contract() {
    let jobs: Arc<InMemoryRecords<Job>> = Arc::default();
    run_slots_contract(&InMemoryRuns::new(jobs.clone()).with_slots(1), &jobs).await;
}

#[tokio::test]
async fn run_slots_in_dynamodb_keep_the_contract() {
    let stack = TestStack::new().await;
    let table = stack.stack.tables.of(&JOBS);
    let jobs = DynamoRecords::<Job>::new(stack.client.clone(), table, JOB_RECORDS);
    run_slots_contract(&RunStore::new(stack.client.clone(), table).with_slots(1), &jobs).await;
}

#[tokio::test]
async fn runs_in_memory_keep_the_contract() {
    let jobs: Arc<InMemoryRecords<Job>> = Arc::default();
    let runs = InMemoryRuns::new(jobs.clone());
    let expired = InMemoryRuns::new(jobs.clone()).with_lease(Duration::ZERO);
    runs_contract(&runs, &expired, &jobs).await;
}

#[tokio::test]
async fn runs_in_dynamodb_keep_the_contract() {
    let stack = TestStack::new().await;
    let table = stack.stack.tables.of(&JOBS);
    let runs = RunStore::new(stack.client.clone(), table);
    let expired = RunStore::new(stack.client.clone(), table).with_lease(Duration::ZERO);
    let jobs = DynamoRecords::<Job>::new(stack.client.clone(), table, JOB_RECORDS);
    runs_contract(&runs, &expired, &jobs).await;
}

/// What every job-status writer must do.
async fn statuses_contract(jobs: &(impl Records<Job> + ScheduleStatuses)) {
    let acme = tenant("acme");
    jobs.create(&acme, "job-1", job()).await.expect("job");
    let failed = Some("bad cron".to_owned());
    assert!(
        !jobs
            .record(&acme, "job-1", 2, ScheduleStatus::Failed, failed.clone())
            .await
            .expect("write")
    );
    assert!(
        jobs.record(&acme, "job-1", 1, ScheduleStatus::Failed, failed.clone())
            .await
            .expect("write")
    );
    let stored = jobs.get(&acme, "job-1").await.expect("read").expect("job");
    assert_eq!(
        (stored.version, stored.value.schedule_status),
        (1, ScheduleStatus::Failed)
    );
    assert_eq!(stored.value.schedule_error, failed);
    assert!(
        !jobs
            .record(&acme, "nope", 1, ScheduleStatus::Enabled, None)
            .await
            .expect("write")
    );
}

#[tokio::test]
async fn job_statuses_in_memory_keep_the_contract() {
    statuses_contract(&InMemoryRecords::<Job>::default()).await;
}

#[tokio::test]
async fn job_statuses_in_dynamodb_keep_the_contract() {
    let stack = TestStack::new().await;
    statuses_contract(&DynamoRecords::<Job>::new(
        stack.client.clone(),
        stack.stack.tables.of(&JOBS),
        JOB_RECORDS,
    ))
    .await;
}

/// What every scheduler must do: puts and removes are idempotent.
async fn scheduler_contract(scheduler: &impl Scheduler) {
    let acme = tenant("acme");
    let spec = |expression: &'static str, enabled: bool| ScheduleSpec {
        name: "contract-job-1",
        tenant: &acme,
        job_id: "job-1",
        expression,
        timezone: "Europe/Paris",
        enabled,
    };
    scheduler.put(&spec("cron(0 9 * * ? *)", true)).await.expect("create");
    scheduler.put(&spec("rate(1 hour)", false)).await.expect("update");
    scheduler.remove("contract-job-1").await.expect("remove");
    scheduler.remove("contract-job-1").await.expect("remove what is gone");
}

#[tokio::test]
async fn a_scheduler_in_memory_keeps_the_contract() {
    let scheduler = InMemoryScheduler::default();
    scheduler_contract(&scheduler).await;
    assert!(scheduler.schedules().is_empty());
}

#[tokio::test]
async fn eventbridge_scheduler_keeps_the_contract() {
    let stack = TestStack::new().await;
    let config: shared::schedule_sync::ScheduleSyncConfig = stack.stack.config("schedule-sync");
    let sdk = shared::aws::sdk_config().await;
    let scheduler = Schedules::new(aws_sdk_scheduler::Client::new(&sdk), config.group, config.target);
    scheduler_contract(&scheduler).await;
}

fn mail(shopper: &str) -> Mail {
    Mail {
        from: Address {
            email: "shop@example.com".into(),
            name: None,
        },
        template_id: "d-1".into(),
        personalizations: vec![Personalization {
            to: vec![Address {
                email: format!("{shopper}@example.com"),
                name: None,
            }],
            dynamic_template_data: json!({"shopper": {"id": shopper}}),
        }],
        custom_args: Default::default(),
    }
}

#[tokio::test]
async fn both_mailers_accept_a_mail() {
    let outbox = Outbox::default();
    let key = ApiKey::new("SG.test");
    outbox.send(&key, &mail("A")).await.expect("outbox");
    assert_eq!(outbox.sent(), [["A"]]);
    let stub = SendGridStub::start().await.expect("stub");
    let sendgrid = SendGrid::new(&stub.url, RetryPolicy::default()).expect("client");
    Mailer::send(&sendgrid, &key, &mail("A")).await.expect("SendGrid");
    assert_eq!(stub.received().len(), 1);
}

fn any_record() -> EventRecord {
    serde_json::from_value(json!({
        "eventID": "1", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {"Keys": {"pk": {"S": "T#acme#E#e-1"}}, "SequenceNumber": "1", "SizeBytes": 1,
                     "StreamViewType": "NEW_IMAGE"}
    }))
    .expect("record")
}

#[tokio::test]
async fn both_parking_places_take_a_record() {
    let acme = tenant("acme");
    let memory = ParkedInMemory::default();
    assert!(memory.park(&any_record(), Some((&acme, "e-1")), "why").await);
    assert_eq!(memory.parked()[0].reason, "why");
    let stack = TestStack::new().await;
    let sdk = shared::aws::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = FailureQueue::new(sqs.clone(), &stack.stack.projector_failure_queue_url, "projector");
    assert!(queue.park(&any_record(), Some((&acme, "e-1")), "why").await);
    let received = sqs
        .receive_message()
        .queue_url(&stack.stack.projector_failure_queue_url)
        .send()
        .await
        .expect("receive");
    let body: serde_json::Value =
        serde_json::from_str(received.messages()[0].body().unwrap_or_default()).expect("json body");
    assert_eq!(
        (body["reason"].as_str(), body["eventId"].as_str()),
        (Some("why"), Some("e-1"))
    );
}

fn sender(key: &str) -> Sender {
    Sender {
        key: ApiKey::new(key),
        from: Address {
            email: "news@acme.example".into(),
            name: Some("Acme".into()),
        },
    }
}

async fn senders_contract(senders: &impl SenderStore) {
    let (acme, globex) = (tenant("acme"), tenant("globex"));
    assert_eq!(senders.get(&acme).await.expect("get"), None);
    // Set, replaced, read back whole; another tenant's stays apart.
    senders.put(&acme, &sender("SG.one")).await.expect("put");
    senders.put(&globex, &sender("SG.globex")).await.expect("put");
    let replaced = senders.put(&acme, &sender("SG.two")).await.expect("replace");
    let read = senders.get(&acme).await.expect("get").expect("set");
    assert_eq!(read.sender, sender("SG.two"));
    assert!(read.updated_at <= replaced.updated_at + chrono::Duration::seconds(1));
    // The sender alone (what GET answers) reads back too, without the key.
    let address = senders.address(&acme).await.expect("address").expect("set");
    assert_eq!(address.from, sender("SG.two").from);
    // Deleted at once, idempotently, and set again at once.
    senders.delete(&acme).await.expect("delete");
    assert_eq!(senders.get(&acme).await.expect("get"), None);
    assert_eq!(senders.address(&acme).await.expect("address"), None);
    senders.delete(&acme).await.expect("delete again");
    senders.put(&acme, &sender("SG.three")).await.expect("put again");
    assert_eq!(
        senders.get(&acme).await.expect("get").map(|s| s.sender),
        Some(sender("SG.three"))
    );
    assert_eq!(
        senders.get(&globex).await.expect("get").map(|s| s.sender),
        Some(sender("SG.globex"))
    );
}

#[tokio::test]
async fn senders_in_memory_keep_the_contract() {
    senders_contract(&InMemorySenders::default()).await;
}

#[tokio::test]
async fn senders_in_secrets_manager_keep_the_contract() {
    let sdk = shared::aws::sdk_config().await;
    // A prefix of its own: each run starts with no secrets.
    let prefix = format!("ports-{}/tenants/", uuid::Uuid::now_v7().simple());
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    senders_contract(&SecretsManagerSenders::new(secrets.clone(), prefix.clone())).await;
    // A secret under one tenant's name written for another is never used for it.
    secrets
        .create_secret()
        .name(format!("{prefix}initech/sendgrid"))
        .description(r#"{"tenant": "globex", "from_email": "news@globex.example"}"#)
        .secret_string(r#"{"tenant": "globex", "api_key": "SG.globex", "from_email": "news@globex.example"}"#)
        .send()
        .await
        .expect("secret");
    let senders = SecretsManagerSenders::new(secrets, prefix);
    assert_eq!(senders.get(&tenant("initech")).await.expect("get"), None);
    assert_eq!(senders.address(&tenant("initech")).await.expect("address"), None);
}

/// What every counted store must do (the quotas rest on it).
async fn counted_contract(jobs: &impl Counted<Job>) {
    let (acme, other) = (tenant("acme"), tenant("other"));
    // A tenant with records from before counts were kept.
    for id in ["j-1", "j-2"] {
        jobs.create(&acme, id, job()).await.expect("create");
    }
    assert_eq!(jobs.held(&acme).await.expect("held"), None);
    // Its count starts at what the caller counted, and moves with each create.
    jobs.create_counted(&acme, "j-3", job(), 3, 2)
        .await
        .expect("room for one");
    assert_eq!(jobs.held(&acme).await.expect("held"), Some(3));
    // A racing create that counted 2 before that one was stored is refused: the
    // kept count decides, not the caller's.
    let full = jobs.create_counted(&acme, "j-4", job(), 3, 2).await;
    assert!(matches!(full, Err(RecordError::OverQuota { held: 3 })), "{full:?}");
    assert!(jobs.get(&acme, "j-4").await.expect("get").is_none(), "nothing stored");
    // A record that stops counting frees its place.
    let current = jobs.get(&acme, "j-1").await.expect("get").expect("j-1");
    jobs.replace_uncounted(&acme, "j-1", job(), current.version)
        .await
        .expect("uncounted");
    assert_eq!(jobs.held(&acme).await.expect("held"), Some(2));
    // A taken id is refused, and not counted.
    let taken = jobs.create_counted(&acme, "j-2", job(), 3, 0).await;
    assert!(matches!(taken, Err(RecordError::AlreadyExists)), "{taken:?}");
    assert_eq!(jobs.held(&acme).await.expect("held"), Some(2));
    // Another tenant's count is its own.
    jobs.create_counted(&other, "j-1", job(), 1, 0)
        .await
        .expect("other's first");
    assert_eq!(jobs.held(&acme).await.expect("held"), Some(2));
    // A stale version is refused whole: the count stays.
    let stale = jobs.replace_uncounted(&acme, "j-2", job(), 99).await;
    assert!(
        matches!(stale, Err(RecordError::VersionConflict { current: 1 })),
        "{stale:?}"
    );
    assert_eq!(jobs.held(&acme).await.expect("held"), Some(2));
}

#[tokio::test]
async fn counted_records_in_memory_keep_the_contract() {
    counted_contract(&InMemoryRecords::<Job>::default()).await;
}

#[tokio::test]
async fn counted_records_in_dynamodb_keep_the_contract() {
    let stack = TestStack::new().await;
    let jobs = DynamoRecords::<Job>::new(stack.client.clone(), stack.stack.tables.of(&JOBS), JOB_RECORDS);
    counted_contract(&jobs).await;
}

fn outcome(event_id: &str, points: &[(&str, u64)]) -> Outcome {
    let at = Utc::now();
    Outcome {
        event_id: event_id.into(),
        at,
        fulfilled: points
            .iter()
            .map(|(rule, points)| Fulfilled {
                rule_id: (*rule).into(),
                name: (*rule).into(),
                points: *points,
                points_expire_at: Some(at + chrono::Duration::days(30)),
                reward: None,
            })
            .collect(),
        spend: Some(Spend(10.0)),
    }
}

/// What every ledger must do.
async fn ledger_contract(ledger: &impl Ledger) {
    let (acme, other) = (tenant("acme"), tenant("other"));
    let customer = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    let empty = ledger.state(&acme, customer).await.expect("state");
    assert_eq!(empty, CustomerState::default());
    // One event's change is written whole.
    let first = outcome("e-1", &[("rul_a", 100), ("rul_b", 50)]);
    let effect = empty.after(&first);
    let applied = ledger
        .apply(
            &acme,
            customer,
            &Change {
                event_id: "e-1",
                before: &empty,
                effect: &effect,
            },
        )
        .await;
    assert_eq!(applied.expect("apply"), Applied::Written);
    let read = ledger.state(&acme, customer).await.expect("state");
    assert_eq!(
        (read.version, read.available(first.at), read.fulfilled("rul_a")),
        (Some(1), 150, 1)
    );
    assert_eq!(read.spend_lifetime, 10.0);
    // Its mark and entries can be read back, as the notifications are built.
    let mark = ledger.mark(&acme, customer, "e-1").await.expect("mark");
    assert_eq!(mark, Some(effect.mark));
    assert_eq!(
        (effect.mark.starting, effect.mark.available, effect.mark.lifetime),
        (0, 150, 150)
    );
    let of_event = ledger
        .entries_of(&acme, customer, "e-1", effect.mark.at)
        .await
        .expect("entries of e-1");
    assert_eq!(of_event, effect.entries);
    assert_eq!(ledger.mark(&acme, customer, "e-9").await.expect("mark"), None);
    // The same event again is a no-op, whatever state it was computed from.
    let again = ledger
        .apply(
            &acme,
            customer,
            &Change {
                event_id: "e-1",
                before: &read,
                effect: &read.after(&first),
            },
        )
        .await;
    assert_eq!(again.expect("apply"), Applied::AlreadyApplied);
    // A change computed from an older state is refused whole.
    let second = outcome("e-2", &[("rul_a", 7)]);
    let stale = ledger
        .apply(
            &acme,
            customer,
            &Change {
                event_id: "e-2",
                before: &empty,
                effect: &empty.after(&second),
            },
        )
        .await;
    assert_eq!(stale.expect("apply"), Applied::Stale);
    let applied = ledger
        .apply(
            &acme,
            customer,
            &Change {
                event_id: "e-2",
                before: &read,
                effect: &read.after(&second),
            },
        )
        .await;
    assert_eq!(applied.expect("apply"), Applied::Written);
    assert_eq!(
        ledger.state(&acme, customer).await.expect("state").available(second.at),
        157
    );
    // Entries newest first, a page at a time.
    let (page, cursor) = ledger.entries(&acme, customer, 2, None).await.expect("entries");
    assert_eq!(page[0].event_id, "e-2");
    assert_eq!(page[0].balance_after, 157);
    let (rest, end) = ledger
        .entries(&acme, customer, 2, cursor.as_deref())
        .await
        .expect("entries");
    assert_eq!((rest.len(), end), (1, None));
    assert_eq!(page.len() + rest.len(), 3);
    // Another tenant's customer of the same id is another customer.
    assert_eq!(
        ledger.state(&other, customer).await.expect("state"),
        CustomerState::default()
    );
}

#[tokio::test]
async fn ledgers_in_memory_keep_the_contract() {
    ledger_contract(&InMemoryLedger::default()).await;
}

#[tokio::test]
async fn ledgers_in_dynamodb_keep_the_contract() {
    let stack = TestStack::new().await;
    ledger_contract(&DynamoLedger::new(
        stack.client.clone(),
        stack.stack.tables.of(&LOYALTY),
    ))
    .await;
}
