//! Logs never carry secrets or tokens, at any level the template allows (and
//! not at TRACE either, should a function's level be set outside it): a function
//! runs as Lambda runs it — its logging set up by `shared::lambda::init_logging`,
//! the Lambda runtime asking a Runtime API for an invocation — and this test
//! reads everything it writes while handling a request that carries a bearer
//! token, a subscriber's access secret, a SendGrid key and personal data.
//!
//! The function is this test binary itself, started again as a child process
//! running only `function_under_test`: the Lambda variables are the child's own,
//! so nothing here changes this process's environment.

use std::process::Stdio;
use std::time::Duration;

use hyper::body::Bytes;
use local::runtime_api::{Outcome, RuntimeApi};
use serde_json::json;

/// Set in the child: it serves invocations instead of returning at once.
const CHILD: &str = "EVENT_COLLECTOR_LOGS_TEST_CHILD";

const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnQiOiJhY21lIn0.c2VjcmV0LXNpZ25hdHVyZQ";
const ACCESS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const API_KEY: &str = "SG.never-logged.0123456789abcdef";
const PHONE: &str = "+44 20 7946 0999";

/// route-not-found's handler (API Gateway's `$default`: whatever a client
/// mistypes reaches it, secrets and all), served as its `main` serves it.
#[tokio::test(flavor = "current_thread")]
async fn function_under_test() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    shared::lambda::init_logging();
    let served = shared::lambda::serve_api(&(), |_, req| shared::api::fallback::route_not_found(req)).await;
    assert!(served.is_ok(), "{served:?}");
}

/// A request as API Gateway hands it on: the token in `Authorization`, its
/// claims from the authorizer, and secrets in the body.
fn request() -> Bytes {
    let body = json!({"api_key": API_KEY, "from_email": "news@acme.example",
        "destination": {"type": "SQS", "sqs": {"accessKey": "AKIAIOSFODNN7EXAMPLE", "accessSecret": ACCESS_SECRET}},
        "phone": PHONE});
    let event = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/api/v1/settings/sendgrids", "rawQueryString": "",
        "headers": {"authorization": format!("Bearer {TOKEN}"), "x-twc-tenant": "acme",
                    "content-type": "application/json"},
        "requestContext": {
            "http": {"method": "PUT", "path": "/api/v1/settings/sendgrids", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1"},
            "requestId": "logs-test", "routeKey": "$default", "stage": "$default", "timeEpoch": 0,
            "authorizer": {"jwt": {"claims": {"tenant": "acme", "scope": "event-collector/write"}, "scopes": null}}
        },
        "body": body.to_string(),
        "isBase64Encoded": false
    });
    Bytes::from(event.to_string())
}

/// The template's `LogLevel` values, most verbose first.
fn allowed_levels() -> Vec<String> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).expect("template.yaml");
    let template: serde_norway::Value = serde_norway::from_str(&text).expect("YAML");
    let allowed = template["Parameters"]["LogLevel"]["AllowedValues"]
        .as_sequence()
        .expect("LogLevel's AllowedValues")
        .iter()
        .map(|level| level.as_str().expect("a level").to_owned());
    let order = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];
    let mut levels: Vec<String> = allowed.collect();
    levels.sort_by_key(|level| order.iter().position(|known| known == level));
    levels
}

/// Everything the function writes while handling one request at `level`.
async fn log_of_one_request(level: &str) -> String {
    let mut api = RuntimeApi::start().await.expect("a Runtime API");
    let child = tokio::process::Command::new(std::env::current_exe().expect("this test binary"))
        .args(["function_under_test", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .envs(api.environment("route-not-found"))
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_LEVEL", level)
        .env("RUST_LOG", level.to_lowercase())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the function starts");
    let outcome = tokio::time::timeout(Duration::from_secs(60), api.invoke("logs-1", request()))
        .await
        .expect("the function answers within a minute");
    assert_eq!(outcome, Some(Outcome::Response));
    let mut child = child;
    child.start_kill().expect("the function stops");
    let output = child.wait_with_output().await.expect("its output");
    let mut log = String::from_utf8_lossy(&output.stdout).into_owned();
    log.push_str(&String::from_utf8_lossy(&output.stderr));
    log
}

#[tokio::test]
async fn no_log_line_carries_a_token_or_a_secret_at_any_level_allowed() {
    let most_verbose = allowed_levels().into_iter().next().expect("a level");
    // TRACE as well: the level may be set on a function outside the template.
    for level in [most_verbose.as_str(), "TRACE"] {
        let log = log_of_one_request(level).await;
        // The handler's own line is there, so the function's log was read.
        assert!(log.contains("unrouted request"), "{level}: nothing logged?\n{log}");
        for (what, secret) in [
            ("the bearer token", TOKEN),
            ("the access secret", ACCESS_SECRET),
            ("the SendGrid key", API_KEY),
            ("personal data", PHONE),
        ] {
            assert!(!log.contains(secret), "{level}: {what} was logged:\n{log}");
        }
    }
}
