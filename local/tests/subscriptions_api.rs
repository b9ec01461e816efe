//! The subscriptions API through its handlers, the real DynamoDB and KMS SDKs,
//! against moto.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{ApiRequest, TestStack, ids_of, parts};
use serde_json::{Value, json};
use shared::secrets::{KmsSealer, SecretSealer};
use shared::storage::schema::SUBSCRIPTIONS;
use shared::tenant::TenantId;

const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn sqs_subscription(id: &str) -> Value {
    json!({
        "id": id,
        "active": true,
        "entityType": "order",
        "subscribeCreate": true,
        "subscribeChange": true,
        "subscribeDelete": false,
        "destination": {
            "type": "SQS",
            "sqs": {"queueUrl": QUEUE, "region": "eu-west-1", "accessKey": "AKIAIOSFODNN7EXAMPLE", "accessSecret": SECRET}
        }
    })
}

fn post(tenant: &str, body: &Value) -> lambda_http::Request {
    ApiRequest::new("POST", "/api/v1/event-subscription")
        .for_tenant(tenant)
        .json(body)
        .build()
}

fn put(tenant: &str, id: Option<&str>, body: &Value) -> lambda_http::Request {
    match id {
        Some(id) => ApiRequest::new("PUT", &format!("/api/v1/event-subscription/{id}")).path_param("id", id),
        None => ApiRequest::new("PUT", "/api/v1/event-subscription"),
    }
    .for_tenant(tenant)
    .json(body)
    .build()
}

fn get(tenant: &str, id: &str) -> lambda_http::Request {
    ApiRequest::new("GET", &format!("/api/v1/event-subscription/{id}"))
        .for_tenant(tenant)
        .path_param("id", id)
        .build()
}

fn deactivate(tenant: &str, id: &str) -> lambda_http::Request {
    ApiRequest::new("PUT", &format!("/api/v1/event-subscription/{id}/deactivate"))
        .for_tenant(tenant)
        .path_param("id", id)
        .build()
}

fn list(tenant: &str, include_inactive: Option<&str>) -> lambda_http::Request {
    let request = ApiRequest::new("GET", "/api/v1/event-subscription").for_tenant(tenant);
    match include_inactive {
        Some(value) => request.query("include_inactive", value),
        None => request,
    }
    .build()
}

/// The stored (sealed) secret, read straight from the table.
async fn stored_secret(stack: &TestStack, tenant: &str, id: &str) -> String {
    let item = stack
        .client
        .get_item()
        .table_name(stack.stack.tables.of(&SUBSCRIPTIONS))
        .key("pk", AttributeValue::S(format!("T#{tenant}")))
        .key("sk", AttributeValue::S(format!("SUB#{id}")))
        .send()
        .await
        .expect("get item")
        .item
        .expect("stored");
    let destination = item["destination"].as_m().expect("destination map");
    let sqs = destination["sqs"].as_m().expect("sqs map");
    sqs["accessSecret"].as_s().expect("sealed secret").clone()
}

#[tokio::test]
async fn secrets_are_sealed_with_kms_and_never_returned() {
    let stack = TestStack::new().await;

    let (status, created) = parts(
        stack
            .call("create-subscription", post("acme", &sqs_subscription("sub-1")))
            .await,
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["destination"]["sqs"]["accessSecret"], "****");
    assert_eq!(created["destination"]["sqs"]["accessKey"], "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(
        (created["version"].as_u64(), created["entityType"].as_str()),
        (Some(1), Some("ORDER"))
    );

    // At rest: a KMS ciphertext bound to this tenant and subscription.
    let sealed = stored_secret(&stack, "acme", "sub-1").await;
    assert!(!sealed.contains(SECRET));
    let sealer = KmsSealer::new(
        aws_sdk_kms::Client::new(&shared::aws::sdk_config().await),
        &stack.stack.secrets_key,
    );
    let sealed: shared::secrets::SealedSecret = serde_json::from_value(json!(sealed)).expect("sealed");
    let acme = TenantId::parse("acme").expect("tenant");
    assert_eq!(sealer.open(&acme, "sub-1", &sealed).await.expect("opens"), SECRET);
    assert!(
        sealer.open(&acme, "sub-2", &sealed).await.is_err(),
        "bound to its subscription"
    );

    let (_, read) = parts(stack.call("get-subscription", get("acme", "sub-1")).await);
    assert_eq!(read, created);
    let (_, all) = parts(stack.call("list-subscriptions", list("acme", None)).await);
    for text in [created.to_string(), all.to_string()] {
        assert!(!text.contains(SECRET) && !text.contains(&serde_json::to_string(&sealed).expect("json")[1..20]));
    }
}

#[tokio::test]
async fn updates_keep_the_stored_secret_unless_a_new_one_is_sent() {
    let stack = TestStack::new().await;
    parts(
        stack
            .call("create-subscription", post("acme", &sqs_subscription("sub-1")))
            .await,
    );
    let sealed = stored_secret(&stack, "acme", "sub-1").await;

    // The seed's form (id in the body), secret left out.
    let mut body = sqs_subscription("sub-1");
    body["destination"]["sqs"]
        .as_object_mut()
        .expect("sqs")
        .remove("accessSecret");
    body["subscribeDelete"] = json!(true);
    let (status, updated) = parts(stack.call("update-subscription", put("acme", None, &body)).await);
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (updated["version"].as_u64(), updated["subscribeDelete"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(stored_secret(&stack, "acme", "sub-1").await, sealed);

    // A response sent back as is (masked secret, version, timestamps) keeps it too.
    let (status, again) = parts(
        stack
            .call("update-subscription", put("acme", Some("sub-1"), &updated))
            .await,
    );
    assert_eq!((status, again["version"].as_u64()), (200, Some(3)), "{again}");
    assert_eq!(stored_secret(&stack, "acme", "sub-1").await, sealed);

    // A new secret is sealed anew.
    let (status, _) = parts(
        stack
            .call(
                "update-subscription",
                put("acme", Some("sub-1"), &sqs_subscription("sub-1")),
            )
            .await,
    );
    assert_eq!(status, 200);
    assert_ne!(stored_secret(&stack, "acme", "sub-1").await, sealed);

    // A new access key needs its secret.
    let mut new_key = sqs_subscription("sub-1");
    new_key["destination"]["sqs"]["accessKey"] = json!("AKIAZZZZZZZZZZZZZZZZ");
    new_key["destination"]["sqs"]
        .as_object_mut()
        .expect("sqs")
        .remove("accessSecret");
    let (status, problem) = parts(
        stack
            .call("update-subscription", put("acme", Some("sub-1"), &new_key))
            .await,
    );
    assert_eq!(status, 400);
    assert_eq!(problem["errors"][0]["field"], "destination.sqs.accessSecret");
}

#[tokio::test]
async fn versions_guard_against_lost_updates() {
    let stack = TestStack::new().await;
    parts(
        stack
            .call("create-subscription", post("acme", &sqs_subscription("sub-1")))
            .await,
    );
    let mut stale = sqs_subscription("sub-1");
    stale["version"] = json!(1);
    assert_eq!(
        parts(stack.call("update-subscription", put("acme", None, &stale)).await).0,
        200
    );
    // A second writer that read version 1 too.
    let (status, problem) = parts(stack.call("update-subscription", put("acme", None, &stale)).await);
    assert_eq!(status, 409, "{problem}");
    // Creating an existing id is a conflict too.
    assert_eq!(
        parts(
            stack
                .call("create-subscription", post("acme", &sqs_subscription("sub-1")))
                .await
        )
        .0,
        409
    );
}

#[tokio::test]
async fn deactivated_subscriptions_leave_the_default_list() {
    let stack = TestStack::new().await;
    for id in ["sub-a", "sub-b"] {
        parts(
            stack
                .call("create-subscription", post("acme", &sqs_subscription(id)))
                .await,
        );
    }
    let (status, deactivated) = parts(stack.call("deactivate-subscription", deactivate("acme", "sub-a")).await);
    assert_eq!(
        (status, deactivated["active"].as_bool(), deactivated["version"].as_u64()),
        (200, Some(false), Some(2))
    );
    // Idempotent.
    let (status, again) = parts(stack.call("deactivate-subscription", deactivate("acme", "sub-a")).await);
    assert_eq!((status, again["version"].as_u64()), (200, Some(2)));

    assert_eq!(
        ids_of(&parts(stack.call("list-subscriptions", list("acme", None)).await).1),
        ["sub-b"]
    );
    assert_eq!(
        ids_of(&parts(stack.call("list-subscriptions", list("acme", Some("true"))).await).1),
        ["sub-a", "sub-b"]
    );
    assert_eq!(
        parts(stack.call("list-subscriptions", list("acme", Some("yes"))).await).0,
        400
    );
}

#[tokio::test]
async fn another_tenants_subscription_is_unknown() {
    let stack = TestStack::new().await;
    parts(
        stack
            .call("create-subscription", post("acme", &sqs_subscription("sub-1")))
            .await,
    );

    assert_eq!(
        parts(stack.call("get-subscription", get("globex", "sub-1")).await).0,
        404
    );
    assert_eq!(
        parts(
            stack
                .call("update-subscription", put("globex", None, &sqs_subscription("sub-1")))
                .await
        )
        .0,
        404
    );
    assert_eq!(
        parts(
            stack
                .call("deactivate-subscription", deactivate("globex", "sub-1"))
                .await
        )
        .0,
        404
    );
    assert_eq!(
        parts(stack.call("list-subscriptions", list("globex", Some("true"))).await).1,
        json!([])
    );
    // Still intact for its owner.
    assert_eq!(
        parts(stack.call("get-subscription", get("acme", "sub-1")).await).1["active"],
        true
    );
}

#[tokio::test]
async fn ids_in_path_and_body_must_agree() {
    let stack = TestStack::new().await;
    parts(
        stack
            .call("create-subscription", post("acme", &sqs_subscription("sub-1")))
            .await,
    );
    let (status, problem) = parts(
        stack
            .call(
                "update-subscription",
                put("acme", Some("sub-1"), &sqs_subscription("sub-2")),
            )
            .await,
    );
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (400, Some("id")));
    let mut no_id = sqs_subscription("x");
    no_id.as_object_mut().expect("object").remove("id");
    assert_eq!(
        parts(stack.call("update-subscription", put("acme", None, &no_id)).await).0,
        400
    );
}

#[tokio::test]
async fn malformed_destinations_get_a_400_naming_the_field() {
    let stack = TestStack::new().await;
    let with_destination = |destination: Value| {
        let mut body = sqs_subscription("sub-x");
        body["destination"] = destination;
        body
    };
    let sqs = |url: &str, region: &str| json!({"queueUrl": url, "region": region});
    let cases: Vec<(&str, Value, &[&str])> = vec![
        (
            "the seed's sample: type SNS with an sqs block",
            with_destination(json!({"type": "SNS", "sqs": sqs(QUEUE, "eu-west-1")})),
            &["destination.sqs", "destination.sns"],
        ),
        (
            "unknown type",
            with_destination(json!({"type": "KAFKA"})),
            &["destination.type"],
        ),
        (
            "missing type",
            with_destination(json!({"sqs": sqs(QUEUE, "eu-west-1")})),
            &["destination.type"],
        ),
        (
            "missing region",
            with_destination(json!({"type": "SQS", "sqs": {"queueUrl": QUEUE}})),
            &["destination.sqs.region"],
        ),
        (
            "bad region",
            with_destination(json!({"type": "SQS", "sqs": sqs(QUEUE, "Europe")})),
            &["destination.sqs.region"],
        ),
        (
            "queue in another region",
            with_destination(json!({"type": "SQS", "sqs": sqs(QUEUE, "us-east-1")})),
            &["destination.sqs.queueUrl"],
        ),
        (
            "not a queue URL",
            with_destination(json!({"type": "SQS", "sqs": sqs("https://example.com/q", "eu-west-1")})),
            &["destination.sqs.queueUrl"],
        ),
        (
            "topic ARN of another service",
            with_destination(
                json!({"type": "SNS", "sns": {"topicArn": "arn:aws:sqs:eu-west-1:123456789012:t", "region": "eu-west-1"}}),
            ),
            &["destination.sns.topicArn"],
        ),
        (
            "bus ARN that is a rule",
            with_destination(
                json!({"type": "EVENTBRIDGE", "eventBridge": {"eventBusArn": "arn:aws:events:eu-west-1:123456789012:rule/r", "region": "eu-west-1"}}),
            ),
            &["destination.eventBridge.eventBusArn"],
        ),
        (
            "credentials on EventBridge",
            with_destination(
                json!({"type": "EVENTBRIDGE", "eventBridge": {"eventBusArn": "arn:aws:events:eu-west-1:123456789012:event-bus/b", "region": "eu-west-1", "accessKey": "AKIAIOSFODNN7EXAMPLE"}}),
            ),
            &["destination.eventBridge.accessKey"],
        ),
        (
            "secret without key",
            with_destination(
                json!({"type": "SQS", "sqs": {"queueUrl": QUEUE, "region": "eu-west-1", "accessSecret": "s"}}),
            ),
            &["destination.sqs.accessKey"],
        ),
        (
            "topicArn in an sqs block",
            with_destination(
                json!({"type": "SQS", "sqs": {"queueUrl": QUEUE, "region": "eu-west-1", "topicArn": "x"}}),
            ),
            &["destination.sqs.topicArn"],
        ),
        (
            "unknown field",
            with_destination(json!({"type": "SQS", "sqs": {"queueURL": QUEUE, "region": "eu-west-1"}})),
            &["destination.sqs"],
        ),
        (
            "wrong type",
            with_destination(json!({"type": 3})),
            &["destination.type"],
        ),
    ];
    for (case, body, fields) in cases {
        let (status, problem) = parts(stack.call("create-subscription", post("acme", &body)).await);
        assert_eq!(status, 400, "{case}: {problem}");
        let named: Vec<&str> = problem["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        for field in fields {
            assert!(
                named.iter().any(|n| n.starts_with(field)),
                "{case}: {problem} should name {field}"
            );
        }
    }

    let mut no_flags = sqs_subscription("sub-x");
    no_flags["subscribeCreate"] = json!(false);
    no_flags["subscribeChange"] = json!(false);
    assert_eq!(
        parts(stack.call("create-subscription", post("acme", &no_flags)).await).0,
        400
    );
    let mut bad_entity = sqs_subscription("sub-x");
    bad_entity["entityType"] = json!("order line");
    assert_eq!(
        parts(stack.call("create-subscription", post("acme", &bad_entity)).await).0,
        400
    );
    assert!(stack.calls.take().is_empty(), "invalid subscriptions are never written");
}

#[tokio::test]
async fn a_content_filter_is_checked_as_eventbridge_checks_a_pattern_and_kept_as_written() {
    let stack = TestStack::new().await;
    // GIVEN a pattern EventBridge would refuse: a numeric operand that is a string
    let mut body = sqs_subscription("sub-filtered");
    body["filter"] = json!({"data": {"total": [{"numeric": [">=", "100"]}]}});
    // WHEN it is saved THEN it is a 400 naming the part that is wrong
    let (status, problem) = parts(stack.call("create-subscription", post("acme", &body)).await);
    assert_eq!(status, 400, "{problem}");
    assert_eq!(
        problem["errors"][0]["field"], "filter.data.total[0].numeric[1]",
        "{problem}"
    );
    // AND one that is not an object names the filter itself
    body["filter"] = json!(["ORDER"]);
    let (status, problem) = parts(stack.call("create-subscription", post("acme", &body)).await);
    assert_eq!(
        (status, problem["errors"][0]["field"].clone()),
        (400, json!("filter")),
        "{problem}"
    );
    // GIVEN a valid one WHEN saved THEN it is stored and answered as written
    let pattern = json!({"data": {"total": [{"numeric": [">=", 100]}]}, "$or": [{"operation": ["CREATE"]}, {"keyAttributes": {"vip": ["true"]}}]});
    body["filter"] = pattern.clone();
    let (status, created) = parts(stack.call("create-subscription", post("acme", &body)).await);
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["filter"], pattern);
    let (_, read) = parts(stack.call("get-subscription", get("acme", "sub-filtered")).await);
    assert_eq!(read["filter"], pattern);
    // AND an update without it drops it
    let mut update = read.clone();
    update.as_object_mut().map(|o| o.remove("filter"));
    let (status, updated) = parts(
        stack
            .call("update-subscription", put("acme", Some("sub-filtered"), &update))
            .await,
    );
    assert_eq!(status, 200, "{updated}");
    assert!(updated.get("filter").is_none(), "{updated}");
}

#[tokio::test]
async fn an_update_that_leaves_out_active_keeps_it() {
    let stack = TestStack::new().await;
    parts(
        stack
            .call("create-subscription", post("acme", &sqs_subscription("sub-1")))
            .await,
    );
    parts(stack.call("deactivate-subscription", deactivate("acme", "sub-1")).await);
    let mut body = sqs_subscription("sub-1");
    body.as_object_mut().expect("object").remove("active");
    let (status, updated) = parts(stack.call("update-subscription", put("acme", None, &body)).await);
    assert_eq!((status, updated["active"].as_bool()), (200, Some(false)), "{updated}");
}

#[tokio::test]
async fn the_101st_subscription_of_a_tenant_is_refused_naming_the_limit() {
    // GIVEN acme with the default quota's 100 subscriptions
    let stack = TestStack::new().await;
    let functions = stack.functions();
    for i in 0..100 {
        let (status, body) = parts(
            functions
                .invoke(
                    "create-subscription",
                    post("acme", &sqs_subscription(&format!("sub-{i}"))),
                )
                .await
                .expect("a function"),
        );
        assert_eq!(status, 201, "{body}");
    }
    // WHEN it creates the 101st
    let (status, problem) = parts(
        stack
            .call("create-subscription", post("acme", &sqs_subscription("sub-100")))
            .await,
    );
    // THEN 409 naming the limit, and it is not stored
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("MaxSubscriptionsPerTenant"),
        "{problem}"
    );
    let (_, listed) = parts(stack.call("list-subscriptions", list("acme", Some("true"))).await);
    assert_eq!(listed.as_array().map(Vec::len), Some(100));
}
