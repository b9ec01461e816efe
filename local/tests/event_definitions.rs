//! Event definitions (seed 001) through the handlers and the real SDKs against
//! moto: the registry and its error codes, validation at ingest, unique keys,
//! sensitive (PSI) fields on their way to subscribers and in the logs, and
//! customers added on their first event.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{ApiRequest, TestStack, parts};
use lambda_http::tracing::subscriber::fmt::MakeWriter;
use local::queue_poller::QueuePoller;
use local::stream_poller::StreamPoller;
use serde_json::{Value, json};
use shared::api::events::IDEMPOTENT_REPLAYED;
use shared::fanout::{Fanout, FanoutConfig, MASKED, RedeliveryPolicy};
use shared::storage::schema::EVENTS;

const TENANT: &str = "acme";
const PHONE: &str = "+15550123456";

/// Every log line of this test binary, as JSON, at DEBUG and above.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedLogs {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn logs() -> &'static CapturedLogs {
    static LOGS: OnceLock<CapturedLogs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = CapturedLogs::default();
        lambda_http::tracing::subscriber::fmt()
            .json()
            .with_max_level(lambda_http::tracing::Level::DEBUG)
            .with_writer(logs.clone())
            .init();
        logs
    })
}

impl CapturedLogs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

/// A purchase definition: customer `email`, unique `billNumber`, required
/// `amount`, sensitive `phone`.
fn purchase_definition() -> Value {
    json!({
        "eventName": "purchaseEvent",
        "actions": ["EMFConsumer"],
        "description": "A purchase at the till",
        "fields": [
            {"name": "email", "type": "customer"},
            {"name": "billNumber", "type": "tillCode", "isRequired": true, "isUniqueKeyField": true},
            {"name": "amount", "type": "double", "isRequired": true},
            {"name": "phone", "type": "string", "isPsiData": true}
        ],
        "addCustomerIfNotExists": true,
        "identifierType": {"value": "email"}
    })
}

fn purchase(email: &str, bill: &str) -> Value {
    json!({"email": email, "billNumber": bill, "amount": 42.5, "phone": PHONE})
}

async fn call(stack: &TestStack, function: &str, request: ApiRequest) -> (u16, Value) {
    parts(
        stack
            .functions()
            .invoke(function, request.for_tenant(TENANT).build())
            .await
            .expect("a function"),
    )
}

async fn define(stack: &TestStack, body: &Value) -> (u16, Value) {
    call(
        stack,
        "create-event-definition",
        ApiRequest::new("POST", "/api/v1/event-definitions").json(body),
    )
    .await
}

/// Calls `function` (get, update or deactivate) on the definition `name`.
async fn on_definition(stack: &TestStack, function: &str, name: &str, body: Option<&Value>) -> (u16, Value) {
    let (method, suffix) = match function {
        "get-event-definition" => ("GET", ""),
        "deactivate-event-definition" => ("PUT", "/deactivate"),
        _ => ("PUT", ""),
    };
    let mut request =
        ApiRequest::new(method, &format!("/api/v1/event-definitions/{name}{suffix}")).path_param("eventName", name);
    if let Some(body) = body {
        request = request.json(body);
    }
    call(stack, function, request).await
}

/// POSTs an event of `entity` with `payload`; status, body, and whether it was a replay.
async fn post(stack: &TestStack, id: &str, entity: &str, payload: &Value) -> (u16, Value, bool) {
    let body = json!({
        "id": id, "entity_id": "till-7", "entity_name": entity, "event_source": "APPLICATION",
        "event_type": "ENTITY_EVENT",
        "event_payload": {"operation": "CREATE", "base64_encoded_payload_json": STANDARD.encode(payload.to_string())}
    });
    let request = ApiRequest::new("POST", "/api/v1/events")
        .for_tenant(TENANT)
        .json(&body)
        .build();
    let response = stack.call("create-event", request).await;
    let replayed = response.headers().contains_key(IDEMPOTENT_REPLAYED);
    let (status, answer) = parts(response);
    (status, answer, replayed)
}

async fn get(stack: &TestStack, id: &str) -> (u16, Value) {
    let request = ApiRequest::new("GET", &format!("/api/v1/events/{id}"))
        .for_tenant(TENANT)
        .path_param("eventId", id)
        .build();
    parts(stack.call("get-event", request).await)
}

async fn events_of(stack: &TestStack, entity: &str, entity_id: &str) -> Vec<Value> {
    let request = ApiRequest::new("GET", "/api/v1/events")
        .for_tenant(TENANT)
        .query("entity_name", entity)
        .query("entity_id", entity_id)
        .build();
    let (status, list) = parts(stack.call("list-events", request).await);
    assert_eq!(status, 200, "{list}");
    list["items"].as_array().cloned().unwrap_or_default()
}

fn codes(problem: &Value) -> Vec<(String, Option<u64>)> {
    problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| (e["field"].as_str().unwrap_or_default().to_owned(), e["code"].as_u64()))
        .collect()
}

#[tokio::test]
async fn definitions_are_created_read_versioned_and_deactivated_with_the_seeds_codes() {
    let stack = TestStack::new().await;
    // GIVEN a definition
    let (status, created) = define(&stack, &purchase_definition()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (created["version"].as_u64(), created["active"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(
        created["fields"][0]["isRequired"], true,
        "the customer identifier is required"
    );

    // WHEN the name is taken again, in another case, or the body is wrong
    let mut again = purchase_definition();
    again["eventName"] = json!("PurchaseEvent");
    let (status, taken) = define(&stack, &again).await;
    assert_eq!((status, taken["code"].as_u64()), (409, Some(1806)), "{taken}");
    let mut wrong = purchase_definition();
    wrong["eventName"] = json!("purchase event");
    wrong["actions"] = json!(["SMSConsumer"]);
    wrong["fields"][1]["type"] = json!("tillCod");
    wrong["fields"][2]["name"] = json!("");
    let (status, problem) = define(&stack, &wrong).await;
    // THEN each problem carries its field and code
    assert_eq!(status, 400);
    assert_eq!(problem["code"], 1811, "the first coded error");
    assert_eq!(
        codes(&problem),
        [
            ("eventName".to_owned(), Some(1811)),
            ("actions".to_owned(), Some(1810)),
            ("fields[1].type".to_owned(), Some(1823)),
            ("fields[2].name".to_owned(), Some(1802)),
        ]
    );

    // … reads work by any case, updates make versions, a stale version is refused
    let (status, read) = on_definition(&stack, "get-event-definition", "PURCHASEEVENT", None).await;
    assert_eq!((status, read["eventName"].as_str()), (200, Some("purchaseEvent")));
    let mut changed = purchase_definition();
    changed["description"] = json!("v2");
    let (status, updated) = on_definition(&stack, "update-event-definition", "purchaseEvent", Some(&changed)).await;
    assert_eq!((status, updated["version"].as_u64()), (200, Some(2)), "{updated}");
    changed["version"] = json!(1);
    let (status, _) = on_definition(&stack, "update-event-definition", "purchaseEvent", Some(&changed)).await;
    assert_eq!(status, 409);

    // … earlier versions stay readable (what older events were checked against)
    let request = ApiRequest::new("GET", "/api/v1/event-definitions/purchaseEvent")
        .path_param("eventName", "purchaseEvent")
        .query("version", "1");
    let (status, first) = call(&stack, "get-event-definition", request).await;
    assert_eq!(
        (status, first["version"].as_u64(), first["description"].as_str()),
        (200, Some(1), Some("A purchase at the till"))
    );

    // … and a deactivated definition leaves the default list
    let (status, off) = on_definition(&stack, "deactivate-event-definition", "purchaseEvent", None).await;
    assert_eq!((status, off["active"].as_bool()), (200, Some(false)));
    let (_, listed) = call(
        &stack,
        "list-event-definitions",
        ApiRequest::new("GET", "/api/v1/event-definitions"),
    )
    .await;
    assert_eq!(listed, json!([]));
    let all = ApiRequest::new("GET", "/api/v1/event-definitions").query("include_inactive", "true");
    assert_eq!(
        call(&stack, "list-event-definitions", all)
            .await
            .1
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // … and another tenant does not see it
    let request = ApiRequest::new("GET", "/api/v1/event-definitions/purchaseEvent")
        .path_param("eventName", "purchaseEvent")
        .for_tenant("globex")
        .build();
    let other = stack
        .functions()
        .invoke("get-event-definition", request)
        .await
        .expect("function");
    assert_eq!(other.status(), 404);
}

#[tokio::test]
async fn events_are_validated_against_the_active_definition_and_keep_its_version() {
    let stack = TestStack::new().await;
    define(&stack, &purchase_definition()).await;

    // WHEN events of the defined name lack a required field or have the wrong type
    let (status, problem, _) = post(&stack, "e-missing", "PURCHASEEVENT", &json!({"email": "a@b.c"})).await;
    assert_eq!((status, problem["code"].as_u64()), (400, Some(1802)), "{problem}");
    let field = "event_payload.base64_encoded_payload_json";
    assert_eq!(
        codes(&problem),
        [
            (format!("{field}.billNumber"), Some(1802)),
            (format!("{field}.amount"), Some(1802))
        ]
    );
    let mut typed_wrong = purchase("a@b.c", "B-1");
    typed_wrong["amount"] = json!("42.5");
    let (status, problem, _) = post(&stack, "e-typed", "purchaseEvent", &typed_wrong).await;
    assert_eq!(codes(&problem), [(format!("{field}.amount"), Some(1802))]);
    assert!(!problem.to_string().contains(PHONE), "a refusal never echoes values");
    assert_eq!(status, 400);

    // THEN a valid one is stored with the version it was validated against
    let (status, stored, _) = post(&stack, "e-1", "purchaseEvent", &purchase("a@b.c", "B-1")).await;
    assert_eq!(status, 201, "{stored}");
    assert_eq!(stored["definition"], json!({"version": 1, "psiFields": ["phone"]}));
    let mut v2 = purchase_definition();
    v2["fields"][3]["isPsiData"] = json!(false);
    on_definition(&stack, "update-event-definition", "purchaseEvent", Some(&v2)).await;
    let (_, later, _) = post(&stack, "e-2", "purchaseEvent", &purchase("a@b.c", "B-2")).await;
    assert_eq!(later["definition"], json!({"version": 2}));
    assert_eq!(get(&stack, "e-1").await.1["definition"]["version"], 1);

    // … and once deactivated, the definition checks nothing
    on_definition(&stack, "deactivate-event-definition", "purchaseEvent", None).await;
    let (status, _, _) = post(&stack, "e-free", "purchaseEvent", &json!({"anything": true})).await;
    assert_eq!(status, 201);
    assert_eq!(post(&stack, "e-other", "ORDER", &json!([])).await.0, 201);
}

/// The stack with its events stream fanned out as Lambda would.
struct FannedOut {
    stack: TestStack,
    sqs: aws_sdk_sqs::Client,
    stream: StreamPoller,
    fanout: Fanout,
}

impl FannedOut {
    /// Retries wait for nothing and subscriptions are read afresh each time.
    async fn new() -> Self {
        let stack = TestStack::new().await;
        let sdk = shared::aws::sdk_config().await;
        let stream = StreamPoller::from_now(&sdk, stack.stack.tables.of(&EVENTS))
            .await
            .expect("events stream");
        let config = FanoutConfig {
            retry: RedeliveryPolicy {
                max_failures: 3,
                base_delay_seconds: 0,
            },
            attempts: 1,
            ..stack.stack.fanout_config()
        };
        Self {
            sqs: aws_sdk_sqs::Client::new(&sdk),
            fanout: stack.stack.fanout("fanout", &sdk, config),
            stream,
            stack,
        }
    }

    async fn queue(&self) -> String {
        self.sqs
            .create_queue()
            .queue_name(format!("sub-{}", uuid::Uuid::now_v7().simple()))
            .tags(shared::subscriptions::TENANT_TAG, "acme")
            .send()
            .await
            .expect("queue")
            .queue_url
            .expect("url")
    }

    /// A new queue subscribed to CREATE events of `entity`; its URL.
    async fn subscribed_queue(&self, entity: &str, include_psi: bool) -> String {
        let url = self.queue().await;
        let (status, created) = subscribe(&self.stack, entity, include_psi, sqs_destination(&url)).await;
        assert_eq!(status, 201, "{created}");
        url
    }

    async fn fan_out(&mut self) {
        let records = self.stream.poll().await.expect("stream");
        assert!(self.fanout.stream_batch(&records).await.is_empty(), "no batch failures");
    }

    /// Hands the retry queue's messages to fanout-retry once.
    async fn retry(&self) {
        let poller = QueuePoller::new(self.sqs.clone(), &self.stack.stack.retry_queue_url);
        poller
            .poll_into(|messages| async move { self.fanout.retry_batch(&messages).await })
            .await
            .expect("retry queue");
    }

    /// The envelopes in `queue`.
    async fn received(&self, queue: &str) -> Vec<Value> {
        common::drain(&self.sqs, queue)
            .await
            .iter()
            .map(|m| serde_json::from_str(m.body().unwrap_or_default()).expect("JSON message"))
            .collect()
    }
}

fn sqs_destination(url: &str) -> Value {
    json!({"type": "SQS", "sqs": {"queueUrl": url, "region": "us-east-1"}})
}

async fn subscribe(stack: &TestStack, entity: &str, include_psi: bool, destination: Value) -> (u16, Value) {
    let body = json!({
        "entityType": entity, "subscribeCreate": true, "includePsi": include_psi, "destination": destination
    });
    call(
        stack,
        "create-subscription",
        ApiRequest::new("POST", "/api/v1/event-subscription").json(&body),
    )
    .await
}

#[tokio::test]
async fn a_unique_key_duplicate_is_answered_with_the_first_event_and_fanned_out_once() {
    // GIVEN the purchase definition (unique billNumber) and a subscribed queue
    let mut rig = FannedOut::new().await;
    define(&rig.stack, &purchase_definition()).await;
    let queue = rig.subscribed_queue("PURCHASEEVENT", false).await;

    // WHEN the same customer's bill arrives twice under two ids, then another bill
    let (first, _, _) = post(&rig.stack, "p-1", "purchaseEvent", &purchase("ana@example.com", "B-1")).await;
    let (status, answer, replayed) =
        post(&rig.stack, "p-2", "purchaseEvent", &purchase("ana@example.com", "B-1")).await;
    let (other, _, _) = post(&rig.stack, "p-3", "purchaseEvent", &purchase("ana@example.com", "B-2")).await;
    let (elsewhere, _, _) = post(&rig.stack, "p-4", "purchaseEvent", &purchase("bo@example.com", "B-1")).await;

    // THEN the duplicate is answered with the first event and never stored
    assert_eq!((first, other, elsewhere), (201, 201, 201));
    assert_eq!((status, replayed, answer["id"].as_str()), (200, true, Some("p-1")));
    assert_eq!(get(&rig.stack, "p-2").await.0, 404);
    // … a resend of the first is a replay, a changed resend of it a conflict
    let (status, _, replayed) = post(&rig.stack, "p-1", "purchaseEvent", &purchase("ana@example.com", "B-1")).await;
    assert_eq!((status, replayed), (200, true));
    let mut changed = purchase("ana@example.com", "B-1");
    changed["amount"] = json!(1);
    assert_eq!(post(&rig.stack, "p-1", "purchaseEvent", &changed).await.0, 409);
    // … and subscribers get each stored purchase once
    rig.fan_out().await;
    let mut ids: Vec<String> = rig
        .received(&queue)
        .await
        .iter()
        .map(|m| m["eventId"].as_str().unwrap_or_default().to_owned())
        .collect();
    ids.sort();
    assert_eq!(ids, ["p-1", "p-3", "p-4"]);
}

#[tokio::test]
async fn sensitive_fields_are_masked_for_subscribers_unless_they_opt_in_and_never_logged() {
    let logs = logs();
    // GIVEN a definition with a sensitive phone, one plain and one opted-in subscriber
    let mut rig = FannedOut::new().await;
    define(&rig.stack, &purchase_definition()).await;
    let plain = rig.subscribed_queue("PURCHASEEVENT", false).await;
    let opted_in = rig.subscribed_queue("PURCHASEEVENT", true).await;
    let bus = json!({"type": "EVENTBRIDGE", "eventBridge": {"eventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/partner", "region": "us-east-1"}});
    let (status, refused) = subscribe(&rig.stack, "PURCHASEEVENT", true, bus).await;
    assert_eq!((status, codes(&refused)[0].0.as_str()), (400, "includePsi"));

    // WHEN a purchase with a phone number is stored (and a refused one is sent)
    let (status, _, _) = post(
        &rig.stack,
        "psi-1",
        "purchaseEvent",
        &purchase("ana@example.com", "B-9"),
    )
    .await;
    assert_eq!(status, 201);
    let mut refused_purchase = purchase("ana@example.com", "B-10");
    refused_purchase["amount"] = json!("lots");
    assert_eq!(
        post(&rig.stack, "psi-2", "purchaseEvent", &refused_purchase).await.0,
        400
    );
    rig.fan_out().await;

    // THEN the plain subscriber sees it masked, the opted-in one as sent
    let masked = rig.received(&plain).await;
    let revealed = rig.received(&opted_in).await;
    assert_eq!(masked.len(), 1);
    assert_eq!(masked[0]["data"]["phone"], MASKED);
    assert_eq!(
        masked[0]["data"]["billNumber"], "B-9",
        "only sensitive fields are masked"
    );
    assert_eq!(revealed[0]["data"]["phone"], PHONE);
    // … the stored event keeps it, and no log line ever had it
    let stored = get(&rig.stack, "psi-1").await.1;
    let payload = shared::events::decode_json(
        stored["event_payload"]["base64_encoded_payload_json"]
            .as_str()
            .expect("payload"),
    );
    assert_eq!(payload.expect("json")["phone"], PHONE);
    let logged = logs.text();
    // The refusal and the new customer were logged, so the handlers' logs were captured.
    assert!(logged.contains("request refused") && logged.contains("added a customer"));
    assert!(!logged.contains(PHONE), "a sensitive value was logged");
}

#[tokio::test]
async fn a_new_customer_is_added_once_even_for_concurrent_first_events() {
    // GIVEN a definition that adds unknown customers
    let stack = TestStack::new().await;
    define(&stack, &purchase_definition()).await;

    // WHEN a new customer's first two events arrive at once, then a third
    let (first, second) = (purchase("new@example.com", "B-1"), purchase("new@example.com", "B-2"));
    let (a, b) = tokio::join!(
        post(&stack, "c-1", "purchaseEvent", &first),
        post(&stack, "c-2", "purchaseEvent", &second),
    );
    assert_eq!((a.0, b.0), (201, 201));
    post(&stack, "c-3", "purchaseEvent", &purchase("new@example.com", "B-3")).await;

    // THEN exactly one CUSTOMER CREATE event announces the customer
    let created = events_of(&stack, "CUSTOMER", "new@example.com").await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0]["event_payload"]["operation"], "CREATE");
    assert_eq!(
        created[0]["event_payload"]["key_attributes"]["identifier_type"],
        "email"
    );
    let source = created[0]["event_payload"]["key_attributes"]["source_event_id"].as_str();
    assert!(matches!(source, Some("c-1" | "c-2")), "{source:?}");

    // … and the typed endpoints add their customers the same way
    let action = json!({
        "eventId": "6f1c2d3e-0000-4000-8000-000000000001", "customerId": "7a9d1a3e-0000-4000-8000-000000000002",
        "nameSpace": "loyalty", "reference": "r-1", "campaign": "c-1", "attributes": [],
        "action": {"name": "signup"}
    });
    for _ in 0..2 {
        let request = ApiRequest::new("POST", "/api/v1/events/actions").json(&action);
        let (status, answer) = call(&stack, "create-action-event", request).await;
        assert_eq!(status, 200, "{answer}");
    }
    let typed = events_of(&stack, "CUSTOMER", "7a9d1a3e-0000-4000-8000-000000000002").await;
    assert_eq!(typed.len(), 1);
    assert_eq!(
        typed[0]["event_payload"]["key_attributes"]["identifier_type"],
        "customerId"
    );

    // … and a container that saw a customer once spends no write on it again
    let functions = stack.functions();
    let mut next = action.clone();
    for (i, event_id) in [
        "6f1c2d3e-0000-4000-8000-000000000003",
        "6f1c2d3e-0000-4000-8000-000000000004",
    ]
    .into_iter()
    .enumerate()
    {
        next["eventId"] = json!(event_id);
        stack.calls.take();
        let request = ApiRequest::new("POST", "/api/v1/events/actions")
            .json(&next)
            .for_tenant(TENANT)
            .build();
        let response = functions
            .invoke("create-action-event", request)
            .await
            .expect("function");
        assert_eq!(response.status(), 200);
        let expected: &[&str] = if i == 0 {
            &["PutItem", "TransactWriteItems"]
        } else {
            &["PutItem"]
        };
        assert_eq!(stack.calls.take(), expected);
    }
}

#[tokio::test]
async fn a_retried_delivery_is_masked_when_its_subscription_stopped_including_psi() {
    // GIVEN an opted-in subscription whose queue is gone when the event is fanned out
    let mut rig = FannedOut::new().await;
    define(&rig.stack, &purchase_definition()).await;
    let gone = rig.queue().await;
    let (_, subscription) = subscribe(&rig.stack, "PURCHASEEVENT", true, sqs_destination(&gone)).await;
    rig.sqs.delete_queue().queue_url(&gone).send().await.expect("delete");
    post(&rig.stack, "r-1", "purchaseEvent", &purchase("ana@example.com", "B-1")).await;
    rig.fan_out().await;

    // WHEN the subscription is changed to a working queue without PSI, and the retry runs
    let working = rig.queue().await;
    let id = subscription["id"].as_str().expect("id");
    let body = json!({
        "entityType": "PURCHASEEVENT", "subscribeCreate": true, "includePsi": false,
        "destination": sqs_destination(&working)
    });
    let request = ApiRequest::new("PUT", &format!("/api/v1/event-subscription/{id}"))
        .path_param("id", id)
        .json(&body);
    assert_eq!(call(&rig.stack, "update-subscription", request).await.0, 200);
    rig.retry().await;

    // THEN the retried message arrives with the sensitive field masked
    let received = rig.received(&working).await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["data"]["phone"], MASKED);
}

#[tokio::test]
async fn a_tenant_keeps_at_most_its_quota_of_definitions_and_pages_their_list() {
    // GIVEN tenants may keep two definitions, and ours has two (one deactivated)
    let mut stack = TestStack::new().await;
    stack.stack = stack
        .stack
        .clone()
        .with_parameter("MaxEventDefinitionsPerTenant", "2")
        .expect("parameter");
    let named = |name: &str| {
        let mut body = purchase_definition();
        body["eventName"] = json!(name);
        body
    };
    assert_eq!(define(&stack, &named("Alpha")).await.0, 201);
    assert_eq!(define(&stack, &named("Beta")).await.0, 201);
    let deactivate =
        ApiRequest::new("PUT", "/api/v1/event-definitions/Alpha/deactivate").path_param("eventName", "Alpha");
    assert_eq!(call(&stack, "deactivate-event-definition", deactivate).await.0, 200);
    // WHEN it creates a third THEN a 409 names the limit
    let (status, problem) = define(&stack, &named("Gamma")).await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem.to_string().contains("MaxEventDefinitionsPerTenant"),
        "{problem}"
    );
    // AND another tenant is not held to its count
    let other = ApiRequest::new("POST", "/api/v1/event-definitions")
        .json(&named("Gamma"))
        .for_tenant("initech");
    let created = stack
        .functions()
        .invoke("create-event-definition", other.build())
        .await
        .expect("a function");
    assert_eq!(parts(created).0, 201);
    // AND its list pages one at a time through the Link header
    let list = |query: &[(&str, &str)]| {
        query
            .iter()
            .fold(ApiRequest::new("GET", "/api/v1/event-definitions"), |r, (k, v)| {
                r.query(k, v)
            })
    };
    let first = stack
        .functions()
        .invoke(
            "list-event-definitions",
            list(&[("limit", "1"), ("include_inactive", "true")])
                .for_tenant(TENANT)
                .build(),
        )
        .await
        .expect("a function");
    let link = first
        .headers()
        .get("link")
        .expect("a next link")
        .to_str()
        .expect("text")
        .to_owned();
    let token = link
        .split("next_token=")
        .nth(1)
        .and_then(|t| t.split(['&', '>']).next())
        .expect("token")
        .to_owned();
    assert_eq!(parts(first).1[0]["eventName"], "Alpha");
    let (status, second) = call(
        &stack,
        "list-event-definitions",
        list(&[("limit", "1"), ("include_inactive", "true"), ("next_token", &token)]),
    )
    .await;
    assert_eq!((status, second[0]["eventName"].clone()), (200, json!("Beta")));
}
