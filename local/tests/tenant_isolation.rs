//! No tenant reaches what is not its own: the stack's queues and bus are never a
//! destination, the stack's account only for the tenants the operator lists and
//! there only what is tagged `event-collector:tenant` for the tenant, and any
//! other account only with the subscriber's authority — its role, assumed with
//! the tenant id as ExternalId, which another tenant cannot present. Against
//! moto, with IAM and trust policies enforced by the local stack (moto checks
//! neither).

mod common;

use common::{ApiRequest, TestStack, parts};
use local::stream_poller::StreamPoller;
use serde_json::{Value, json};
use shared::fanout::Fanout;
use shared::storage::schema::EVENTS;
use shared::subscriptions::TENANT_TAG;

/// The subscriber's account, apart from the stack's (moto's default 123456789012).
const SUBSCRIBER_ACCOUNT: &str = "111111111111";
const DELIVERY_ROLE: &str = "arn:aws:iam::111111111111:role/event-deliveries";

async fn subscribe(stack: &TestStack, tenant: &str, destination: Value) -> (u16, Value) {
    let body = json!({"entityType": "ORDER", "subscribeCreate": true, "destination": destination});
    let request = ApiRequest::new("POST", "/api/v1/event-subscription")
        .for_tenant(tenant)
        .json(&body)
        .build();
    parts(stack.call("create-subscription", request).await)
}

async fn subscriptions(stack: &TestStack, tenant: &str) -> Vec<Value> {
    let request = ApiRequest::new("GET", "/api/v1/event-subscription")
        .for_tenant(tenant)
        .build();
    let (status, listed) = parts(stack.call("list-subscriptions", request).await);
    assert_eq!(status, 200, "{listed}");
    listed.as_array().cloned().unwrap_or_default()
}

fn queue(url: &str) -> Value {
    json!({"type": "SQS", "sqs": {"queueUrl": url, "region": "us-east-1"}})
}

fn field_of(problem: &Value) -> &str {
    problem["errors"][0]["field"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn the_stacks_own_queues_and_bus_are_never_a_destination() {
    // GIVEN a stack whose account every tenant may deliver to (the local default)
    let stack = TestStack::new().await;
    let own_bus = format!(
        "arn:aws:events:us-east-1:123456789012:event-bus/{}",
        stack.stack.event_bus
    );
    // WHEN a tenant subscribes the retry queue, the dead-letter queue or the bus
    for destination in [
        queue(&stack.stack.retry_queue_url),
        queue(&stack.stack.dead_letter_queue_url),
        queue(&stack.stack.projector_failure_queue_url),
        json!({"type": "EVENTBRIDGE", "eventBridge": {"eventBusArn": own_bus, "region": "us-east-1"}}),
    ] {
        let (status, problem) = subscribe(&stack, "acme", destination).await;
        // THEN 400, naming the field, and nothing is stored
        assert_eq!(status, 400, "{problem}");
        assert!(field_of(&problem).starts_with("destination."), "{problem}");
        assert!(
            problem["detail"].as_str().unwrap_or_default().contains("own"),
            "{problem}"
        );
    }
    assert!(subscriptions(&stack, "acme").await.is_empty());
}

#[tokio::test]
async fn the_stacks_account_is_only_for_the_tenants_the_operator_lists() {
    // GIVEN the operator lets only beta deliver into the stack's account
    let mut stack = TestStack::new().await;
    stack.stack = stack
        .stack
        .clone()
        .with_parameter("OwnAccountTenants", "beta")
        .expect("parameter");
    let sqs = aws_sdk_sqs::Client::new(&shared::aws::sdk_config().await);
    let name = format!("orders-{}", uuid::Uuid::now_v7().simple());
    let url = local::provision::tenant_queue(&sqs, &name, "beta")
        .await
        .expect("queue");
    // WHEN acme and beta subscribe the same queue of that account (beta's), without credentials
    let (refused, problem) = subscribe(&stack, "acme", queue(&url)).await;
    let (accepted, _) = subscribe(&stack, "beta", queue(&url)).await;
    // THEN acme is refused, naming the queue, and beta is not
    assert_eq!(
        (refused, field_of(&problem)),
        (400, "destination.sqs.queueUrl"),
        "{problem}"
    );
    assert_eq!(accepted, 201);
    assert!(subscriptions(&stack, "acme").await.is_empty());
}

#[tokio::test]
async fn a_queue_of_the_stacks_account_is_only_for_the_tenant_it_is_tagged_for() {
    // GIVEN acme's queue in the stack's account, tagged for acme as
    // `scripts/dev queue acme-orders` tags it (every tenant may deliver into the
    // account: the local default)
    let stack = TestStack::new().await;
    let sdk = shared::aws::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let name = format!("acme-orders-{}", uuid::Uuid::now_v7().simple());
    let url = local::provision::tenant_queue(&sqs, &name, "acme")
        .await
        .expect("queue");
    // WHEN mallory subscribes it THEN 400 problem+json naming the queue, without
    // saying whose it is, and nothing is stored
    let request = ApiRequest::new("POST", "/api/v1/event-subscription")
        .for_tenant("mallory")
        .json(&json!({"entityType": "ORDER", "subscribeCreate": true, "destination": queue(&url)}))
        .build();
    let answer = stack.call("create-subscription", request).await;
    assert_eq!(
        answer.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let (status, problem) = parts(answer);
    assert_eq!(
        (status, field_of(&problem)),
        (400, "destination.sqs.queueUrl"),
        "{problem}"
    );
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("event-collector:tenant=mallory") && !detail.contains("acme"),
        "{problem}"
    );
    assert!(subscriptions(&stack, "mallory").await.is_empty());
    // … and an untagged queue of the account (the operator's, another stack's) neither
    let untagged = local::provision::queue_named(&sqs, &format!("alarms-{}", uuid::Uuid::now_v7().simple()))
        .await
        .expect("queue");
    assert_eq!(subscribe(&stack, "acme", queue(&untagged)).await.0, 400);

    // GIVEN the queue tagged for mallory while she subscribes it, acme subscribed
    // too before, then tagged for acme again
    assert_eq!(subscribe(&stack, "acme", queue(&url)).await.0, 201);
    let tag = |tenant: &'static str| sqs.tag_queue().queue_url(&url).tags(TENANT_TAG, tenant).send();
    tag("mallory").await.expect("tag");
    assert_eq!(subscribe(&stack, "mallory", queue(&url)).await.0, 201);
    tag("acme").await.expect("tag");
    let mut stream =
        StreamPoller::from_now_reading_with(&sdk, stack.stack.tables.of(&EVENTS), &stack.stack.mapping_sdk("fanout"))
            .await
            .expect("events stream");
    for (tenant, id) in [("mallory", "evt-mallory"), ("acme", "evt-acme")] {
        common::post_entity_event(&stack, tenant, id, "ORDER", "CREATE", &json!({"total": 1})).await;
    }
    // WHEN both orders are fanned out
    let fanout: Fanout = stack.stack.fanout("fanout", &sdk, stack.stack.fanout_config());
    assert!(
        fanout
            .stream_batch(&stream.poll().await.expect("records"))
            .await
            .is_empty()
    );
    // THEN acme's order arrives and mallory's does not: refused before any send
    // (IAM was never asked), read by mallory as for a queue that is gone
    let arrived: Vec<String> = common::drain(&sqs, &url)
        .await
        .iter()
        .map(|m| {
            let body: Value = serde_json::from_str(m.body().unwrap_or_default()).expect("json");
            body["eventId"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(arrived, ["evt-acme"]);
    assert!(stack.calls.take_refused().is_empty());
    let mallorys = &subscriptions(&stack, "mallory").await[0];
    let last_error = mallorys["delivery"]["lastError"].as_str().unwrap_or_default();
    assert!(last_error.starts_with("DESTINATION_UNREACHABLE: "), "{last_error}");
}

#[tokio::test]
async fn iam_lets_the_fan_out_send_in_the_stacks_account_only_to_what_a_tenant_tag_marks() {
    // GIVEN a queue of the stack's account tagged for acme, and one untagged
    let stack = TestStack::new().await;
    let sqs = aws_sdk_sqs::Client::new(&shared::aws::sdk_config().await);
    let tagged = local::provision::tenant_queue(&sqs, &format!("tagged-{}", uuid::Uuid::now_v7().simple()), "acme")
        .await
        .expect("queue");
    let untagged = local::provision::queue_named(&sqs, &format!("untagged-{}", uuid::Uuid::now_v7().simple()))
        .await
        .expect("queue");
    // WHEN the fan-out's role sends to each, whatever the code would check
    // (template.yaml's DeliverInOwnAccount, evaluated locally)
    let fanout = aws_sdk_sqs::Client::new(&stack.stack.sdk_for("fanout"));
    let send = |url: &str| fanout.send_message().queue_url(url).message_body("{}").send();
    // THEN IAM lets the tagged one through and refuses the other
    assert!(send(&tagged).await.is_ok());
    assert!(send(&untagged).await.is_err());
    let refused = stack.calls.take_refused();
    assert!(
        refused.len() == 1 && refused[0].contains("sqs:SendMessage") && refused[0].contains("untagged-"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn another_accounts_queue_is_reached_only_through_its_role_with_the_tenant_as_external_id() {
    // GIVEN a queue in the subscriber's own account, and a role there that trusts
    // the stack when it presents acme's tenant id
    let stack = TestStack::new().await;
    let sdk = shared::aws::sdk_config().await;
    let subscriber = aws_sdk_sqs::Client::new(
        &local::provision::account_of_role(&sdk, SUBSCRIBER_ACCOUNT)
            .await
            .expect("account"),
    );
    let url = subscriber
        .create_queue()
        .queue_name(format!("orders-{}", uuid::Uuid::now_v7().simple()))
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    assert!(url.contains(&format!("/{SUBSCRIBER_ACCOUNT}/")), "{url}");
    stack
        .stack
        .trust_policies()
        .expect("IAM enforced")
        .trust(DELIVERY_ROLE, "acme");
    let with_role = json!({"type": "SQS", "sqs": {"queueUrl": url, "region": "us-east-1", "roleArn": DELIVERY_ROLE}});
    // WHEN acme subscribes it without its authority THEN 400
    let (status, problem) = subscribe(&stack, "acme", queue(&url)).await;
    assert_eq!(
        (status, field_of(&problem)),
        (400, "destination.sqs.queueUrl"),
        "{problem}"
    );
    // WHEN acme subscribes it with the role, and beta names the same role
    assert_eq!(subscribe(&stack, "acme", with_role.clone()).await.0, 201);
    assert_eq!(subscribe(&stack, "beta", with_role).await.0, 201);
    let mut stream =
        StreamPoller::from_now_reading_with(&sdk, stack.stack.tables.of(&EVENTS), &stack.stack.mapping_sdk("fanout"))
            .await
            .expect("events stream");
    for (tenant, id) in [("acme", "evt-acme"), ("beta", "evt-beta")] {
        common::post_entity_event(&stack, tenant, id, "ORDER", "CREATE", &json!({"total": 1})).await;
    }
    let fanout: Fanout = stack.stack.fanout("fanout", &sdk, stack.stack.fanout_config());
    let records = stream.poll().await.expect("records");
    assert!(fanout.stream_batch(&records).await.is_empty());
    // THEN acme's event arrives in the subscriber's queue, on the first attempt
    let arrived = common::drain(&subscriber, &url).await;
    let ids: Vec<String> = arrived
        .iter()
        .map(|m| {
            let body: Value = serde_json::from_str(m.body().unwrap_or_default()).expect("json");
            body["eventId"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(ids, ["evt-acme"]);
    // AND beta's delivery failed where AWS would refuse it: AssumeRole with the wrong ExternalId
    // (once per try of the delivery)
    let refused = stack.calls.take_refused();
    assert!(
        !refused.is_empty()
            && refused
                .iter()
                .all(|r| r.contains("sts:AssumeRole") && r.contains("ExternalId beta")),
        "{refused:?}"
    );
    let beta = &subscriptions(&stack, "beta").await[0];
    assert_eq!(beta["delivery"]["consecutiveFailures"], 1, "{beta}");
    let last_error = beta["delivery"]["lastError"].as_str().unwrap_or_default();
    assert!(last_error.starts_with("ROLE_NOT_ASSUMED: "), "{last_error}");
}

#[tokio::test]
async fn a_failed_delivery_never_tells_whether_a_resource_exists() {
    // GIVEN a subscription to a queue that no longer exists
    let stack = TestStack::new().await;
    let sdk = shared::aws::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let name = format!("nothing-here-{}", uuid::Uuid::now_v7().simple());
    let missing = local::provision::tenant_queue(&sqs, &name, "acme")
        .await
        .expect("queue");
    assert_eq!(subscribe(&stack, "acme", queue(&missing)).await.0, 201);
    sqs.delete_queue().queue_url(&missing).send().await.expect("delete");
    let mut stream =
        StreamPoller::from_now_reading_with(&sdk, stack.stack.tables.of(&EVENTS), &stack.stack.mapping_sdk("fanout"))
            .await
            .expect("events stream");
    common::post_entity_event(&stack, "acme", "evt-1", "ORDER", "CREATE", &json!({"total": 1})).await;
    // WHEN it is fanned out
    let fanout: Fanout = stack.stack.fanout("fanout", &sdk, stack.stack.fanout_config());
    fanout.stream_batch(&stream.poll().await.expect("records")).await;
    // THEN the tenant reads a short code, the same as for a queue it may not use
    let subscription = &subscriptions(&stack, "acme").await[0];
    let last_error = subscription["delivery"]["lastError"].as_str().unwrap_or_default();
    assert!(last_error.starts_with("DESTINATION_UNREACHABLE: "), "{last_error}");
}

/// A caller of acme whose token grants `scope` (space-separated).
fn acme_with_scope(method: &str, path: &str, scope: &str) -> ApiRequest {
    ApiRequest::new(method, path)
        .header("x-twc-tenant", "acme")
        .claims(json!({"tenant": "acme", "sub": "client-1", "scope": scope}))
}

#[tokio::test]
async fn changing_configuration_needs_the_write_scope_and_pii_the_admin_scope() {
    let stack = TestStack::new().await;
    let sqs = aws_sdk_sqs::Client::new(&shared::aws::sdk_config().await);
    let name = format!("orders-{}", uuid::Uuid::now_v7().simple());
    let url = local::provision::tenant_queue(&sqs, &name, "acme")
        .await
        .expect("queue");
    let subscription = |psi: bool| json!({"entityType": "ORDER", "subscribeCreate": true, "includePsi": psi, "destination": queue(&url)});
    // GIVEN a token that may only read
    let read_only = "openid";
    // WHEN it creates a subscription THEN 403 naming the scope; reading still works
    let create = acme_with_scope("POST", "/api/v1/event-subscription", read_only)
        .json(&subscription(false))
        .build();
    let (status, problem) = parts(stack.call("create-subscription", create).await);
    assert_eq!(status, 403, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("event-collector/write"),
        "{problem}"
    );
    let list = acme_with_scope("GET", "/api/v1/event-subscription", read_only).build();
    assert_eq!(parts(stack.call("list-subscriptions", list).await).0, 200);
    // AND it may not set the tenant's SendGrid key (nor take it back)
    let key = json!({"api_key": "SG.k", "from_email": "news@acme.example"});
    let put = acme_with_scope("PUT", "/api/v1/settings/sendgrid", read_only)
        .json(&key)
        .build();
    assert_eq!(parts(stack.call("put-sendgrid-settings", put).await).0, 403);
    let delete = acme_with_scope("DELETE", "/api/v1/settings/sendgrid", read_only).build();
    assert_eq!(parts(stack.call("delete-sendgrid-settings", delete).await).0, 403);
    // AND it may not store events either (the events scope; see tests/scopes.rs)
    let event = json!({
        "id": "evt-1", "entity_id": "O-1", "entity_name": "ORDER", "event_source": "SYSTEM",
        "event_type": "ENTITY_EVENT", "event_payload": {"operation": "CREATE", "base64_encoded_payload_json": "e30="}
    });
    let post = acme_with_scope("POST", "/api/v1/events", read_only)
        .json(&event)
        .build();
    assert_eq!(parts(stack.call("create-event", post).await).0, 403);
    // GIVEN a token with the write scope only
    let writer = "event-collector/write";
    let plain = acme_with_scope("POST", "/api/v1/event-subscription", writer)
        .json(&subscription(false))
        .build();
    assert_eq!(parts(stack.call("create-subscription", plain).await).0, 201);
    // WHEN it asks for PII to be sent out THEN 403 naming the admin scope
    let with_psi = acme_with_scope("POST", "/api/v1/event-subscription", writer)
        .json(&subscription(true))
        .build();
    let (status, problem) = parts(stack.call("create-subscription", with_psi).await);
    assert_eq!(status, 403, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("event-collector/admin"),
        "{problem}"
    );
    // AND with the admin and personal-data scopes too, it may (tests/scopes.rs:
    // the admin scope alone is not enough)
    let admin = acme_with_scope(
        "POST",
        "/api/v1/event-subscription",
        "event-collector/write event-collector/admin event-collector/personal-data",
    )
    .json(&subscription(true))
    .build();
    assert_eq!(parts(stack.call("create-subscription", admin).await).0, 201);
}

#[tokio::test]
async fn a_tenant_whose_every_destination_fails_never_delays_another_tenants_delivery() {
    // GIVEN acme at its quota of 100 subscriptions, every one to a queue that no
    // longer exists, and globex with one healthy subscription
    let stack = TestStack::new().await;
    let sdk = shared::aws::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let functions = stack.functions();
    for i in 0..100 {
        let name = format!("missing-{i}-{}", uuid::Uuid::now_v7().simple());
        let missing = local::provision::tenant_queue(&sqs, &name, "acme")
            .await
            .expect("queue");
        let body = json!({"entityType": "ORDER", "subscribeCreate": true, "destination": queue(&missing)});
        let request = ApiRequest::new("POST", "/api/v1/event-subscription")
            .for_tenant("acme")
            .json(&body)
            .build();
        let (status, answer) = parts(
            functions
                .invoke("create-subscription", request)
                .await
                .expect("function"),
        );
        assert_eq!(status, 201, "{answer}");
        sqs.delete_queue().queue_url(&missing).send().await.expect("delete");
    }
    let healthy = local::provision::tenant_queue(&sqs, &format!("globex-{}", uuid::Uuid::now_v7().simple()), "globex")
        .await
        .expect("queue");
    assert_eq!(subscribe(&stack, "globex", queue(&healthy)).await.0, 201);
    let mut stream =
        StreamPoller::from_now_reading_with(&sdk, stack.stack.tables.of(&EVENTS), &stack.stack.mapping_sdk("fanout"))
            .await
            .expect("events stream");
    // WHEN both post events, interleaved in one stream batch
    for i in 0..5 {
        for tenant in ["acme", "globex"] {
            let id = format!("evt-{tenant}-{i}");
            common::post_entity_event(&stack, tenant, &id, "ORDER", "CREATE", &json!({"total": 1})).await;
        }
    }
    let fanout: Fanout = stack.stack.fanout("fanout", &sdk, stack.stack.fanout_config());
    let failed = fanout.stream_batch(&stream.poll().await.expect("records")).await;
    // THEN the batch succeeds (acme's failures wait on the retry queue, nothing is
    // retried with the batch) and globex got each event once, on the first attempt
    assert!(failed.is_empty(), "{failed:?}");
    // (the retry consumer never ran: what arrived came on the first attempt)
    assert_eq!(common::drain(&sqs, &healthy).await.len(), 5);
}

#[tokio::test]
async fn deliveries_beyond_a_tenants_share_go_to_the_retry_consumer_uncounted() {
    // GIVEN acme with three subscribed queues and a share of one delivery per invocation
    let stack = TestStack::new().await;
    let sdk = shared::aws::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let mut queues = Vec::new();
    for i in 0..3 {
        let name = format!("share-{i}-{}", uuid::Uuid::now_v7().simple());
        let url = local::provision::tenant_queue(&sqs, &name, "acme")
            .await
            .expect("queue");
        assert_eq!(subscribe(&stack, "acme", queue(&url)).await.0, 201);
        queues.push(url);
    }
    let mut stream =
        StreamPoller::from_now_reading_with(&sdk, stack.stack.tables.of(&EVENTS), &stack.stack.mapping_sdk("fanout"))
            .await
            .expect("events stream");
    common::post_entity_event(&stack, "acme", "evt-1", "ORDER", "CREATE", &json!({"total": 1})).await;
    let config = shared::fanout::FanoutConfig {
        tenant_budget: 1,
        ..stack.stack.fanout_config()
    };
    let fanout: Fanout = stack.stack.fanout("fanout", &sdk, config.clone());
    // WHEN the event is fanned out
    assert!(
        fanout
            .stream_batch(&stream.poll().await.expect("records"))
            .await
            .is_empty()
    );
    // THEN one queue has it now, and the retry consumer brings it to the others
    let mut arrived = 0;
    for url in &queues {
        arrived += common::drain(&sqs, url).await.len();
    }
    assert_eq!(arrived, 1);
    let retry: &Fanout = &stack.stack.fanout("fanout-retry", &sdk, config);
    let poller = local::queue_poller::QueuePoller::new(
        aws_sdk_sqs::Client::new(&stack.stack.mapping_sdk("fanout-retry")),
        &stack.stack.retry_queue_url,
    );
    while poller
        .poll_into(|messages| async move { retry.retry_batch(&messages).await })
        .await
        .expect("retry queue")
        > 0
    {}
    for url in &queues[..] {
        arrived += common::drain(&sqs, url).await.len();
    }
    assert_eq!(arrived, 3);
    // AND no subscription counts a failure
    for subscription in subscriptions(&stack, "acme").await {
        assert_eq!(subscription["delivery"]["consecutiveFailures"], 0, "{subscription}");
    }
}
