//! Every file in events/ (the `sam local invoke -e` samples) goes through its
//! function's handler and gets the outcome listed here, so the samples never rot.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::{SendGridStub, TestStack, parts};
use local::functions::EventFunctions;
use shared::sendgrid::{RetryPolicy, SendGrid};

/// What a sample must produce: an HTTP status (API functions), a number of
/// batch item failures (stream and queue functions), or notification-job's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Status(u16),
    BatchFailures(usize),
    Run(&'static str),
}
use Outcome::{BatchFailures, Run, Status};

/// In run order (reads come after the create they read). File names are
/// `<function>[.<case>].json`.
const EXPECTED: &[(&str, Outcome)] = &[
    ("create-event.json", Status(201)),
    ("create-event.invalid-payload.json", Status(400)),
    ("create-event.wrong-tenant.json", Status(403)),
    ("get-event.json", Status(200)),
    ("get-event.unknown-id.json", Status(404)),
    ("list-events.json", Status(200)),
    ("list-event-deliveries.json", Status(200)),
    ("list-events.missing-entity-id.json", Status(400)),
    ("route-not-found.json", Status(405)),
    ("console.json", Status(200)),
    ("create-action-event.json", Status(200)),
    ("create-order-event.json", Status(200)),
    ("create-order-event.missing-order-id.json", Status(400)),
    ("create-transaction-event.json", Status(200)),
    ("assess-basket.json", Status(200)),
    ("create-event-definition.json", Status(201)),
    ("create-event-definition.invalid-field-type.json", Status(400)),
    ("list-event-definitions.json", Status(200)),
    ("get-event-definition.json", Status(200)),
    ("get-event-definition.unknown-name.json", Status(404)),
    ("update-event-definition.json", Status(200)),
    // Validated against the active purchaseEvent definition.
    ("create-event.defined.json", Status(201)),
    ("create-event.defined-missing-field.json", Status(400)),
    ("deactivate-event-definition.json", Status(200)),
    ("create-subscription.json", Status(201)),
    ("create-subscription.seed-sns-with-sqs-block.json", Status(400)),
    ("update-subscription.json", Status(200)),
    ("update-subscription.by-id.json", Status(200)),
    ("list-subscriptions.json", Status(200)),
    ("get-subscription.json", Status(200)),
    ("get-subscription.unknown-id.json", Status(404)),
    ("list-dead-letters.json", Status(200)),
    ("list-deliveries.json", Status(200)),
    ("get-event-stats.json", Status(200)),
    // Replay windows are absolute times: this one's `to` (2099) is taken as now, so it
    // spans more than the longest window, a 400 naming `to`.
    ("replay-subscription.json", Status(400)),
    ("get-replay.json", Status(404)),
    // A step of a replay that does not exist is dropped, not retried.
    ("replay-worker.json", BatchFailures(0)),
    ("test-filter.json", Status(200)),
    ("test-filter.invalid-pattern.json", Status(400)),
    ("redrive-subscription.json", Status(202)),
    ("deactivate-subscription.json", Status(200)),
    ("create-job.json", Status(201)),
    ("create-job.invalid-cron.json", Status(400)),
    ("list-jobs.json", Status(200)),
    ("get-job.json", Status(200)),
    ("update-job.json", Status(200)),
    ("schedule-sync.json", BatchFailures(0)),
    ("notification-job.json", Run("ran")),
    ("list-job-runs.json", Status(200)),
    ("delete-job.json", Status(204)),
    ("delete-job.unknown-id.json", Status(404)),
    ("create-rule.json", Status(201)),
    ("create-rule.negative-points.json", Status(400)),
    ("list-rules.json", Status(200)),
    ("get-rule.json", Status(200)),
    ("update-rule.json", Status(200)),
    // A response's masked key sent back is refused, not stored.
    ("put-sendgrid-settings.json", Status(200)),
    ("put-sendgrid-settings.masked-key.json", Status(400)),
    ("get-sendgrid-settings.json", Status(200)),
    ("delete-sendgrid-settings.json", Status(204)),
    // Parked deliveries and dead-lettered records count as handled.
    ("fanout.json", BatchFailures(0)),
    ("fanout.batch.json", BatchFailures(0)),
    ("fanout.poison-record.json", BatchFailures(0)),
    ("fanout-retry.json", BatchFailures(0)),
    // A lane's delivery of a subscription deactivated above: kept as its dead letter.
    ("fanout-paced.json", BatchFailures(0)),
    ("projector.json", BatchFailures(0)),
    // A registration the bus routed to the assessor (after the rule samples).
    ("assessor.json", BatchFailures(0)),
    // The customer the assessor recorded.
    // Redeemed from what the assessor recorded.
    ("create-redemption-event.json", Status(200)),
    ("create-redemption-event.insufficient-points.json", Status(422)),
    ("get-customer.json", Status(200)),
    ("list-customer-ledger.json", Status(200)),
    ("lock-customer.json", Status(200)),
    ("get-customer.unknown-id.json", Status(404)),
    // Last: the assessor sample needs the sample rule active.
    ("deactivate-rule.json", Status(200)),
];

/// The topic of the stack's account that update-subscription.by-id.json names,
/// tagged as acme's: the stack's role delivers there only for the tenant a
/// resource's `event-collector:tenant` tag names (deployed, the operator tags it).
async fn own_account_topic(sdk: &aws_config::SdkConfig) {
    let config = aws_sdk_sns::config::Builder::from(sdk)
        .region(aws_sdk_sns::config::Region::new("eu-west-1"))
        .build();
    let tag = aws_sdk_sns::types::Tag::builder()
        .key(shared::subscriptions::TENANT_TAG)
        .value("acme")
        .build()
        .expect("tag");
    aws_sdk_sns::Client::from_conf(config)
        .create_topic()
        .name("order-events")
        .tags(tag)
        .send()
        .await
        .expect("topic");
}

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

#[tokio::test]
async fn every_sample_event_gets_its_expected_outcome() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(events_dir())
        .expect("events/ exists")
        .map(|entry| {
            entry
                .expect("readable entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".json"))
        .collect();
    let listed: BTreeSet<String> = EXPECTED.iter().map(|(name, _)| (*name).to_owned()).collect();
    assert_eq!(
        on_disk, listed,
        "each file in events/ needs an expected outcome in this test"
    );

    let stack = TestStack::new().await;
    let functions = stack.functions();
    let sdk = shared::aws::sdk_config().await;
    own_account_topic(&sdk).await;
    let sendgrid = SendGridStub::start().await.expect("SendGrid stub");
    let event_functions = EventFunctions {
        fanout: stack.stack.fanout("fanout", &sdk, stack.stack.fanout_config()),
        fanout_retry: stack.stack.fanout("fanout-retry", &sdk, stack.stack.fanout_config()),
        fanout_paced: stack.stack.fanout("fanout-paced", &sdk, stack.stack.fanout_config()),
        projector: stack.stack.projector(),
        schedule_sync: stack.stack.schedule_sync(),
        notification_job: stack
            .stack
            .notification_runner(SendGrid::new(&sendgrid.url, RetryPolicy::default()).expect("client"))
            .await
            .expect("notification-job"),
        assessor: stack.stack.assessor(),
        replay_worker: stack.stack.replay_worker(),
    };
    for (file, expected) in EXPECTED {
        let function = file.split('.').next().unwrap_or_default();
        let text = std::fs::read_to_string(events_dir().join(file)).expect("readable sample");
        let outcome = match event_functions.invoke(function, &text).await {
            Some(answer) => {
                let answer = answer.unwrap_or_else(|e| panic!("{file}: {e}"));
                match answer["batchItemFailures"].as_array() {
                    Some(failures) => BatchFailures(failures.len()),
                    None => Run(match answer["outcome"].as_str() {
                        Some("ran") => "ran",
                        Some("skipped") => "skipped",
                        _ => "already_ran",
                    }),
                }
            }
            None => {
                let request = lambda_http::request::from_str(&text)
                    .unwrap_or_else(|e| panic!("{file} is not an API Gateway event: {e}"));
                let response = functions
                    .invoke(function, request)
                    .await
                    .unwrap_or_else(|| panic!("{file}: no function named {function}"));
                // The console's files are not JSON; every API answer is.
                let (status, body) = if function == shared::routes::CONSOLE_FUNCTION {
                    let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
                    (response.status().as_u16(), serde_json::Value::String(text))
                } else {
                    parts(response)
                };
                assert_eq!(Status(status), *expected, "{file}: {body}");
                Status(status)
            }
        };
        assert_eq!(outcome, *expected, "{file}");
    }
}
