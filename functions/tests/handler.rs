//! The binary refuses, at init, a `_HANDLER` that names no function, and says
//! which names it knows.

use std::process::Command;

fn run_with(handler: Option<&str>) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_event-collector"));
    command.env_remove("_HANDLER");
    if let Some(handler) = handler {
        command.env("_HANDLER", handler);
    }
    let output = command.output().expect("the binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn an_unknown_handler_fails_at_init_naming_the_known_ones() {
    let (succeeded, stderr) = run_with(Some("create-evnet"));
    assert!(!succeeded);
    assert!(
        stderr.contains(r#"_HANDLER "create-evnet" names no function; it must be one of: "#),
        "{stderr}"
    );
    for known in ["create-event", "fanout", "notification-job", "route-not-found"] {
        assert!(stderr.contains(known), "{known} missing from: {stderr}");
    }
}

#[test]
fn a_missing_handler_fails_at_init() {
    let (succeeded, stderr) = run_with(None);
    assert!(!succeeded);
    assert!(stderr.contains("_HANDLER is not set; it must be one of: "), "{stderr}");
}

#[test]
fn each_handler_name_is_unique() {
    let mut names: Vec<_> = functions::HANDLERS.iter().map(|h| h.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), functions::HANDLERS.len());
}

/// The binary serves the function `_HANDLER` names, as Lambda runs it: a child
/// process asking a Runtime API for invocations. route-not-found needs no AWS
/// and logs a line of its own, so the line shows which handler answered.
#[tokio::test(flavor = "current_thread")]
async fn the_binary_serves_the_handler_named() {
    use std::time::Duration;

    use local::runtime_api::{Outcome, RuntimeApi};

    let mut api = RuntimeApi::start().await.expect("a Runtime API");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_event-collector"))
        .envs(api.environment("route-not-found"))
        .env("_HANDLER", "route-not-found")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let sample = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../events/route-not-found.json")).expect("sample");
    let outcome = tokio::time::timeout(
        Duration::from_secs(60),
        api.invoke("1", hyper::body::Bytes::from(sample)),
    )
    .await
    .expect("an answer within a minute");
    assert_eq!(outcome, Some(Outcome::Response));
    let mut child = child;
    child.start_kill().expect("the binary stops");
    let output = child.wait_with_output().await.expect("its output");
    let log = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("unrouted request"),
        "route-not-found did not answer:\n{log}"
    );
}
