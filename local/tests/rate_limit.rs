//! A subscription's rate limit, through the whole local run: the events stream
//! into the fan-out, its lane on the paced FIFO queue, and fanout-paced (two
//! consumers, as two Lambda containers) into the subscriber's queue.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_sqs::types::MessageSystemAttributeName;
use common::{ApiRequest, TestStack, parts};
use local::crash::Crashes;
use local::event_sources::start_event_consumers;
use serde_json::{Value, json};
use shared::subscriptions::TENANT_TAG;

const TENANT: &str = "acme";
const EVENTS: usize = 30;
const RATE: usize = 5;

async fn tenant_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.create_queue()
        .queue_name(format!("{name}-{}", uuid::Uuid::now_v7().simple()))
        .tags(TENANT_TAG, TENANT)
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("queue url")
}

async fn subscribe(stack: &TestStack, queue_url: &str, rate_limit: Option<usize>) -> (u16, Value) {
    let mut body = json!({
        "entityType": "ORDER", "subscribeCreate": true,
        "destination": {"type": "SQS", "sqs": {"queueUrl": queue_url, "region": "us-east-1"}}
    });
    if let Some(rate) = rate_limit {
        body["rateLimit"] = json!(rate);
    }
    let request = ApiRequest::new("POST", "/api/v1/event-subscription")
        .for_tenant(TENANT)
        .json(&body)
        .build();
    parts(stack.call("create-subscription", request).await)
}

/// Reads `queue_url` until `count` messages came or `within` passed: each
/// message's event id and when the queue took it (its `SentTimestamp`: the
/// reader's own pace does not blur it), in arrival order.
async fn arrivals(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    count: usize,
    within: Duration,
) -> Vec<(String, Duration)> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    while seen.len() < count && Instant::now() < deadline {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .expect("receive");
        for message in received.messages.unwrap_or_default() {
            let body: Value = serde_json::from_str(message.body().unwrap_or_default()).expect("envelope");
            let sent: u64 = message.attributes().expect("attributes")[&MessageSystemAttributeName::SentTimestamp]
                .parse()
                .expect("milliseconds");
            let at = Duration::from_millis(sent);
            seen.push((body["eventId"].as_str().expect("eventId").to_owned(), at));
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
    }
    seen
}

#[tokio::test]
async fn a_rate_limited_subscription_gets_every_event_in_order_at_its_rate_beside_one_at_full_speed() {
    // GIVEN the local run's event consumers
    let stack = TestStack::new().await;
    let sdk = shared::aws::sdk_config().await;
    start_event_consumers(&sdk, &stack.stack, &Crashes::default())
        .await
        .expect("consumers");
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    // AND a subscription limited to 5 messages a second, and one without a limit
    let (limited_url, full_url) = (tenant_queue(&sqs, "limited").await, tenant_queue(&sqs, "full").await);
    let (status, limited) = subscribe(&stack, &limited_url, Some(RATE)).await;
    assert_eq!(status, 201, "{limited}");
    assert_eq!(limited["rateLimit"], json!(RATE), "the limit is stored and answered");
    let (status, full) = subscribe(&stack, &full_url, None).await;
    assert_eq!(status, 201, "{full}");
    assert!(full.get("rateLimit").is_none(), "{full}");

    stack.calls.take_counted();
    // WHEN 30 orders are posted at once
    let posted: Vec<String> = (0..EVENTS).map(|i| format!("evt-rate-{i:02}")).collect();
    for id in &posted {
        common::post_entity_event(&stack, TENANT, id, "ORDER", "CREATE", &json!({"total": 1})).await;
    }

    // THEN both get every event
    let (full, limited) = tokio::join!(
        arrivals(&sqs, &full_url, EVENTS, Duration::from_secs(30)),
        arrivals(&sqs, &limited_url, EVENTS, Duration::from_secs(60)),
    );
    let calls = stack.calls.take_counted();
    let mut by_operation = std::collections::BTreeMap::<(String, String), (usize, usize)>::new();
    for (function, operation, entries) in calls {
        let counted = by_operation.entry((function, operation)).or_default();
        counted.0 += 1;
        counted.1 += entries;
    }
    eprintln!("calls (function, operation): (calls, entries) for {EVENTS} events, two subscriptions");
    for ((function, operation), (calls, entries)) in &by_operation {
        eprintln!("{function:>14} {operation:<30} {calls:>4} {entries:>4}");
    }
    // What pacing costs (docs/api.md, "Rate limits"): fanout-paced's calls per
    // paced delivery, the queue mapping's receives and deletes aside.
    let paced_calls: usize = by_operation
        .iter()
        .filter(|((function, _), _)| function == "fanout-paced")
        .map(|(_, (calls, _))| calls)
        .sum();
    assert!(
        paced_calls <= 3 * EVENTS,
        "{paced_calls} calls for {EVENTS} paced deliveries"
    );
    let ids = |arrived: &[(String, Duration)]| arrived.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>();
    let mut full_ids = ids(&full);
    full_ids.sort();
    assert_eq!(full_ids, posted, "the unlimited subscription got every event once");
    // AND the limited one in the order they were posted
    assert_eq!(
        ids(&limited),
        posted,
        "the limited subscription got every event once, in order"
    );
    // AND no faster than 5 a second: 30 take at least 5 s from first to last,
    // and no stretch of k seconds holds more than 5 × (k + 1) (a second's grant
    // may arrive at the end of one second and the next at the start of another)
    let first = limited[0].1;
    let span = limited[EVENTS - 1].1 - first;
    assert!(
        span >= Duration::from_secs_f64((EVENTS - RATE) as f64 / RATE as f64 - 0.2),
        "30 deliveries at 5 a second came in {span:?}"
    );
    for (i, (_, start)) in limited.iter().enumerate() {
        for (j, (_, end)) in limited.iter().enumerate().skip(i) {
            let seconds = (*end - *start).as_secs_f64().floor() as usize;
            assert!(
                j - i < RATE * (seconds + 2),
                "{} deliveries within {:?}",
                j - i + 1,
                *end - *start
            );
        }
    }
    // AND the unlimited one was not held back with it: all there before the
    // limited one had half
    assert!(
        full[EVENTS - 1].1 < limited[EVENTS / 2].1,
        "the unlimited subscription's last arrival came after the limited one's half"
    );
}

#[tokio::test]
async fn a_rate_limit_outside_1_to_100_is_refused_naming_the_field() {
    let stack = TestStack::new().await;
    let sdk = shared::aws::sdk_config().await;
    let url = tenant_queue(&aws_sdk_sqs::Client::new(&sdk), "refused").await;
    for rate in [0, 101, -3] {
        let mut body = json!({
            "entityType": "ORDER", "subscribeCreate": true, "rateLimit": rate,
            "destination": {"type": "SQS", "sqs": {"queueUrl": url, "region": "us-east-1"}}
        });
        let request = ApiRequest::new("POST", "/api/v1/event-subscription")
            .for_tenant(TENANT)
            .json(&body)
            .build();
        let (status, problem) = parts(stack.call("create-subscription", request).await);
        assert_eq!(status, 400, "{rate}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "rateLimit", "{problem}");
        body["rateLimit"] = json!("fast");
        let request = ApiRequest::new("POST", "/api/v1/event-subscription")
            .for_tenant(TENANT)
            .json(&body)
            .build();
        let (status, problem) = parts(stack.call("create-subscription", request).await);
        assert_eq!(status, 400, "a string: {problem}");
    }
}
