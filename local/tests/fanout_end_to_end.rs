//! Fan-out end to end against moto: events POSTed through the API handler, the
//! events table's stream read as Lambda's event source mapping reads it, the
//! fan-out and retry handlers, and what arrives in real SQS queues (behind SNS
//! topics and EventBridge rules too). AWS calls are counted on the wire.

mod common;

use std::collections::BTreeMap;

use aws_lambda_events::event::dynamodb::EventRecord;
use aws_lambda_events::event::sqs::SqsMessage;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::{Message, QueueAttributeName};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{ApiRequest, CountingProxy, TestStack, parts};
use local::event_sources::STREAM_BATCH_SIZE;
use local::faults::{Fault, Injected};
use local::queue_poller::QueuePoller;
use local::stream_poller::StreamPoller;
use serde_json::{Value, json};
use shared::fanout::{Circuit, Fanout, FanoutConfig, RedeliveryPolicy};
use shared::storage::schema::{DELIVERIES, EVENTS};
use shared::subscriptions::TENANT_TAG;

const TENANT: &str = "acme";

struct Harness {
    stack: TestStack,
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
    events: aws_sdk_eventbridge::Client,
    stream: StreamPoller,
    fanout: Fanout,
    /// The retry queue's consumer: the same code, with fanout-retry's role.
    retry: Fanout,
    /// The paced queue's consumer (lanes: FIFO and rate-limited subscriptions).
    paced: Fanout,
    /// Every AWS call the fan-out makes.
    proxy: CountingProxy,
}

impl Harness {
    /// The stack, with the fan-out retrying at once (no backoff) after `max_failures`.
    async fn new(max_failures: u32) -> Self {
        Self::disabling_after(max_failures, chrono::Duration::hours(72)).await
    }

    /// `new`, deactivating a subscription that fails without a break for `disable_after`.
    async fn disabling_after(max_failures: u32, disable_after: chrono::Duration) -> Self {
        let stack = TestStack::new().await;
        let sdk = shared::aws::sdk_config().await;
        let proxy = CountingProxy::in_front_of_moto().await;
        let counted = proxy.sdk_config().await;
        let config = FanoutConfig {
            retry: RedeliveryPolicy {
                max_failures,
                base_delay_seconds: 0,
            },
            attempts: 2,
            disable_after,
            // Long enough that a test sees the circuit still open after a few calls.
            circuit: Circuit {
                failures: 10,
                cool_off: chrono::Duration::seconds(4),
            },
            ..stack.stack.fanout_config()
        };
        let stream = StreamPoller::from_now(&sdk, stack.stack.tables.of(&EVENTS))
            .await
            .expect("events stream");
        Self {
            sqs: aws_sdk_sqs::Client::new(&sdk),
            sns: aws_sdk_sns::Client::new(&sdk),
            events: aws_sdk_eventbridge::Client::new(&sdk),
            retry: stack.stack.fanout("fanout-retry", &counted, config.clone()),
            paced: stack.stack.fanout("fanout-paced", &counted, config.clone()),
            fanout: stack.stack.fanout("fanout", &counted, config),
            stream,
            proxy,
            stack,
        }
    }

    async fn queue(&self, name: &str) -> String {
        let created = self
            .sqs
            .create_queue()
            .queue_name(format!("{name}-{}", uuid::Uuid::now_v7().simple()))
            .tags(TENANT_TAG, TENANT)
            .send()
            .await
            .expect("queue");
        created.queue_url.expect("queue url")
    }

    async fn queue_length(&self, url: &str) -> usize {
        self.queue_count(url, QueueAttributeName::ApproximateNumberOfMessages)
            .await
    }

    /// One of the queue's approximate counts (visible, in flight, delayed).
    async fn queue_count(&self, url: &str, count: QueueAttributeName) -> usize {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(count.clone())
            .send()
            .await
            .expect("queue attributes");
        attributes.attributes.expect("attributes")[&count]
            .parse()
            .expect("a count")
    }

    async fn queue_arn(&self, url: &str) -> String {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes");
        attributes.attributes.expect("attributes")[&QueueAttributeName::QueueArn].clone()
    }

    /// An SNS topic whose messages land (raw) in a new queue: (topic ARN, queue URL).
    async fn topic_into_queue(&self, name: &str) -> (String, String) {
        let topic = self
            .sns
            .create_topic()
            .name(format!("{name}-{}", uuid::Uuid::now_v7().simple()))
            .tags(sns_tag())
            .send()
            .await
            .expect("topic")
            .topic_arn
            .expect("topic arn");
        let queue = self.queue(name).await;
        self.sns
            .subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(self.queue_arn(&queue).await)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .expect("subscribe");
        (topic, queue)
    }

    /// A rule on `bus` sending entries of `detail_type` to a new queue.
    async fn rule_into_queue(&self, bus: &str, detail_type: &str) -> String {
        let queue = self.queue("rule").await;
        let rule = format!("rule-{}", uuid::Uuid::now_v7().simple());
        self.events
            .put_rule()
            .name(&rule)
            .event_bus_name(bus)
            .event_pattern(
                json!({"source": ["event-collector"], "detail-type": [format!("event-collector/{detail_type}")]})
                    .to_string(),
            )
            .send()
            .await
            .expect("rule");
        let target = aws_sdk_eventbridge::types::Target::builder()
            .id("queue")
            .arn(self.queue_arn(&queue).await)
            .build()
            .expect("target");
        self.events
            .put_targets()
            .rule(&rule)
            .event_bus_name(bus)
            .targets(target)
            .send()
            .await
            .expect("targets");
        queue
    }

    /// Creates a subscription through the API; returns its id.
    async fn subscribe(&self, entity: &str, destination: Value) -> String {
        self.subscribe_filtered(entity, destination, Value::Null).await
    }

    /// A subscription to `entity` creates with content filter `filter` (null: none).
    async fn subscribe_filtered(&self, entity: &str, destination: Value, filter: Value) -> String {
        let body = json!({
            "entityType": entity, "subscribeCreate": true, "subscribeChange": false,
            "subscribeDelete": false, "destination": destination, "filter": filter
        });
        let request = ApiRequest::new("POST", "/api/v1/event-subscription")
            .for_tenant(TENANT)
            .json(&body)
            .build();
        let (status, created) = parts(self.stack.call("create-subscription", request).await);
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().expect("id").to_owned()
    }

    /// PUTs the subscription back as read, `active` set as given.
    async fn set_active(&self, id: &str, active: bool) -> Value {
        let mut body = self.subscription(id).await;
        body["active"] = json!(active);
        let request = ApiRequest::new("PUT", &format!("/api/v1/event-subscription/{id}"))
            .for_tenant(TENANT)
            .path_param("id", id)
            .json(&body)
            .build();
        let (status, updated) = parts(self.stack.call("update-subscription", request).await);
        assert_eq!(status, 200, "{updated}");
        updated
    }

    /// `GET …/{id}/dead-letters` as `tenant`.
    async fn dead_letters(&self, tenant: &str, id: &str) -> (u16, Value) {
        let request = ApiRequest::new("GET", &format!("/api/v1/event-subscription/{id}/dead-letters"))
            .for_tenant(tenant)
            .path_param("id", id)
            .build();
        parts(self.stack.call("list-dead-letters", request).await)
    }

    /// `POST …/{id}/replay` of `[from, to)` as `tenant`.
    async fn replay(&self, tenant: &str, id: &str, from: &str, to: &str) -> (u16, Value) {
        let request = ApiRequest::new("POST", &format!("/api/v1/event-subscription/{id}/replay"))
            .for_tenant(tenant)
            .path_param("id", id)
            .json(&json!({"from": from, "to": to}))
            .build();
        parts(self.stack.call("replay-subscription", request).await)
    }

    /// `GET …/{id}/replays/{replayId}` as `tenant`.
    async fn replay_progress(&self, tenant: &str, id: &str, replay_id: &str) -> (u16, Value) {
        let request = ApiRequest::new("GET", &format!("/api/v1/event-subscription/{id}/replays/{replay_id}"))
            .for_tenant(tenant)
            .path_param("id", id)
            .path_param("replayId", replay_id)
            .build();
        parts(self.stack.call("get-replay", request).await)
    }

    /// Runs the replay worker, reading one event a step (so every event is a
    /// page of its own), until its queue is empty.
    async fn run_replays(&self) {
        let worker = self.stack.stack.replay_worker().paging_by(1);
        let poller = QueuePoller::new(self.sqs.clone(), &self.stack.stack.replay_queue_url);
        while poller
            .poll_into(|messages| {
                let worker = &worker;
                async move { worker.queue_batch(&messages).await }
            })
            .await
            .expect("replay queue")
            > 0
        {}
    }

    /// Hands one task of the replay queue to the replay worker (reading one
    /// event a step) and returns its message, to be received again.
    async fn run_one_replay_step(&self) -> SqsMessage {
        let worker = self.stack.stack.replay_worker().paging_by(1);
        let poller = QueuePoller::new(self.sqs.clone(), &self.stack.stack.replay_queue_url);
        let mut taken = None;
        poller
            .poll_into(|messages| {
                let (worker, taken) = (&worker, &mut taken);
                async move {
                    assert_eq!(messages.len(), 1, "one replay task at a time");
                    *taken = messages.first().cloned();
                    worker.queue_batch(&messages).await
                }
            })
            .await
            .expect("replay queue");
        taken.expect("a replay task")
    }

    /// Deletes the replay queue's tasks unrun, as if their queueing had failed.
    async fn lose_replay_tasks(&self) -> usize {
        self.drain(&self.stack.stack.replay_queue_url).await.len()
    }

    /// Makes the replay look untouched for `minutes`: its last step and resume
    /// that long ago.
    async fn age_replay(&self, id: &str, replay_id: &str, minutes: i64) {
        let long_ago = shared::util::rfc3339_millis::format(&(chrono::Utc::now() - chrono::Duration::minutes(minutes)));
        aws_sdk_dynamodb::Client::new(&shared::aws::sdk_config().await)
            .update_item()
            .table_name(self.stack.stack.tables.of(&DELIVERIES))
            .key("pk", AttributeValue::S(format!("T#{TENANT}#S#{id}")))
            .key("sk", AttributeValue::S(format!("REPLAY#{replay_id}")))
            .update_expression("SET startedAt = :then, advancedAt = :then, resumedAt = :then")
            .expression_attribute_values(":then", AttributeValue::S(long_ago))
            .send()
            .await
            .expect("age the replay");
    }

    /// A replay's hold on deliveries-table item `(pk, sk)` for another hour, as
    /// replay `replay_id` of subscription `subscription_id` takes it: one whose
    /// release was lost.
    async fn keep_for_an_hour(&self, pk: &str, sk: &str, (replay_id, subscription_id): (&str, &str)) {
        aws_sdk_dynamodb::Client::new(&shared::aws::sdk_config().await)
            .put_item()
            .table_name(self.stack.stack.tables.of(&DELIVERIES))
            .item("pk", AttributeValue::S(pk.into()))
            .item("sk", AttributeValue::S(sk.into()))
            .item("replay_id", AttributeValue::S(replay_id.into()))
            .item("subscription_id", AttributeValue::S(subscription_id.into()))
            .item(
                "until",
                AttributeValue::N((chrono::Utc::now().timestamp() + 3600).to_string()),
            )
            .send()
            .await
            .expect("a kept hold");
    }

    /// `GET …/{id}/deliveries` as `tenant`.
    async fn deliveries(&self, tenant: &str, id: &str) -> (u16, Value) {
        let request = ApiRequest::new("GET", &format!("/api/v1/event-subscription/{id}/deliveries"))
            .for_tenant(tenant)
            .path_param("id", id)
            .build();
        parts(self.stack.call("list-deliveries", request).await)
    }

    /// `GET /api/v1/events/{eventId}/deliveries` as `tenant`.
    async fn event_deliveries(&self, tenant: &str, event_id: &str) -> (u16, Value) {
        let request = ApiRequest::new("GET", &format!("/api/v1/events/{event_id}/deliveries"))
            .for_tenant(tenant)
            .path_param("eventId", event_id)
            .build();
        parts(self.stack.call("list-event-deliveries", request).await)
    }

    /// `POST …/{id}/redrive` as `tenant`.
    async fn redrive(&self, tenant: &str, id: &str) -> (u16, Value) {
        let request = ApiRequest::new("POST", &format!("/api/v1/event-subscription/{id}/redrive"))
            .for_tenant(tenant)
            .path_param("id", id)
            .build();
        parts(self.stack.call("redrive-subscription", request).await)
    }

    async fn subscription(&self, id: &str) -> Value {
        let request = ApiRequest::new("GET", &format!("/api/v1/event-subscription/{id}"))
            .for_tenant(TENANT)
            .path_param("id", id)
            .build();
        parts(self.stack.call("get-subscription", request).await).1
    }

    async fn deactivate(&self, id: &str) {
        let request = ApiRequest::new("PUT", &format!("/api/v1/event-subscription/{id}/deactivate"))
            .for_tenant(TENANT)
            .path_param("id", id)
            .build();
        let (status, _) = parts(self.stack.call("deactivate-subscription", request).await);
        assert_eq!(status, 200);
    }

    async fn post_event(&self, id: &str, entity: &str, operation: &str) {
        self.post_payload(id, entity, operation, &json!({"total": 42})).await;
    }

    /// Stores event `id` with `payload`.
    async fn post_payload(&self, id: &str, entity: &str, operation: &str, payload: &Value) {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(payload.to_string());
        let body = json!({
            "id": id, "entity_id": format!("{entity}-1"), "entity_name": entity,
            "event_source": "APPLICATION", "event_type": "ENTITY_EVENT",
            "event_payload": {"operation": operation, "base64_encoded_payload_json": encoded}
        });
        let request = ApiRequest::new("POST", "/api/v1/events")
            .for_tenant(TENANT)
            .json(&body)
            .build();
        let (status, answer) = parts(self.stack.call("create-event", request).await);
        assert!(status == 201 || status == 200, "{status} {answer}");
    }

    /// What the stream has for Lambda now.
    async fn stream_records(&mut self) -> Vec<EventRecord> {
        self.stream.poll().await.expect("stream records")
    }

    /// Hands the stream's new records to the fan-out in Lambda-sized batches;
    /// returns the batch item failures.
    async fn fan_out(&mut self) -> Vec<String> {
        let records = self.stream_records().await;
        let mut failures = Vec::new();
        for batch in records.chunks(STREAM_BATCH_SIZE) {
            failures.extend(self.fanout.stream_batch(batch).await);
        }
        self.drain_lanes().await;
        failures
    }

    /// Runs fanout-paced until no lane has a delivery to send now.
    async fn drain_lanes(&self) {
        self.consume(&self.stack.stack.paced_queue_url, |messages| async move {
            self.paced.paced_batch(&messages).await
        })
        .await;
    }

    /// Runs the retry consumer until its queue is empty.
    async fn drain_retries(&self) {
        self.consume(&self.stack.stack.retry_queue_url, |messages| async move {
            self.retry.retry_batch(&messages).await
        })
        .await;
    }

    /// Hands `queue_url`'s messages to `consumer` until none is left to receive.
    async fn consume<F, Fut>(&self, queue_url: &str, consumer: F)
    where
        F: Fn(Vec<aws_lambda_events::event::sqs::SqsMessage>) -> Fut,
        Fut: std::future::Future<Output = Vec<String>>,
    {
        let poller = QueuePoller::new(self.sqs.clone(), queue_url);
        while poller.poll_into(&consumer).await.expect(queue_url) > 0 {}
    }

    async fn drain(&self, queue_url: &str) -> Vec<Message> {
        common::drain(&self.sqs, queue_url).await
    }

    /// Makes the deleted queue `queue_url` again, tagged for the tenant.
    async fn recreate(&self, queue_url: &str) {
        let name = queue_url.rsplit('/').next().expect("queue name");
        self.sqs
            .create_queue()
            .queue_name(name)
            .tags(TENANT_TAG, TENANT)
            .send()
            .await
            .expect("recreate");
    }

    /// The event ids of everything in `queue_url`, sorted.
    async fn event_ids(&self, queue_url: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .envelopes(queue_url)
            .await
            .iter()
            .map(|e| e["eventId"].as_str().unwrap_or_default().to_owned())
            .collect();
        ids.sort();
        ids
    }

    /// The JSON bodies of everything in `queue_url` (EventBridge's `detail` unwrapped).
    async fn envelopes(&self, queue_url: &str) -> Vec<Value> {
        self.drain(queue_url)
            .await
            .iter()
            .map(|m| {
                let body: Value = serde_json::from_str(m.body().unwrap_or_default()).expect("JSON message");
                match body.get("detail") {
                    Some(detail) => detail.clone(),
                    None => body,
                }
            })
            .collect()
    }
}

/// The tag that makes a topic or bus of the stack's account acme's to subscribe.
fn sns_tag() -> aws_sdk_sns::types::Tag {
    aws_sdk_sns::types::Tag::builder()
        .key(TENANT_TAG)
        .value(TENANT)
        .build()
        .expect("tag")
}

fn bus_tag() -> aws_sdk_eventbridge::types::Tag {
    aws_sdk_eventbridge::types::Tag::builder()
        .key(TENANT_TAG)
        .value(TENANT)
        .build()
        .expect("tag")
}

fn sqs_destination(queue_url: &str) -> Value {
    json!({"type": "SQS", "sqs": {"queueUrl": queue_url, "region": "us-east-1"}})
}

fn counts(calls: Vec<String>) -> BTreeMap<String, usize> {
    calls.into_iter().fold(BTreeMap::new(), |mut counts, call| {
        *counts.entry(call).or_default() += 1;
        counts
    })
}

#[tokio::test]
async fn an_event_reaches_every_matching_destination_and_nothing_else() {
    // GIVEN subscriptions to ORDER creates on a queue, an SNS topic and a partner
    // bus, one for CUSTOMER events, one deactivated; and a rule on the stack's own bus
    let mut h = Harness::new(8).await;
    let orders = h.queue("orders").await;
    let (topic, behind_topic) = h.topic_into_queue("topic").await;
    let partner_bus = format!("partner-{}", uuid::Uuid::now_v7().simple());
    h.events
        .create_event_bus()
        .name(&partner_bus)
        .tags(bus_tag())
        .send()
        .await
        .expect("bus");
    let partner_arn = format!("arn:aws:events:us-east-1:123456789012:event-bus/{partner_bus}");
    let behind_partner = h.rule_into_queue(&partner_bus, "order/create").await;
    let behind_own_bus = h.rule_into_queue(&h.stack.stack.event_bus, "order/create").await;
    let customers = h.queue("customers").await;
    let stopped = h.queue("stopped").await;
    let to_queue = h.subscribe("ORDER", sqs_destination(&orders)).await;
    h.subscribe(
        "ORDER",
        json!({"type": "SNS", "sns": {"topicArn": topic, "region": "us-east-1"}}),
    )
    .await;
    h.subscribe(
        "ORDER",
        json!({"type": "EVENTBRIDGE", "eventBridge": {"eventBusArn": partner_arn, "region": "us-east-1"}}),
    )
    .await;
    h.subscribe("CUSTOMER", sqs_destination(&customers)).await;
    let deactivated = h.subscribe("ORDER", sqs_destination(&stopped)).await;
    h.deactivate(&deactivated).await;

    // WHEN an ORDER CREATE and an ORDER UPDATE are posted and the stream fanned out
    h.post_event("evt-create", "ORDER", "CREATE").await;
    h.post_event("evt-update", "ORDER", "UPDATE").await;
    let failures = h.fan_out().await;

    // THEN every matching destination has the create, once, in the one envelope
    assert!(failures.is_empty(), "{failures:?}");
    let at_queue = h.envelopes(&orders).await;
    assert_eq!(at_queue.len(), 1, "{at_queue:?}");
    assert_eq!(at_queue[0]["eventId"], "evt-create");
    assert_eq!(at_queue[0]["eventName"], "ORDER.CREATE");
    assert_eq!(at_queue[0]["subscriptionId"], json!(to_queue));
    assert_eq!(at_queue[0]["data"], json!({"total": 42}));
    let behind_sns = h.envelopes(&behind_topic).await;
    assert_eq!(behind_sns.len(), 1, "{behind_sns:?}");
    assert_eq!(behind_sns[0]["eventId"], "evt-create");
    // … buses get seed 004's shape: {id, timestamp, payload} and the routing fields
    let at_partner = h.envelopes(&behind_partner).await;
    assert_eq!(at_partner.len(), 1, "{at_partner:?}");
    assert_eq!(at_partner[0]["id"], "evt-create");
    assert_eq!(at_partner[0]["payload"], json!({"total": 42}));
    assert!(at_partner[0]["timestamp"].is_i64());
    assert_eq!(at_partner[0]["entityName"], "ORDER");
    // … the stack's own bus got both events, without a subscription id
    let own = h.envelopes(&behind_own_bus).await;
    assert_eq!(own.len(), 1, "the rule matches order/create only: {own:?}");
    assert_eq!(own[0]["subscriptionId"], Value::Null);
    // … and the CUSTOMER and deactivated subscriptions got nothing
    assert!(h.drain(&customers).await.is_empty());
    assert!(h.drain(&stopped).await.is_empty());
}

#[tokio::test]
async fn a_content_filter_lets_through_only_the_events_it_matches() {
    // GIVEN an ORDER subscription for totals of at least 100 outside the US, and an unfiltered one
    let mut h = Harness::new(8).await;
    let (big, all) = (h.queue("big").await, h.queue("all").await);
    let pattern = json!({"data": {"total": [{"numeric": [">=", 100]}], "country": [{"anything-but": ["US"]}]}});
    let filtered = h
        .subscribe_filtered("ORDER", sqs_destination(&big), pattern.clone())
        .await;
    h.subscribe("ORDER", sqs_destination(&all)).await;

    // WHEN three orders are posted and the stream fanned out
    h.post_payload("evt-small", "ORDER", "CREATE", &json!({"total": 42, "country": "CA"}))
        .await;
    h.post_payload("evt-big", "ORDER", "CREATE", &json!({"total": 120.5, "country": "CA"}))
        .await;
    h.post_payload("evt-us", "ORDER", "CREATE", &json!({"total": 500, "country": "US"}))
        .await;
    let failures = h.fan_out().await;

    // THEN the filtered queue has only the order its pattern matches, the other has all three
    assert!(failures.is_empty(), "{failures:?}");
    let at_big: Vec<Value> = h.envelopes(&big).await;
    assert_eq!(
        at_big.iter().map(|e| e["eventId"].clone()).collect::<Vec<_>>(),
        [json!("evt-big")]
    );
    assert_eq!(h.envelopes(&all).await.len(), 3);
    // AND the subscription reads its filter back as written
    assert_eq!(h.subscription(&filtered).await["filter"], pattern);
}

#[tokio::test]
async fn payload_numbers_reach_every_kind_of_destination_and_read_back_as_sent() {
    // GIVEN ORDER subscriptions on a queue, a FIFO queue, an SNS topic and a partner bus
    let mut h = Harness::new(8).await;
    let queue = h.queue("exact").await;
    let fifo = h
        .sqs
        .create_queue()
        .queue_name(format!("exact-{}.fifo", uuid::Uuid::now_v7().simple()))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .tags(TENANT_TAG, TENANT)
        .send()
        .await
        .expect("FIFO queue")
        .queue_url
        .expect("url");
    let (topic, behind_topic) = h.topic_into_queue("exact").await;
    let bus = format!("exact-{}", uuid::Uuid::now_v7().simple());
    h.events
        .create_event_bus()
        .name(&bus)
        .tags(bus_tag())
        .send()
        .await
        .expect("bus");
    let behind_bus = h.rule_into_queue(&bus, "order/create").await;
    h.subscribe("ORDER", sqs_destination(&queue)).await;
    h.subscribe("ORDER", sqs_destination(&fifo)).await;
    h.subscribe(
        "ORDER",
        json!({"type": "SNS", "sns": {"topicArn": topic, "region": "us-east-1"}}),
    )
    .await;
    let bus_arn = format!("arn:aws:events:us-east-1:123456789012:event-bus/{bus}");
    h.subscribe(
        "ORDER",
        json!({"type": "EVENTBRIDGE", "eventBridge": {"eventBusArn": bus_arn, "region": "us-east-1"}}),
    )
    .await;

    // WHEN an event whose payload has numbers no f64 holds is posted and fanned out
    let sent = r#"{"id":123456789012345678901234,"amt":0.12345678901234567890}"#;
    let body = json!({
        "id": "evt-exact", "entity_id": "ORD-1", "entity_name": "ORDER",
        "event_source": "APPLICATION", "event_type": "ENTITY_EVENT",
        "event_payload": {"operation": "CREATE", "base64_encoded_payload_json": STANDARD.encode(sent)}
    });
    let request = ApiRequest::new("POST", "/api/v1/events")
        .for_tenant(TENANT)
        .json(&body)
        .build();
    assert_eq!(parts(h.stack.call("create-event", request).await).0, 201);
    assert!(h.fan_out().await.is_empty());

    // THEN every queue's and topic's message has the payload's text as sent
    let digits = ["123456789012345678901234", "0.12345678901234567890"];
    for (destination, url) in [("queue", &queue), ("FIFO queue", &fifo), ("topic", &behind_topic)] {
        let messages = h.drain(url).await;
        assert_eq!(messages.len(), 1, "{destination}: {messages:?}");
        let text = messages[0].body().unwrap_or_default();
        assert!(digits.iter().all(|d| text.contains(d)), "{destination}: {text}");
    }
    // … the bus entry's Detail too (moto's rule re-renders the decimal as a Python
    // float on its way to the queue behind it, so that one is checked as put)
    let put = h.proxy.bodies.take();
    let put = put
        .iter()
        .find(|b| b.contains("Detail") && b.contains(&bus))
        .expect("the bus entry");
    assert!(digits.iter().all(|d| put.contains(d)), "{put}");
    let behind_bus = h.drain(&behind_bus).await;
    assert_eq!(behind_bus.len(), 1, "{behind_bus:?}");
    assert!(behind_bus[0].body().unwrap_or_default().contains(digits[0]));
    // … and the event reads back with it, alone and in its entity's listing
    let request = ApiRequest::new("GET", "/api/v1/events/evt-exact")
        .for_tenant(TENANT)
        .path_param("eventId", "evt-exact")
        .build();
    let (status, read) = parts(h.stack.call("get-event", request).await);
    let request = ApiRequest::new("GET", "/api/v1/events")
        .for_tenant(TENANT)
        .query("entity_name", "ORDER")
        .query("entity_id", "ORD-1")
        .build();
    let (listed, page) = parts(h.stack.call("list-events", request).await);
    assert_eq!((status, listed), (200, 200), "{read} {page}");
    for event in [&read, &page["items"][0]] {
        let payload = event["event_payload"]["base64_encoded_payload_json"]
            .as_str()
            .expect("a payload");
        assert_eq!(STANDARD.decode(payload).ok(), Some(sent.as_bytes().to_vec()), "{event}");
    }
}

#[tokio::test]
async fn a_thousand_events_to_three_subscribers_take_a_tenth_of_the_calls() {
    // GIVEN three queue subscriptions
    let mut h = Harness::new(8).await;
    let mut queues = Vec::new();
    for name in ["a", "b", "c"] {
        let queue = h.queue(name).await;
        h.subscribe("ORDER", sqs_destination(&queue)).await;
        queues.push(queue);
    }
    // WHEN 1,000 events are posted and fanned out in Lambda's batches of 100
    for i in 0..1000 {
        h.post_event(&format!("evt-{i:04}"), "ORDER", "CREATE").await;
    }
    let records = h.stream_records().await;
    assert_eq!(records.len(), 1000);
    h.proxy.calls.take();
    let (mut failures, mut calls, mut arrived) = (Vec::new(), Vec::new(), vec![0; queues.len()]);
    for batch in records.chunks(STREAM_BATCH_SIZE) {
        failures.extend(h.fanout.stream_batch(batch).await);
        calls.extend(h.proxy.calls.take());
        // Counted and purged per batch, not drained: moto's SQS is quadratic in a queue's length.
        for (queue, arrived) in queues.iter().zip(&mut arrived) {
            *arrived += h.queue_length(queue).await;
            h.sqs.purge_queue().queue_url(queue).send().await.expect("purge");
        }
    }
    // THEN every delivery arrives, in ⌈1000/10⌉ calls per destination, not 1000
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(arrived, [1000; 3]);
    let calls = counts(calls);
    assert_eq!(calls.get("SendMessageBatch"), Some(&300), "{calls:?}");
    assert_eq!(calls.get("PutEvents"), Some(&100), "own bus: {calls:?}");
    // one subscription Query per tenant per batch at most (the cache may save some)
    assert!(calls.get("Query").copied().unwrap_or_default() <= 10, "{calls:?}");
}

#[tokio::test]
async fn a_subscription_with_its_own_key_is_sent_with_it_and_its_secret_decrypted_once() {
    // GIVEN a queue subscription with the subscriber's own access key
    let mut h = Harness::new(8).await;
    let queue = h.queue("own-key").await;
    h.subscribe(
        "ORDER",
        json!({"type": "SQS", "sqs": {"queueUrl": queue, "region": "us-east-1",
               "accessKey": "AKIASUBSCRIBER000001", "accessSecret": "subscriber/secret/key/0000000000000000000"}}),
    )
    .await;
    h.proxy.signers.take();
    // WHEN two stream batches are fanned out
    for i in 0..2 {
        h.post_event(&format!("evt-{i}"), "ORDER", "CREATE").await;
        assert!(h.fan_out().await.is_empty());
    }
    // THEN the queue's calls are signed with that key, and KMS opened the secret once
    let signers = h.proxy.signers.take();
    let sends: Vec<&String> = signers.iter().filter(|s| s.starts_with("SendMessageBatch")).collect();
    assert_eq!(sends, ["SendMessageBatch by AKIASUBSCRIBER000001"; 2], "{signers:?}");
    assert_eq!(
        signers.iter().filter(|s| s.starts_with("Decrypt")).count(),
        1,
        "{signers:?}"
    );
    assert!(
        signers
            .iter()
            .any(|s| s.starts_with("PutEvents by ") && !s.contains("AKIASUBSCRIBER")),
        "the stack's bus is reached with the function's own credentials: {signers:?}"
    );
    assert_eq!(h.envelopes(&queue).await.len(), 2);
}

#[tokio::test]
async fn a_broken_subscriber_goes_to_retry_then_its_dead_letters_which_redrive_sends_again() {
    // GIVEN a healthy subscription and two whose queues no longer exist
    let mut h = Harness::new(3).await;
    let healthy = h.queue("healthy").await;
    let missing = h.queue("gone").await;
    let also_missing = h.queue("also-gone").await;
    let fine = h.subscribe("ORDER", sqs_destination(&healthy)).await;
    let broken = h.subscribe("ORDER", sqs_destination(&missing)).await;
    let other = h.subscribe("ORDER", sqs_destination(&also_missing)).await;
    for url in [&missing, &also_missing] {
        h.sqs.delete_queue().queue_url(url).send().await.expect("delete");
    }

    // WHEN two events are fanned out
    h.post_event("evt-1", "ORDER", "CREATE").await;
    h.post_event("evt-2", "ORDER", "CREATE").await;
    let failures = h.fan_out().await;

    // THEN the records count as handled, the healthy queue has both events, and
    // the broken subscribers' deliveries wait on the retry queue
    assert!(failures.is_empty(), "parked deliveries are handled: {failures:?}");
    assert_eq!(h.envelopes(&healthy).await.len(), 2);
    let health = &h.subscription(&broken).await["delivery"];
    assert_eq!(health["consecutiveFailures"], 2, "{health}");
    assert!(health["lastError"].as_str().is_some_and(|e| !e.is_empty()), "{health}");

    // WHEN the retry consumer runs until its queue is empty (no backoff in this test)
    h.drain_retries().await;

    // THEN after the last attempt both deliveries are each subscription's dead
    // letters, with their last error; nothing is left for the operator's queue
    let (status, letters) = h.dead_letters(TENANT, &broken).await;
    assert_eq!(status, 200, "{letters}");
    let items = letters["items"].as_array().expect("items");
    assert_eq!(ids_of_events(items), ["evt-1", "evt-2"]);
    assert_eq!(items[0]["failures"], 3);
    assert!(
        items[0]["lastError"].as_str().is_some_and(|e| !e.is_empty()),
        "{letters}"
    );
    assert_eq!(
        h.dead_letters(TENANT, &other).await.1["items"].as_array().map(Vec::len),
        Some(2)
    );
    assert!(h.drain(&h.stack.stack.dead_letter_queue_url).await.is_empty());
    assert_eq!(h.subscription(&broken).await["delivery"]["consecutiveFailures"], 6);
    assert!(
        h.envelopes(&healthy).await.is_empty(),
        "retries never resend to healthy subscribers"
    );
    // AND the delivery history shows every failed attempt, newest first, and a
    // sampled success of the healthy subscription with its latency
    let (status, history) = h.deliveries(TENANT, &broken).await;
    assert_eq!(status, 200, "{history}");
    let attempts: Vec<(String, i64, String)> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| {
            (
                a["eventId"].as_str().unwrap_or_default().to_owned(),
                a["attempt"].as_i64().unwrap_or_default(),
                a["outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(attempts.len(), 6, "{history}");
    assert!(attempts.iter().all(|(_, _, outcome)| outcome == "failed"), "{history}");
    assert_eq!(attempts[0].1, 3, "the newest first: {history}");
    assert!(history["items"][0]["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(
        (&history["hourly"][0]["delivered"], &history["hourly"][0]["failed"]),
        (&json!(0), &json!(6)),
        "exact counts this hour: {history}"
    );
    let sampled = h.deliveries(TENANT, &fine).await.1;
    assert_eq!(sampled["items"].as_array().map(Vec::len), Some(1), "{sampled}");
    assert_eq!(
        sampled["hourly"][0]["delivered"], 2,
        "both counted, one sampled: {sampled}"
    );
    assert_eq!(sampled["items"][0]["outcome"], "delivered");
    assert!(sampled["items"][0]["latencyMs"].is_u64(), "{sampled}");
    // AND another tenant knows neither the subscription nor its dead letters and history
    assert_eq!(h.dead_letters("globex", &broken).await.0, 404);
    assert_eq!(h.deliveries("globex", &broken).await.0, 404);
    assert_eq!(h.redrive("globex", &broken).await.0, 404);

    // WHEN the broken queue is back (same name, same URL) and its dead letters are redriven
    h.recreate(&missing).await;
    let (status, redriven) = h.redrive(TENANT, &broken).await;
    assert_eq!(status, 202, "{redriven}");
    assert_eq!(redriven, json!({"redriven": 2, "more": false}));
    h.drain_retries().await;

    // THEN exactly the missed events arrive, its dead letters are gone, and the
    // other subscription's are left alone
    assert_eq!(ids_of_events(&h.envelopes(&missing).await), ["evt-1", "evt-2"]);
    assert_eq!(h.dead_letters(TENANT, &broken).await.1["items"], json!([]));
    assert_eq!(
        h.dead_letters(TENANT, &other).await.1["items"].as_array().map(Vec::len),
        Some(2)
    );
    assert!(h.envelopes(&healthy).await.is_empty());
    assert_eq!(h.stack.calls.refused(), Vec::<String>::new());
}

#[tokio::test]
async fn an_event_lists_every_attempt_to_deliver_it_to_its_tenant_only() {
    // GIVEN a tenant with two subscriptions: one on a working queue, one on a
    // queue that does not exist (retried once, then given up on)
    let mut h = Harness::new(2).await;
    let working = h.queue("working").await;
    let missing = h.queue("missing").await;
    let fine = h.subscribe("ORDER", sqs_destination(&working)).await;
    let broken = h.subscribe("ORDER", sqs_destination(&missing)).await;
    h.sqs.delete_queue().queue_url(&missing).send().await.expect("delete");

    // WHEN an event is posted and fanned out
    h.post_event("evt-traced", "ORDER", "CREATE").await;
    assert!(h.fan_out().await.is_empty());

    // THEN its deliveries list a success for the working subscription and a
    // failure, with its error, for the other
    let (status, deliveries) = h.event_deliveries(TENANT, "evt-traced").await;
    assert_eq!(status, 200, "{deliveries}");
    let of = |deliveries: &Value, id: &str| -> Vec<Value> {
        deliveries["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|a| a["subscriptionId"] == json!(id))
            .cloned()
            .collect()
    };
    let delivered = of(&deliveries, &fine);
    assert_eq!(delivered.len(), 1, "{deliveries}");
    assert_eq!(
        (
            &delivered[0]["attempt"],
            &delivered[0]["outcome"],
            &delivered[0]["error"]
        ),
        (&json!(1), &json!("delivered"), &Value::Null),
        "{deliveries}"
    );
    assert!(delivered[0]["latencyMs"].is_u64(), "{deliveries}");
    let failed = of(&deliveries, &broken);
    assert_eq!(failed.len(), 1, "{deliveries}");
    assert_eq!(
        (&failed[0]["attempt"], &failed[0]["outcome"]),
        (&json!(1), &json!("failed"))
    );
    assert!(
        failed[0]["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{deliveries}"
    );
    assert!(failed[0]["at"].is_string(), "{deliveries}");
    assert_eq!(deliveries["next_token"], Value::Null);

    // WHEN the retry consumer tries the broken one again, and gives up
    h.drain_retries().await;
    // THEN that attempt is listed after the first, and the working one was not sent again
    let (_, deliveries) = h.event_deliveries(TENANT, "evt-traced").await;
    let attempts: Vec<(Value, Value)> = of(&deliveries, &broken)
        .iter()
        .map(|a| (a["attempt"].clone(), a["outcome"].clone()))
        .collect();
    assert_eq!(
        attempts,
        [(json!(1), json!("failed")), (json!(2), json!("failed"))],
        "{deliveries}"
    );
    assert_eq!(of(&deliveries, &fine).len(), 1, "{deliveries}");
    // AND a page of one hands on to the next with its token
    let request = ApiRequest::new("GET", "/api/v1/events/evt-traced/deliveries")
        .for_tenant(TENANT)
        .path_param("eventId", "evt-traced")
        .query("limit", "1")
        .build();
    let (status, first) = parts(h.stack.call("list-event-deliveries", request).await);
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["items"].as_array().map(Vec::len), Some(1), "{first}");
    let token = first["next_token"].as_str().expect("a next page").to_owned();
    let request = ApiRequest::new("GET", "/api/v1/events/evt-traced/deliveries")
        .for_tenant(TENANT)
        .path_param("eventId", "evt-traced")
        .query("next_token", &token)
        .build();
    let (status, rest) = parts(h.stack.call("list-event-deliveries", request).await);
    assert_eq!(status, 200, "{rest}");
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(2), "{rest}");
    // AND another tenant does not know the event, nor does anyone an unknown id
    let (status, problem) = h.event_deliveries("globex", "evt-traced").await;
    assert_eq!(status, 404, "{problem}");
    assert_eq!(h.event_deliveries(TENANT, "evt-never-posted").await.0, 404);
    assert_eq!(h.stack.calls.refused(), Vec::<String>::new());
}

#[tokio::test]
async fn a_subscription_failing_without_a_break_is_disabled_and_keeps_what_it_missed() {
    // GIVEN a subscription whose queue is missing, in a stack that deactivates a
    // subscription failing without a break for no time at all (a shortened time)
    let mut h = Harness::disabling_after(8, chrono::Duration::zero()).await;
    let missing = h.queue("down").await;
    let id = h.subscribe("ORDER", sqs_destination(&missing)).await;
    h.sqs.delete_queue().queue_url(&missing).send().await.expect("delete");

    // WHEN an event fails to reach it
    h.post_event("evt-1", "ORDER", "CREATE").await;
    assert!(h.fan_out().await.is_empty());
    // THEN it is failing since then, still active
    let first = h.subscription(&id).await;
    assert_eq!(first["active"], true);
    assert!(first["delivery"]["failingSince"].is_string(), "{first}");

    // WHEN the next one fails too
    h.post_event("evt-2", "ORDER", "CREATE").await;
    assert!(h.fan_out().await.is_empty());
    // THEN it is deactivated, saying when and why
    let disabled = h.subscription(&id).await;
    assert_eq!(disabled["active"], false, "{disabled}");
    assert!(disabled["delivery"]["disabledAt"].is_string(), "{disabled}");
    assert!(
        disabled["delivery"]["disabledReason"]
            .as_str()
            .is_some_and(|r| r.contains("without a break") && r.contains("\"active\": true")),
        "{disabled}"
    );
    // AND what waited for a retry is kept as its dead letters, and no new event is routed to it
    h.drain_retries().await;
    h.post_event("evt-3", "ORDER", "CREATE").await;
    assert!(h.fan_out().await.is_empty());
    h.drain_retries().await;
    let letters = h.dead_letters(TENANT, &id).await.1;
    assert_eq!(
        ids_of_events(letters["items"].as_array().expect("items")),
        ["evt-1", "evt-2"]
    );
    assert!(
        letters["items"][0]["lastError"]
            .as_str()
            .is_some_and(|e| e.starts_with("SUBSCRIPTION_DISABLED")),
        "{letters}"
    );
    // AND it cannot be redriven while inactive
    assert_eq!(h.redrive(TENANT, &id).await.0, 409);

    // WHEN its queue is back, it is reactivated with a PUT and redriven
    h.recreate(&missing).await;
    let reactivated = h.set_active(&id, true).await;
    assert_eq!(reactivated["delivery"]["consecutiveFailures"], 0, "{reactivated}");
    assert!(reactivated["delivery"]["disabledAt"].is_null(), "{reactivated}");
    assert_eq!(h.redrive(TENANT, &id).await.0, 202);
    h.drain_retries().await;
    // THEN the events it missed while failing arrive (evt-3 came while it was off)
    assert_eq!(ids_of_events(&h.envelopes(&missing).await), ["evt-1", "evt-2"]);
    assert_eq!(h.stack.calls.refused(), Vec::<String>::new());
}

#[tokio::test]
async fn a_replay_sends_exactly_what_a_subscriber_missed_while_its_queue_was_gone() {
    // GIVEN a subscription that received evt-1, then lost its queue while evt-2
    // to evt-10 were fanned out (given up on at once in this test): nine events
    // over eight shards, so some shard holds two
    let mut h = Harness::new(1).await;
    let queue = h.queue("outage").await;
    let id = h.subscribe("ORDER", sqs_destination(&queue)).await;
    h.post_event("evt-1", "ORDER", "CREATE").await;
    assert!(h.fan_out().await.is_empty());
    assert_eq!(h.envelopes(&queue).await.len(), 1);
    h.sqs.delete_queue().queue_url(&queue).send().await.expect("delete");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let from = shared::util::rfc3339_millis::format(&chrono::Utc::now());
    let missed: Vec<String> = (2..=10).map(|i| format!("evt-{i}")).collect();
    for id in &missed {
        h.post_event(id, "ORDER", "CREATE").await;
    }
    h.post_event("other", "PRODUCT", "CREATE").await;
    assert!(h.fan_out().await.is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let to = shared::util::rfc3339_millis::format(&chrono::Utc::now());
    // AND evt-2 indexed as events stored before replays read by entity were
    // (under the tenant-wide by_time partition)
    let dynamodb = aws_sdk_dynamodb::Client::new(&shared::aws::sdk_config().await);
    let events_table = h.stack.stack.tables.of(&EVENTS);
    let key = AttributeValue::S(format!("T#{TENANT}#E#evt-2"));
    let stored = dynamodb
        .get_item()
        .table_name(events_table)
        .key("pk", key.clone())
        .send()
        .await
        .expect("evt-2")
        .item
        .expect("stored");
    let by_entity = stored["gsi2pk"].as_s().expect("by_time key").clone();
    assert!(by_entity.starts_with(&format!("T#{TENANT}#N#ORDER#S#")), "{by_entity}");
    dynamodb
        .update_item()
        .table_name(events_table)
        .key("pk", key)
        .update_expression("SET gsi2pk = :old")
        .expression_attribute_values(":old", AttributeValue::S(by_entity.replace("#N#ORDER", "")))
        .send()
        .await
        .expect("the older key");

    // WHEN the queue is back and the outage's window is replayed
    h.recreate(&queue).await;
    let (status, started) = h.replay(TENANT, &id, &from, &to).await;
    assert_eq!(status, 202, "{started}");
    let replay_id = started["replayId"].as_str().expect("replay id").to_owned();
    assert!(replay_id.starts_with("rpl_"), "{started}");
    assert_eq!(started["status"], "RUNNING");
    // AND a second replay while it runs is refused, and another tenant knows neither
    assert_eq!(h.replay(TENANT, &id, &from, &to).await.0, 409);
    assert_eq!(h.replay("globex", &id, &from, &to).await.0, 404);
    assert_eq!(h.replay_progress("globex", &id, &replay_id).await.0, 404);
    h.run_replays().await;

    // THEN exactly the missed events arrive, with their eventIds and the replay's id
    let received = h.envelopes(&queue).await;
    let mut expected: Vec<&str> = missed.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(ids_of_events(&received), expected);
    assert!(
        received.iter().all(|e| e["replayId"] == json!(replay_id)),
        "{received:?}"
    );
    // AND the replay says so
    let (status, progress) = h.replay_progress(TENANT, &id, &replay_id).await;
    assert_eq!(status, 200, "{progress}");
    assert_eq!(
        (
            &progress["status"],
            &progress["matched"],
            &progress["sent"],
            &progress["failed"]
        ),
        (&json!("SUCCEEDED"), &json!(9), &json!(9), &json!(0)),
        "{progress}"
    );
    assert!(progress["finishedAt"].is_string(), "{progress}");
    // AND the fan-out counted the tenant's ORDER events per hour (the replay is no new event)
    let request = ApiRequest::new("GET", "/api/v1/event-stats")
        .for_tenant(TENANT)
        .query("entity_name", "order")
        .build();
    let (status, stats) = parts(h.stack.call("get-event-stats", request).await);
    assert_eq!(status, 200, "{stats}");
    let counted: u64 = stats["hourly"]
        .as_array()
        .expect("hourly")
        .iter()
        .filter_map(|h| h["events"].as_u64())
        .sum();
    assert_eq!((&stats["entityName"], counted), (&json!("ORDER"), 10), "{stats}");
    // AND the subscription may be replayed again
    assert_eq!(h.replay(TENANT, &id, &from, &to).await.0, 202);
    assert_eq!(h.stack.calls.refused(), Vec::<String>::new());
}

/// A subscription given evt-1 to evt-4, then a replay of them started: (the
/// subscription's queue and id, the replay's id).
async fn replay_of_four_events(h: &mut Harness) -> (String, String, String) {
    let queue = h.queue("replayed").await;
    let id = h.subscribe("ORDER", sqs_destination(&queue)).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let from = shared::util::rfc3339_millis::format(&chrono::Utc::now());
    for event in ["evt-1", "evt-2", "evt-3", "evt-4"] {
        h.post_event(event, "ORDER", "CREATE").await;
    }
    assert!(h.fan_out().await.is_empty());
    assert_eq!(h.envelopes(&queue).await.len(), 4);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let to = shared::util::rfc3339_millis::format(&chrono::Utc::now());
    let (status, started) = h.replay(TENANT, &id, &from, &to).await;
    assert_eq!(status, 202, "{started}");
    let replay_id = started["replayId"].as_str().expect("replay id").to_owned();
    (queue, id, replay_id)
}

/// The replay's status and counts, once its tasks ran out.
async fn replay_outcome(h: &Harness, id: &str, replay_id: &str) -> (Value, Value, Value) {
    let (status, progress) = h.replay_progress(TENANT, id, replay_id).await;
    assert_eq!(status, 200, "{progress}");
    (
        progress["status"].clone(),
        progress["matched"].clone(),
        progress["sent"].clone(),
    )
}

#[tokio::test]
async fn a_replay_step_whose_next_was_never_queued_is_queued_again_when_its_task_comes_back() {
    // GIVEN a replay of four events whose first step ran, recorded, but whose
    // next step's task never reached the queue (lost here)
    let mut h = Harness::new(1).await;
    let (queue, id, replay_id) = replay_of_four_events(&mut h).await;
    let first = h.run_one_replay_step().await;
    assert_eq!(h.lose_replay_tasks().await, 1);

    // WHEN the first step's message is received again, as SQS redelivers a
    // message the worker failed on or died with
    assert!(
        h.stack
            .stack
            .replay_worker()
            .paging_by(1)
            .queue_batch(&[first])
            .await
            .is_empty()
    );
    h.run_replays().await;

    // THEN the replay finished, every event sent (one page maybe twice: consumers dedupe by eventId)
    assert_eq!(
        replay_outcome(&h, &id, &replay_id).await,
        (json!("SUCCEEDED"), json!(4), json!(4))
    );
    let received = h.envelopes(&queue).await;
    let mut ids = ids_of_events(&received);
    ids.dedup();
    assert_eq!(ids, ["evt-1", "evt-2", "evt-3", "evt-4"]);
    assert_eq!(h.stack.calls.refused(), Vec::<String>::new());
}

#[tokio::test]
async fn a_stalled_replay_says_so_and_a_second_replay_resumes_it() {
    // GIVEN a replay whose next task was lost after its first step, and not redelivered
    let mut h = Harness::new(1).await;
    let (queue, id, replay_id) = replay_of_four_events(&mut h).await;
    h.run_one_replay_step().await;
    assert_eq!(h.lose_replay_tasks().await, 1);
    let (from, to) = ("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z");
    let detail = |refused: &Value| refused["detail"].as_str().unwrap_or_default().to_owned();

    // WHEN it is asked after at once: it is running, not stalled, and holds off another
    let (_, progress) = h.replay_progress(TENANT, &id, &replay_id).await;
    assert_eq!(
        (&progress["status"], &progress["stalled"]),
        (&json!("RUNNING"), &json!(false))
    );
    let (status, refused) = h.replay(TENANT, &id, from, to).await;
    assert_eq!(status, 409, "{refused}");
    assert!(detail(&refused).contains("is running"), "{refused}");
    assert_eq!(h.lose_replay_tasks().await, 0);

    // WHEN it has not moved for eleven minutes
    h.age_replay(&id, &replay_id, 11).await;
    // THEN its progress says it stalled
    let (_, progress) = h.replay_progress(TENANT, &id, &replay_id).await;
    assert_eq!(
        (&progress["status"], &progress["stalled"]),
        (&json!("RUNNING"), &json!(true))
    );
    assert_eq!(h.lose_replay_tasks().await, 0, "a GET resumes nothing");

    // WHEN a second replay is asked
    let (status, refused) = h.replay(TENANT, &id, from, to).await;
    // THEN that is refused, saying the running one was resumed, which is no longer stalled
    assert_eq!(status, 409, "{refused}");
    assert!(detail(&refused).contains("resumed"), "{refused}");
    let (_, progress) = h.replay_progress(TENANT, &id, &replay_id).await;
    assert_eq!(progress["stalled"], false, "{progress}");
    assert!(progress["resumedAt"].is_string(), "{progress}");
    // AND a third one at once resumes nothing more: one task queued
    assert!(detail(&h.replay(TENANT, &id, from, to).await.1).contains("is running"));
    assert_eq!(h.lose_replay_tasks().await, 1);

    // WHEN (that task lost too) it stalls again and a replay is asked again
    h.age_replay(&id, &replay_id, 11).await;
    let (status, refused) = h.replay(TENANT, &id, from, to).await;
    assert_eq!(status, 409, "{refused}");
    assert!(detail(&refused).contains("resumed"), "{refused}");
    h.run_replays().await;

    // AND the replay finished, every event sent, so the subscription may be replayed again
    assert_eq!(
        replay_outcome(&h, &id, &replay_id).await,
        (json!("SUCCEEDED"), json!(4), json!(4))
    );
    let received = h.envelopes(&queue).await;
    let mut ids = ids_of_events(&received);
    ids.dedup();
    assert_eq!(ids, ["evt-1", "evt-2", "evt-3", "evt-4"]);
    assert_eq!(h.replay(TENANT, &id, from, to).await.0, 202);
    assert_eq!(h.stack.calls.refused(), Vec::<String>::new());
}

#[tokio::test]
async fn a_replay_window_ending_in_the_future_ends_now_but_one_starting_there_is_refused() {
    // GIVEN a subscription
    let h = Harness::new(1).await;
    let queue = h.queue("clock-ahead").await;
    let id = h.subscribe("ORDER", sqs_destination(&queue)).await;
    let at =
        |seconds: i64| shared::util::rfc3339_millis::format(&(chrono::Utc::now() + chrono::Duration::seconds(seconds)));

    // WHEN a client whose clock runs ahead asks for everything up to its "now"
    let (status, started) = h.replay(TENANT, &id, &at(-3600), &at(2)).await;

    // THEN the replay runs up to the present, and says so
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["toClamped"], true, "{started}");
    let to: chrono::DateTime<chrono::Utc> = started["to"].as_str().expect("to").parse().expect("a time");
    assert!(to <= chrono::Utc::now(), "{started}");
    h.run_replays().await;
    let replay_id = started["replayId"].as_str().expect("replay id");
    let (_, progress) = h.replay_progress(TENANT, &id, replay_id).await;
    assert_eq!(
        (&progress["status"], &progress["toClamped"]),
        (&json!("SUCCEEDED"), &json!(true))
    );

    // AND a window starting in the future is a 400 naming `from`
    let (status, refused) = h.replay(TENANT, &id, &at(60), &at(120)).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["errors"][0]["field"], "from", "{refused}");
}

fn ids_of_events(items: &[Value]) -> Vec<&str> {
    let mut ids: Vec<&str> = items.iter().filter_map(|i| i["eventId"].as_str()).collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn a_retried_delivery_that_succeeds_resets_the_failure_count() {
    // GIVEN a subscription whose queue is missing when the event is fanned out
    let mut h = Harness::new(5).await;
    let queue = h.queue("late").await;
    let id = h.subscribe("ORDER", sqs_destination(&queue)).await;
    h.sqs.delete_queue().queue_url(&queue).send().await.expect("delete");
    h.post_event("evt-1", "ORDER", "CREATE").await;
    assert!(h.fan_out().await.is_empty());
    assert_eq!(h.subscription(&id).await["delivery"]["consecutiveFailures"], 1);

    // WHEN the queue comes back (same name, same URL) and the retry runs
    h.recreate(&queue).await;
    h.drain_retries().await;

    // THEN the event arrives and the subscription is healthy again
    let received = h.envelopes(&queue).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["eventId"], "evt-1");
    assert_eq!(h.subscription(&id).await["delivery"]["consecutiveFailures"], 0);
    assert!(h.drain(&h.stack.stack.dead_letter_queue_url).await.is_empty());
}

#[tokio::test]
async fn replaying_a_stream_batch_duplicates_but_never_loses() {
    // GIVEN a subscription and a fanned-out batch of three events
    let mut h = Harness::new(8).await;
    let queue = h.queue("replayed").await;
    h.subscribe("ORDER", sqs_destination(&queue)).await;
    for i in 0..3 {
        h.post_event(&format!("evt-{i}"), "ORDER", "CREATE").await;
    }
    let records = h.stream_records().await;
    // WHEN Lambda hands the same batch over twice (a retried invocation)
    assert!(h.fanout.stream_batch(&records).await.is_empty());
    assert!(h.fanout.stream_batch(&records).await.is_empty());
    // THEN each event arrives twice, each copy carrying its eventId for dedupe
    let mut ids: Vec<String> = h
        .envelopes(&queue)
        .await
        .iter()
        .map(|e| e["eventId"].as_str().expect("eventId").to_owned())
        .collect();
    ids.sort();
    assert_eq!(ids, ["evt-0", "evt-0", "evt-1", "evt-1", "evt-2", "evt-2"]);
}

#[tokio::test]
async fn an_undecodable_record_is_dead_lettered_and_does_not_fail_the_batch() {
    let mut h = Harness::new(8).await;
    let queue = h.queue("poison").await;
    h.subscribe("ORDER", sqs_destination(&queue)).await;
    h.post_event("evt-good", "ORDER", "CREATE").await;
    let mut records = h.stream_records().await;
    // GIVEN a batch with a record whose image is not an event item
    let mut poison = records[0].clone();
    poison.change.new_image = serde_dynamo::Item::from(std::collections::HashMap::from([(
        "pk".to_owned(),
        serde_dynamo::AttributeValue::S("garbage".into()),
    )]));
    poison.change.sequence_number = Some("0".into());
    records.insert(0, poison);
    // WHEN it is fanned out
    let failures = h.fanout.stream_batch(&records).await;
    // THEN the good event is delivered, the poison record parked with its reason
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(h.envelopes(&queue).await.len(), 1);
    let dead = h.drain(&h.stack.stack.dead_letter_queue_url).await;
    assert_eq!(dead.len(), 1);
    assert!(dead[0].body().is_some_and(|b| b.contains("garbage")));
}

#[tokio::test]
async fn any_valid_entity_id_reaches_a_fifo_subscriber_in_one_group() {
    // GIVEN a FIFO queue subscribed to ORDER creates
    let mut h = Harness::new(3).await;
    let created = h
        .sqs
        .create_queue()
        .queue_name(format!("orders-{}.fifo", uuid::Uuid::now_v7().simple()))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .tags(TENANT_TAG, TENANT)
        .send()
        .await
        .expect("FIFO queue");
    let fifo = created.queue_url.expect("url");
    h.subscribe("ORDER", sqs_destination(&fifo)).await;

    // WHEN two events of an order whose id SQS would refuse as a group id arrive
    for id in ["evt-a", "evt-b"] {
        let body = json!({
            "id": id, "entity_id": "Bestellung 42/Ä", "entity_name": "ORDER",
            "event_source": "APPLICATION", "event_type": "ENTITY_EVENT",
            "event_payload": {"operation": "CREATE"}
        });
        let request = ApiRequest::new("POST", "/api/v1/events")
            .for_tenant(TENANT)
            .json(&body)
            .build();
        assert_eq!(parts(h.stack.call("create-event", request).await).0, 201);
    }
    assert!(h.fan_out().await.is_empty());

    // THEN both arrive, in order, in one message group (checked against SQS's
    // rules by the local stack: moto would take any group id)
    let messages = h
        .sqs
        .receive_message()
        .queue_url(&fifo)
        .max_number_of_messages(10)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default();
    let ids: Vec<String> = messages
        .iter()
        .map(|m| serde_json::from_str::<Value>(m.body().unwrap_or_default()).expect("JSON")["eventId"].to_string())
        .collect();
    assert_eq!(ids, [r#""evt-a""#, r#""evt-b""#]);
    let groups: std::collections::BTreeSet<_> = messages
        .iter()
        .filter_map(|m| {
            m.attributes()?
                .get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
                .cloned()
        })
        .collect();
    assert_eq!(groups.len(), 1, "{groups:?}");
}

#[tokio::test]
async fn a_fifo_subscriber_gets_an_entitys_events_in_order_through_a_failure() {
    // GIVEN a FIFO queue subscribed to ORDER creates, gone for now
    let mut h = Harness::new(8).await;
    let name = format!("ordered-{}.fifo", uuid::Uuid::now_v7().simple());
    let create = |sqs: aws_sdk_sqs::Client| {
        sqs.create_queue()
            .queue_name(&name)
            .attributes(QueueAttributeName::FifoQueue, "true")
            .tags(TENANT_TAG, TENANT)
            .send()
    };
    let fifo = create(h.sqs.clone()).await.expect("FIFO queue").queue_url.expect("url");
    let id = h.subscribe("ORDER", sqs_destination(&fifo)).await;
    h.sqs.delete_queue().queue_url(&fifo).send().await.expect("delete");

    // WHEN two events of one order fail to reach it
    h.post_event("evt-1", "ORDER", "CREATE").await;
    h.post_event("evt-2", "ORDER", "CREATE").await;
    assert!(h.fan_out().await.is_empty());
    assert_eq!(
        h.subscription(&id).await["delivery"]["consecutiveFailures"],
        2,
        "both were tried"
    );
    // AND the queue is back, and a third event of the order follows
    create(h.sqs.clone()).await.expect("FIFO queue again");
    h.post_event("evt-3", "ORDER", "CREATE").await;
    assert!(h.fan_out().await.is_empty());
    // AND the failed ones' backoff (a second here) runs out
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    h.drain_lanes().await;

    // THEN the order's three events arrive in the order they were accepted: the
    // third waited behind the two that failed (nothing went to the unordered
    // retry queue)
    let ids: Vec<String> = h
        .envelopes(&fifo)
        .await
        .iter()
        .map(|e| e["eventId"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids, ["evt-1", "evt-2", "evt-3"]);
    assert!(h.drain(&h.stack.stack.retry_queue_url).await.is_empty());
}

#[tokio::test]
async fn a_subscription_routes_the_very_next_event_and_a_deactivation_stops_it() {
    // GIVEN a fan-out container that has already handled an event of a tenant
    // with no subscriptions (as in the README's "Try it")
    let mut h = Harness::new(3).await;
    h.post_event("evt-before", "ORDER", "CREATE").await;
    assert!(h.fan_out().await.is_empty());

    // WHEN a queue is subscribed and an order is posted at once
    let queue = h.queue("orders").await;
    let id = h.subscribe("ORDER", sqs_destination(&queue)).await;
    h.post_event("evt-after", "ORDER", "CREATE").await;
    assert!(h.fan_out().await.is_empty());

    // THEN the same container routes it to the new subscriber
    let received = h.envelopes(&queue).await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["eventId"], "evt-after");

    // AND once the subscription is deactivated, the very next event is not sent
    h.deactivate(&id).await;
    h.post_event("evt-deactivated", "ORDER", "CREATE").await;
    assert!(h.fan_out().await.is_empty());
    assert!(h.envelopes(&queue).await.is_empty());
}

#[tokio::test]
async fn ten_failures_in_a_row_open_the_circuit_its_deliveries_are_kept_untried_and_sent_once_a_probe_closes_it() {
    // GIVEN a subscription whose queue is missing, and ten events that failed to
    // reach it, beside a healthy subscription to the same events
    let mut h = Harness::new(8).await;
    let queue = h.queue("breaker").await;
    let id = h.subscribe("ORDER", sqs_destination(&queue)).await;
    let healthy = h.queue("healthy").await;
    h.subscribe("ORDER", sqs_destination(&healthy)).await;
    h.sqs.delete_queue().queue_url(&queue).send().await.expect("delete");
    for i in 0..10 {
        h.post_event(&format!("evt-{i:02}"), "ORDER", "CREATE").await;
    }
    assert!(h.fan_out().await.is_empty());
    let health = h.subscription(&id).await["delivery"].clone();
    assert_eq!(health["consecutiveFailures"], 10, "{health}");
    assert!(health["circuitOpenUntil"].is_string(), "the circuit opened: {health}");

    // WHEN two more events are fanned out while the circuit is open
    h.post_event("evt-10", "ORDER", "CREATE").await;
    h.post_event("evt-11", "ORDER", "CREATE").await;
    h.proxy.calls.take();
    assert!(h.fan_out().await.is_empty());

    // THEN they are kept untried as the subscription's dead letters, in one
    // write: no message to the retry queue, no failure written; the one send is
    // the healthy subscription's, which waits for no retry of the failing one
    let calls = counts(h.proxy.calls.take());
    assert_eq!(calls.get("SendMessageBatch"), Some(&1), "{calls:?}");
    assert_eq!(
        h.envelopes(&healthy).await.len(),
        12,
        "the healthy one got all twelve at once"
    );
    // (one BatchWriteItem keeps the held ones, one records the healthy one's attempts)
    assert_eq!(calls.get("BatchWriteItem"), Some(&2), "{calls:?}");
    assert_eq!(h.subscription(&id).await["delivery"]["consecutiveFailures"], 10);
    let (_, letters) = h.dead_letters(TENANT, &id).await;
    let items = letters["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{letters}");
    assert!(
        items
            .iter()
            .all(|l| l["lastError"].as_str().is_some_and(|e| e.starts_with("CIRCUIT_OPEN")) && l["failures"] == 0),
        "{letters}"
    );

    // WHEN the queue is back, the subscription is saved again unchanged, and
    // after the cool-off (four seconds here) the retries run
    h.recreate(&queue).await;
    let saved = h.set_active(&id, true).await;
    assert!(
        saved["delivery"]["circuitOpenUntil"].is_string(),
        "an update keeps an open circuit: {saved}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(4200)).await;
    h.drain_retries().await;

    // THEN every event arrives: the first retry through closed the circuit and
    // sent the kept ones again; no dead letter is left
    let arrived = h.event_ids(&queue).await;
    let expected: Vec<String> = (0..12).map(|i| format!("evt-{i:02}")).collect();
    assert_eq!(arrived, expected);
    assert!(
        h.envelopes(&healthy).await.is_empty(),
        "nothing sent twice to the healthy one"
    );
    let health = h.subscription(&id).await["delivery"].clone();
    assert_eq!(health["consecutiveFailures"], 0, "{health}");
    assert!(health.get("circuitOpenUntil").is_none_or(Value::is_null), "{health}");
    let (_, letters) = h.dead_letters(TENANT, &id).await;
    assert_eq!(letters["items"], json!([]), "{letters}");
    assert!(h.drain(&h.stack.stack.dead_letter_queue_url).await.is_empty());
}

/// A subscription to a queue named `name` that is then deleted: ten events'
/// failed deliveries open its circuit, and their retries, back while it is
/// open, are kept. Returns the queue's URL and the subscription's id.
async fn circuit_kept_ten(h: &mut Harness, name: &str) -> (String, String) {
    let queue = h.queue(name).await;
    let id = h.subscribe("ORDER", sqs_destination(&queue)).await;
    h.sqs.delete_queue().queue_url(&queue).send().await.expect("delete");
    for i in 0..10 {
        h.post_event(&format!("evt-{i:02}"), "ORDER", "CREATE").await;
    }
    assert!(h.fan_out().await.is_empty());
    assert!(h.subscription(&id).await["delivery"]["circuitOpenUntil"].is_string());
    h.drain_retries().await;
    (queue, id)
}

#[tokio::test]
async fn an_open_circuit_is_probed_after_its_cool_off_with_no_new_event_and_sends_what_it_kept() {
    // GIVEN a subscription whose queue is missing: ten failed deliveries opened
    // its circuit, and their retries came back while it was open, so the circuit
    // kept them all
    let mut h = Harness::new(8).await;
    let (queue, id) = circuit_kept_ten(&mut h, "quiet").await;
    let (_, letters) = h.dead_letters(TENANT, &id).await;
    assert_eq!(
        letters["items"].as_array().map(Vec::len),
        Some(10),
        "all kept: {letters}"
    );

    // WHEN the queue comes back, no event follows, and the cool-off (four
    // seconds here) passes
    h.recreate(&queue).await;
    tokio::time::sleep(std::time::Duration::from_millis(5500)).await;
    h.drain_retries().await;

    // THEN the circuit's probe sent one kept delivery, it got through, closed the
    // circuit and sent the rest: all ten arrive, and no letter is left
    let arrived = h.event_ids(&queue).await;
    let expected: Vec<String> = (0..10).map(|i| format!("evt-{i:02}")).collect();
    assert_eq!(arrived, expected);
    let health = h.subscription(&id).await["delivery"].clone();
    assert!(health.get("circuitOpenUntil").is_none_or(Value::is_null), "{health}");
    let (_, letters) = h.dead_letters(TENANT, &id).await;
    assert_eq!(letters["items"], json!([]), "{letters}");
}

#[tokio::test]
async fn a_probe_whose_subscription_cannot_be_read_is_received_again_not_dead_lettered() {
    // GIVEN an open circuit that kept its deliveries, past its cool-off
    let mut h = Harness::new(8).await;
    let (_, id) = circuit_kept_ten(&mut h, "unread").await;
    tokio::time::sleep(std::time::Duration::from_millis(5500)).await;

    // WHEN fanout-retry cannot read the subscriptions as the probe comes up
    let faults = h.stack.stack.faults().expect("IAM enforced").clone();
    faults.inject(Fault {
        name: "subscriptions unreadable".into(),
        function: Some("fanout-retry".into()),
        operation: "Query".into(),
        resource: String::new(),
        fraction: 1.0,
        error: Injected::AccessDenied,
    });
    h.drain_retries().await;
    faults.clear();

    // THEN the probe waits on the retry queue to be received again: nothing is
    // dead-lettered, and the circuit's kept deliveries are all still there
    let retry_queue = h.stack.stack.retry_queue_url.clone();
    let in_flight = h
        .queue_count(&retry_queue, QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .await;
    assert_eq!(in_flight, 1, "the probe, received again after its visibility timeout");
    assert!(h.drain(&h.stack.stack.dead_letter_queue_url).await.is_empty());
    let (_, letters) = h.dead_letters(TENANT, &id).await;
    assert_eq!(letters["items"].as_array().map(Vec::len), Some(10), "{letters}");
}

#[tokio::test]
async fn a_tenant_runs_at_most_its_share_of_replays_at_once_and_other_tenants_are_unaffected() {
    // GIVEN tenants may run one replay at once, and acme runs one
    let mut h = Harness::new(1).await;
    h.stack.stack = h
        .stack
        .stack
        .clone()
        .with_parameter("MaxConcurrentReplaysPerTenant", "1")
        .expect("parameter");
    let (_, first, replay_id) = replay_of_four_events(&mut h).await;
    let second = h.subscribe("ORDER", sqs_destination(&h.queue("second").await)).await;
    let to = shared::util::rfc3339_millis::format(&chrono::Utc::now());
    let from = shared::util::rfc3339_millis::format(&(chrono::Utc::now() - chrono::Duration::hours(1)));

    // WHEN acme replays another of its subscriptions
    let request = ApiRequest::new("POST", &format!("/api/v1/event-subscription/{second}/replay"))
        .for_tenant(TENANT)
        .path_param("id", &second)
        .json(&json!({"from": from, "to": to}))
        .build();
    let refused = h.stack.call("replay-subscription", request).await;

    // THEN a 429 says when to try again and names the limit
    assert_eq!(
        refused.headers().get("retry-after").map(|v| v.as_bytes().to_vec()),
        Some(b"60".to_vec())
    );
    let (status, problem) = parts(refused);
    assert_eq!(status, 429, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("MaxConcurrentReplaysPerTenant"),
        "{problem}"
    );

    // AND another tenant's replay starts meanwhile
    let globex = "globex";
    let queue = h
        .sqs
        .create_queue()
        .queue_name(format!("globex-{}", uuid::Uuid::now_v7().simple()))
        .tags(TENANT_TAG, globex)
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let body = json!({"entityType": "ORDER", "subscribeCreate": true, "destination": sqs_destination(&queue)});
    let create = ApiRequest::new("POST", "/api/v1/event-subscription")
        .for_tenant(globex)
        .json(&body)
        .build();
    let (status, created) = parts(h.stack.call("create-subscription", create).await);
    assert_eq!(status, 201, "{created}");
    let theirs = created["id"].as_str().expect("id");
    assert_eq!(h.replay(globex, theirs, &from, &to).await.0, 202);

    // AND a holder that stalled is resumed by the refusal, so it ends and frees its slot
    h.age_replay(&first, &replay_id, 11).await;
    assert_eq!(h.replay(TENANT, &second, &from, &to).await.0, 429);
    let (_, progress) = h.replay_progress(TENANT, &first, &replay_id).await;
    assert!(progress["resumedAt"].is_string(), "{progress}");
    h.run_replays().await;
    assert_eq!(replay_outcome(&h, &first, &replay_id).await.0, "SUCCEEDED");
    let (status, started) = h.replay(TENANT, &second, &from, &to).await;
    assert_eq!(status, 202, "{started}");

    // AND a slot an ended replay kept (its release lost) is freed by the next start at the cap
    h.run_replays().await;
    let second_id = started["replayId"].as_str().expect("replay id");
    h.keep_for_an_hour(&format!("T#{TENANT}#REPLAY_SLOTS"), "SLOT#0", (second_id, &second))
        .await;
    assert_eq!(h.replay(TENANT, &first, &from, &to).await.0, 202);

    // AND a subscription lock an ended replay kept is let go by the next replay of it
    h.run_replays().await;
    h.keep_for_an_hour(&format!("T#{TENANT}#S#{second}"), "REPLAYING", (second_id, &second))
        .await;
    let (status, problem) = h.replay(TENANT, &second, &from, &to).await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap_or_default().contains("had ended"),
        "{problem}"
    );
    assert_eq!(h.replay(TENANT, &second, &from, &to).await.0, 202);
}

#[tokio::test]
async fn a_posts_traceparent_is_answered_stored_and_found_on_the_message_its_subscriber_receives() {
    // GIVEN a queue subscriber
    let mut h = Harness::new(1).await;
    let queue = h.queue("traced").await;
    h.subscribe("ORDER", sqs_destination(&queue)).await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    // WHEN an event is posted with a traceparent, and one with a malformed one
    let post = |id: &str, trace: &str| {
        ApiRequest::new("POST", "/api/v1/events")
            .for_tenant(TENANT)
            .header("traceparent", trace)
            .json(&common::order_event(id, &format!("ORD-{id}")))
            .build()
    };
    let answered = h.stack.call("create-event", post("evt-traced", traceparent)).await;
    let header = |r: &lambda_http::Response<lambda_http::Body>| {
        r.headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    // THEN the answer carries it, as header and field
    assert_eq!(header(&answered).as_deref(), Some(traceparent));
    let (status, event) = parts(answered);
    assert_eq!(
        (status, event["traceparent"].as_str()),
        (201, Some(traceparent)),
        "{event}"
    );
    let restarted = h
        .stack
        .call("create-event", post("evt-restarted", "00-not-a-trace-01"))
        .await;
    let started = header(&restarted).expect("a new trace");
    assert!(
        started.starts_with("00-") && started.len() == 55 && started != traceparent,
        "{started}"
    );

    // AND each message the subscriber receives carries its event's trace, as a
    // message attribute and in the envelope
    assert!(h.fan_out().await.is_empty());
    let mut traces: Vec<(String, String, String)> = h
        .drain(&queue)
        .await
        .iter()
        .map(|m| {
            let body: Value = serde_json::from_str(m.body().unwrap_or_default()).expect("JSON");
            let attribute = m
                .message_attributes()
                .and_then(|a| a.get("traceparent"))
                .and_then(|v| v.string_value())
                .unwrap_or_default()
                .to_owned();
            let id = body["eventId"].as_str().unwrap_or_default().to_owned();
            (
                id,
                attribute,
                body["traceparent"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    traces.sort();
    assert_eq!(
        traces,
        [
            ("evt-restarted".to_owned(), started.clone(), started),
            ("evt-traced".to_owned(), traceparent.to_owned(), traceparent.to_owned()),
        ]
    );
}
