//! Every file in events/ (the `sam local invoke -e` samples) goes through its
//! function's handler and gets the status listed here, so the samples never rot.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::{TestStack, parts};

/// In run order (reads come after the create they read). File names are
/// `<function>[.<case>].json`.
const EXPECTED: &[(&str, u16)] = &[
    ("create-event.json", 201),
    ("create-event.invalid-payload.json", 400),
    ("create-event.wrong-tenant.json", 403),
    ("get-event.json", 200),
    ("get-event.unknown-id.json", 404),
    ("list-events.json", 200),
    ("list-events.missing-entity-id.json", 400),
    ("route-not-found.json", 405),
    ("create-subscription.json", 201),
    ("create-subscription.seed-sns-with-sqs-block.json", 400),
    ("update-subscription.json", 200),
    ("update-subscription.by-id.json", 200),
    ("list-subscriptions.json", 200),
    ("get-subscription.json", 200),
    ("get-subscription.unknown-id.json", 404),
    ("deactivate-subscription.json", 200),
    ("create-job.json", 201),
    ("create-job.invalid-cron.json", 400),
    ("list-jobs.json", 200),
    ("get-job.json", 200),
    ("update-job.json", 200),
    ("delete-job.json", 204),
    ("delete-job.unknown-id.json", 404),
];

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

#[tokio::test]
async fn every_sample_event_gets_its_expected_status() {
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
        "each file in events/ needs an expected status in this test"
    );

    let stack = TestStack::new().await;
    let functions = stack.functions();
    for (file, expected) in EXPECTED {
        let function = file.split('.').next().unwrap_or_default();
        let text = std::fs::read_to_string(events_dir().join(file)).expect("readable sample");
        let request =
            lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{file} is not an API Gateway event: {e}"));
        let response = functions
            .invoke(function, request)
            .await
            .unwrap_or_else(|| panic!("{file}: no function named {function}"));
        let (status, body) = parts(response);
        assert_eq!(status, *expected, "{file}: {body}");
    }
}
