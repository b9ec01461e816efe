//! Fan-out delivery to SQS, SNS and EventBridge through the real SDKs against
//! moto; what SNS and EventBridge deliver is read from SQS queues behind them.

mod common;

use aws_sdk_sqs::Client;
use common::{CallLog, drain};
use shared::fanout::{EventBridgeSender, OutgoingMessage, SnsSender, SqsSender};

async fn sqs() -> (Client, CallLog) {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1:"),
        "run with scripts/test (moto)"
    );
    let calls = CallLog::default();
    let sdk = shared::aws::sdk_config().await;
    let config = aws_sdk_sqs::config::Builder::from(&sdk)
        .interceptor(calls.clone())
        .build();
    (Client::from_conf(config), calls)
}

fn message(i: usize) -> OutgoingMessage {
    OutgoingMessage {
        body: format!(r#"{{"eventId":"evt-{i}"}}"#),
        attributes: vec![
            ("eventName".into(), "ORDER.CREATE".into()),
            ("tenant".into(), "acme".into()),
        ],
        ..OutgoingMessage::default()
    }
}

async fn queue(client: &Client, name: &str, fifo: bool) -> String {
    let mut request = client
        .create_queue()
        .queue_name(format!("{name}-{}", uuid::Uuid::now_v7().simple()));
    if fifo {
        request = client
            .create_queue()
            .queue_name(format!("{name}-{}.fifo", uuid::Uuid::now_v7().simple()))
            .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    }
    request.send().await.expect("queue").queue_url.expect("url")
}

#[tokio::test]
async fn twenty_five_messages_take_three_batch_calls_and_all_arrive() {
    let (client, calls) = sqs().await;
    let queue_url = queue(&client, "orders", false).await;
    calls.take();

    let undelivered = SqsSender::new(client.clone(), 3)
        .send(&queue_url, (0..25).map(message).collect())
        .await;

    assert!(undelivered.is_empty(), "{undelivered:?}");
    assert_eq!(calls.take(), ["SendMessageBatch"; 3], "⌈25/10⌉ calls, not 25");
    let received = drain(&client, &queue_url).await;
    assert_eq!(received.len(), 25);
    let attributes = received[0].message_attributes.as_ref().expect("attributes");
    assert_eq!(attributes["eventName"].string_value(), Some("ORDER.CREATE"));
}

#[tokio::test]
async fn fifo_queues_get_group_and_deduplication_ids() {
    let (client, _) = sqs().await;
    let queue_url = queue(&client, "orders", true).await;
    let messages = (0..3)
        .map(|i| OutgoingMessage {
            group_id: Some("ORD-1".into()),
            dedup_id: Some(format!("evt-{i}:sub-1")),
            ..message(i)
        })
        .collect();
    assert!(
        SqsSender::new(client.clone(), 3)
            .send(&queue_url, messages)
            .await
            .is_empty()
    );
    assert_eq!(drain(&client, &queue_url).await.len(), 3);
}

#[tokio::test]
async fn a_missing_queue_returns_every_message_as_undelivered() {
    let (client, _) = sqs().await;
    let missing = "http://127.0.0.1:1/123456789012/no-such-queue";
    let undelivered = SqsSender::new(client, 2)
        .send(missing, (0..12).map(message).collect())
        .await;
    assert_eq!(undelivered.len(), 12);
    assert!(undelivered.iter().all(|u| !u.reason.is_empty()));
}

async fn queue_arn(client: &Client, queue_url: &str) -> String {
    let attributes = client
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("attributes")
        .attributes
        .expect("attributes");
    attributes[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone()
}

#[tokio::test]
async fn sns_publishes_in_batches_to_its_subscribers() {
    let (sqs, _) = sqs().await;
    let sdk = shared::aws::sdk_config().await;
    let calls = CallLog::default();
    let sns = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(&sdk)
            .interceptor(calls.clone())
            .build(),
    );
    let topic = sns
        .create_topic()
        .name(format!("orders-{}", uuid::Uuid::now_v7().simple()))
        .send()
        .await
        .expect("topic")
        .topic_arn
        .expect("arn");
    let queue_url = queue(&sqs, "sns-sink", false).await;
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn(&sqs, &queue_url).await)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .expect("subscribe");
    calls.take();

    let undelivered = SnsSender::new(sns, 3)
        .send(&topic, (0..12).map(message).collect())
        .await;

    assert!(undelivered.is_empty(), "{undelivered:?}");
    let publishes = calls
        .take()
        .into_iter()
        .filter(|op| op == "PublishBatch" || op.is_empty())
        .count();
    assert_eq!(publishes, 2, "⌈12/10⌉ calls");
    assert_eq!(drain(&sqs, &queue_url).await.len(), 12);
}

#[tokio::test]
async fn eventbridge_entries_reach_the_rules_matching_their_detail_type() {
    let (sqs, _) = sqs().await;
    let sdk = shared::aws::sdk_config().await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let bus = format!("retail-{}", uuid::Uuid::now_v7().simple());
    events.create_event_bus().name(&bus).send().await.expect("bus");
    let queue_url = queue(&sqs, "bus-sink", false).await;
    events
        .put_rule()
        .name("order-created")
        .event_bus_name(&bus)
        .event_pattern(r#"{"source":["shop"],"detail-type":["shop/order/create"]}"#)
        .send()
        .await
        .expect("rule");
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("sink")
        .arn(queue_arn(&sqs, &queue_url).await)
        .build()
        .expect("target");
    events
        .put_targets()
        .rule("order-created")
        .event_bus_name(&bus)
        .targets(target)
        .send()
        .await
        .expect("targets");

    let with_type = |i, detail_type: &str| OutgoingMessage {
        detail_type: Some(detail_type.to_owned()),
        ..message(i)
    };
    // An envelope, as fan-out makes them, goes in seed 004's shape.
    let envelope = OutgoingMessage {
        body: serde_json::json!({
            "eventName": "ORDER.CREATE", "eventId": "evt-9", "tenant": "acme", "entityName": "ORDER",
            "entityId": "O-1", "operation": "CREATE", "eventSource": "APPLICATION", "eventType": "ENTITY_EVENT",
            "createdAt": 1795674605123_i64, "keyAttributes": {"correlation_id": "c-1"},
            "data": {"total": 1}, "fault": null, "subscriptionId": "sub-1"
        })
        .to_string(),
        ..with_type(9, "order/create")
    };
    let messages = vec![
        with_type(0, "order/create"),
        with_type(1, "order/delete"),
        with_type(2, "order/create"),
        envelope,
    ];
    // The stack's Source (a template parameter) prefixes the DetailType.
    let undelivered = EventBridgeSender::new(events, 3, "shop").send(&bus, messages).await;

    assert!(undelivered.is_empty(), "{undelivered:?}");
    let received = drain(&sqs, &queue_url).await;
    assert_eq!(received.len(), 3, "only shop/order/create matches the rule");
    let details: Vec<serde_json::Value> = received
        .iter()
        .map(|m| {
            serde_json::from_str::<serde_json::Value>(m.body().unwrap_or_default()).expect("JSON")["detail"].clone()
        })
        .collect();
    let detail = details
        .iter()
        .find(|d| d["id"] == "evt-9")
        .expect("the envelope's entry");
    assert_eq!(
        detail,
        &serde_json::json!({
            "id": "evt-9", "timestamp": 1795674605123_i64, "payload": {"total": 1}, "tenant": "acme",
            "entityName": "ORDER", "entityId": "O-1", "operation": "CREATE", "eventType": "ENTITY_EVENT",
            "keyAttributes": {"correlation_id": "c-1"}, "subscriptionId": "sub-1"
        })
    );
}

#[tokio::test]
async fn a_message_the_destination_refuses_for_itself_is_dead_lettered_at_once() {
    use shared::fanout::{
        DeadLetters, Delivery, Failed, Origin, RedeliveryPolicy, RetryQueues, SubscriptionItems, Target,
    };
    use shared::tenant::TenantId;
    // GIVEN three first failures: messages the destination refused as such (a
    // sender fault) for acme's subscription and for the stack's bus, and a
    // throttled call for globex's subscription
    let stack = common::TestStack::new().await;
    let dead_letters = || {
        DeadLetters::new(
            SubscriptionItems::new(
                stack.client.clone(),
                stack.stack.tables.of(&shared::storage::schema::DELIVERIES),
            )
            .keeping_for(chrono::Duration::days(14)),
        )
    };
    let (client, _) = sqs().await;
    let (retry, dead) = (
        queue(&client, "retry", false).await,
        queue(&client, "dead", false).await,
    );
    let failed = |tenant: &str, subscription: Option<&str>, reason: &str, permanent: bool| Failed {
        target: Target::own_bus("bus"),
        delivery: Delivery {
            message: message(1),
            origin: Origin {
                tenant: TenantId::parse(tenant).expect("tenant"),
                event_id: format!("evt-{tenant}"),
                subscription_id: subscription.map(str::to_owned),
                psi_fields: Vec::new(),
            },
            failures: 0,
            parked_since: None,
        },
        reason: reason.into(),
        permanent,
    };
    let queues = RetryQueues::new(
        client.clone(),
        retry.clone(),
        dead.clone(),
        dead_letters(),
        RedeliveryPolicy {
            max_failures: 8,
            base_delay_seconds: 0,
        },
    );

    // WHEN all are parked
    let unparked = queues
        .park(vec![
            failed("acme", Some("sub-acme"), "InvalidMessageContents: bad", true),
            failed("acme", None, "InvalidMessageContents: bad", true),
            failed("globex", Some("sub-globex"), "ThrottlingException", false),
        ])
        .await;

    // THEN acme's subscription keeps its delivery as a dead letter now, with its
    // reason; the bus entry goes to the operator's dead-letter queue; only
    // globex's waits for a retry
    assert!(unparked.is_empty());
    let acme = TenantId::parse("acme").expect("tenant");
    let (letters, _) = dead_letters()
        .page(&acme, "sub-acme", 10, None)
        .await
        .expect("dead letters");
    assert_eq!(letters.len(), 1);
    assert_eq!(
        (letters[0].failures, letters[0].last_error.as_str()),
        (1, "InvalidMessageContents: bad")
    );
    assert!(shared::fanout::redriven(&letters[0]).is_ok(), "it can be sent again");
    let dead = drain(&client, &dead).await;
    assert_eq!(dead.len(), 1);
    let parked = dead[0].message_attributes.as_ref().expect("attributes")[shared::fanout::DELIVERY_ATTRIBUTE]
        .string_value()
        .expect("metadata")
        .to_owned();
    assert!(
        parked.contains("acme") && parked.contains("InvalidMessageContents") && !parked.contains("sub-acme"),
        "{parked}"
    );
    let retried = drain(&client, &retry).await;
    assert_eq!(retried.len(), 1);
    assert!(
        retried[0].message_attributes.as_ref().expect("attributes")[shared::fanout::DELIVERY_ATTRIBUTE]
            .string_value()
            .is_some_and(|m| m.contains("globex"))
    );
}

#[tokio::test]
async fn a_delivery_retried_past_the_bound_becomes_its_subscriptions_dead_letter_not_a_lost_message() {
    use aws_sdk_sqs::types::MessageSystemAttributeName;
    use common::{ApiRequest, parts};
    use local::queue_poller::QueuePoller;
    use serde_json::json;
    use shared::fanout::{DeadLetters, Delivery, Failed, Origin, RetryQueues, SubscriptionItems, Target};
    use shared::tenant::TenantId;
    // GIVEN acme's subscription to a queue that is gone, and its delivery first
    // parked 49 hours ago, back on the retry queue (deferred by the fan-out)
    let stack = common::TestStack::new().await;
    let (client, _) = sqs().await;
    let gone = queue(&client, "gone", false).await;
    client
        .tag_queue()
        .queue_url(&gone)
        .tags(shared::subscriptions::TENANT_TAG, "acme")
        .send()
        .await
        .expect("tag");
    let body = json!({
        "entityType": "ORDER", "subscribeCreate": true,
        "destination": {"type": "SQS", "sqs": {"queueUrl": gone, "region": "us-east-1"}}
    });
    let create = ApiRequest::new("POST", "/api/v1/event-subscription")
        .for_tenant("acme")
        .json(&body)
        .build();
    let (status, created) = parts(stack.call("create-subscription", create).await);
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    client.delete_queue().queue_url(&gone).send().await.expect("delete");
    // … the retry consumer as template.yaml configures it (RETRY_MAX_AGE_HOURS 48)
    let config = stack.stack.config::<shared::fanout::FanoutConfig>("fanout-retry");
    assert_eq!(config.retry_max_age, chrono::Duration::hours(48));
    let queues = RetryQueues::new(
        client.clone(),
        stack.stack.retry_queue_url.clone(),
        stack.stack.dead_letter_queue_url.clone(),
        DeadLetters::new(
            SubscriptionItems::new(
                stack.client.clone(),
                stack.stack.tables.of(&shared::storage::schema::DELIVERIES),
            )
            .keeping_for(chrono::Duration::days(14)),
        ),
        config.retry,
    );
    let deferred = Failed {
        target: Target::own_bus("bus"),
        delivery: Delivery {
            message: message(1),
            origin: Origin {
                tenant: TenantId::parse("acme").expect("tenant"),
                event_id: "evt-1".into(),
                subscription_id: Some(id.clone()),
                psi_fields: Vec::new(),
            },
            failures: 2,
            parked_since: Some(chrono::Utc::now() - chrono::Duration::hours(49)),
        },
        reason: "DEFERRED".into(),
        permanent: false,
    };
    assert!(queues.defer(vec![deferred]).await.is_empty(), "parked");
    // … in acme's message group: moto takes a MessageGroupId on a standard queue, as SQS does
    let waiting = client
        .receive_message()
        .queue_url(&stack.stack.retry_queue_url)
        .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
        .visibility_timeout(0)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default();
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        waiting[0]
            .attributes
            .as_ref()
            .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId)),
        Some(&"acme".to_owned())
    );

    // WHEN the retry consumer takes it
    let sdk = shared::aws::sdk_config().await;
    let retry = stack.stack.fanout("fanout-retry", &sdk, config);
    let handed = QueuePoller::new(client.clone(), &stack.stack.retry_queue_url)
        .poll_into(|messages| {
            let retry = &retry;
            async move { retry.retry_batch(&messages).await }
        })
        .await
        .expect("retry queue");
    assert_eq!(handed, 1);

    // THEN it is not retried but listed as the subscription's dead letter, saying
    // why, and nothing is left to expire on the retry queue
    let list = ApiRequest::new("GET", &format!("/api/v1/event-subscription/{id}/dead-letters"))
        .for_tenant("acme")
        .path_param("id", &id)
        .build();
    let (status, letters) = parts(stack.call("list-dead-letters", list).await);
    assert_eq!(status, 200, "{letters}");
    assert_eq!(letters["items"][0]["eventId"], "evt-1", "{letters}");
    assert_eq!(
        letters["items"][0]["lastError"], "EXPIRED: retried for 49 h",
        "{letters}"
    );
    assert!(drain(&client, &stack.stack.retry_queue_url).await.is_empty());
    assert_eq!(stack.calls.refused(), Vec::<String>::new());
}
