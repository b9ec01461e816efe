//! The local API Gateway stand-in over real HTTP: routing, query decoding,
//! fallback answers, and the handlers behind it against moto.

mod common;

use common::{LocalRun, order_event};
use local::dev_token;
use local::gateway::LocalAuth;
use serde_json::{Value, json};

#[tokio::test]
async fn serves_the_events_api_over_http() {
    let local = LocalRun::start(LocalAuth::Off).await;
    let event = order_event("evt-http-1", "ORD 1/2");

    let (status, headers, created) = local.call("POST", "/api/v1/events", Some("acme"), Some(&event)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(headers["location"], "/api/v1/events/evt-http-1");

    let (status, _, read) = local.call("GET", "/api/v1/events/evt-http-1", Some("acme"), None).await;
    assert_eq!((status, &read), (200, &created));

    // Query values arrive percent-decoded, as API Gateway delivers them.
    let (status, _, page) = local
        .call(
            "GET",
            "/api/v1/events?entity_name=order&entity_id=ORD%201%2F2",
            Some("acme"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"], json!([created]));
    assert_eq!(page["next_token"], Value::Null);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_problem_json() {
    let local = LocalRun::start(LocalAuth::Off).await;

    let (status, headers, problem) = local.call("GET", "/api/v2/nothing", Some("acme"), None).await;
    assert_eq!((status, problem["status"].as_u64()), (404, Some(404)));
    assert_eq!(headers["content-type"], "application/problem+json");

    let (status, headers, _) = local.call("DELETE", "/api/v1/events/evt-1", Some("acme"), None).await;
    assert_eq!(status, 405);
    assert_eq!(headers["allow"], "GET");

    let (status, _, problem) = local
        .call("POST", "/api/v1/events", None, Some(&order_event("e", "o")))
        .await;
    assert_eq!(status, 400);
    assert_eq!(problem["errors"][0]["field"], "X-TWC-Tenant");
}

#[tokio::test]
async fn opt_in_dev_tokens_are_checked_like_the_deployed_authorizer() {
    let secret = "test-secret";
    let local = LocalRun::start(LocalAuth::DevTokens { secret: secret.into() }).await;
    let now = chrono::Utc::now().timestamp();
    let acme = dev_token::mint(secret, common::TENANT_CLAIM, "acme", now, 60);
    let forged = dev_token::mint("guess", common::TENANT_CLAIM, "acme", now, 60);
    let event = order_event("evt-jwt-1", "ORD-1");
    let post = |bearer| local.call_with("POST", "/api/v1/events", Some("acme"), bearer, Some(&event));

    assert_eq!(post(None).await.0, 401, "no token");
    assert_eq!(post(Some(&forged)).await.0, 401, "bad signature");
    let (status, _, problem) = local
        .call_with("POST", "/api/v1/events", Some("globex"), Some(&acme), Some(&event))
        .await;
    assert_eq!(status, 403, "token of another tenant: {problem}");
    assert_eq!(post(Some(&acme)).await.0, 201);
}
