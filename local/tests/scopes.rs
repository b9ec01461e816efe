//! What a token's scopes let it do, through the local run with `AUTH=jwt` (dev
//! tokens verified as API Gateway's authorizer would, against moto): storing
//! events, moving points and reading personal data each need their own scope;
//! a read-only token (a console's) may do none of them. Nor may a token without
//! the personal-data scope have personal data sent out, or stored, unmasked.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::LocalRun;
use local::dev_token;
use local::gateway::LocalAuth;
use serde_json::{Value, json};
use shared::events::Event;
use shared::loyalty::{Assessable, DynamoLedger, Ledger};
use shared::storage::schema::LOYALTY;
use shared::tenant::TenantId;

const SECRET: &str = "scopes-test-secret";
const CUSTOMER: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
const EVENTS: &str = "event-collector/events";
const POINTS: &str = "event-collector/points";
const WRITE: &str = "event-collector/write";
const ADMIN: &str = "event-collector/admin";
const PERSONAL_DATA: &str = "event-collector/personal-data";

struct Run {
    local: LocalRun,
    /// Every scope, as `scripts/dev token acme` grants by default.
    full: String,
    /// A console's token: it may read, nothing more.
    read_only: String,
}

impl Run {
    async fn start() -> Self {
        let local = LocalRun::start(LocalAuth::DevTokens { secret: SECRET.into() }).await;
        Self {
            local,
            full: token(&dev_token::every_scope()),
            read_only: token(&["openid"]),
        }
    }

    async fn call(&self, method: &str, path: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
        let (status, _, json) = self
            .local
            .call_with(method, path, Some("acme"), Some(token), body)
            .await;
        (status, json)
    }

    /// The customer's available points, read from the ledger itself.
    async fn available(&self) -> u64 {
        let stack = &self.local.stack;
        let ledger = DynamoLedger::new(stack.client.clone(), stack.stack.tables.of(&LOYALTY));
        let acme = TenantId::parse("acme").expect("tenant");
        let state = ledger.state(&acme, CUSTOMER).await.expect("state");
        state.available(chrono::Utc::now())
    }

    /// Assesses the stored event `id` as the assessor would once the bus routed it.
    async fn assess(&self, id: &str) {
        let (status, event) = self
            .call("GET", &format!("/api/v1/events/{id}"), &self.full, None)
            .await;
        assert_eq!(status, 200, "{event}");
        let event: Event = serde_json::from_value(event).expect("an event");
        let acme = TenantId::parse("acme").expect("tenant");
        let assessable = Assessable::from_event(&acme, &event).expect("assessable");
        self.local
            .stack
            .stack
            .assessor()
            .assess_event(&assessable)
            .await
            .expect("assessed");
    }
}

fn token(scopes: &[&str]) -> String {
    let now = chrono::Utc::now().timestamp();
    dev_token::mint_with_scopes(SECRET, common::TENANT_CLAIM, "acme", scopes, now, 600)
}

/// A 403 problem whose detail names `scope`.
fn refused_naming(answer: &(u16, Value), scope: &str) {
    let (status, problem) = answer;
    assert_eq!(*status, 403, "{problem}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(&format!("\"{scope}\"")), "{problem}");
}

fn typed(block: &str, event_id: &str, fields: Value) -> Value {
    json!({block: fields, "eventId": event_id, "customerId": CUSTOMER,
           "nameSpace": "Customer.Registration", "attributes": [{"key": "channel", "value": "web"}]})
}

#[tokio::test]
async fn storing_events_needs_the_events_scope() {
    let run = Run::start().await;
    let event = common::order_event("evt-scope-1", "ORD-1");
    // GIVEN a read-only token WHEN it stores an event THEN 403 naming the events scope
    let refused = run.call("POST", "/api/v1/events", &run.read_only, Some(&event)).await;
    refused_naming(&refused, EVENTS);
    assert_eq!(
        run.call("GET", "/api/v1/events/evt-scope-1", &run.full, None).await.0,
        404
    );
    // AND with the events scope alone it may (an order naming no customer earns nothing)
    let stored = run
        .call("POST", "/api/v1/events", &token(&[EVENTS]), Some(&event))
        .await;
    assert_eq!(stored.0, 201, "{}", stored.1);
}

#[tokio::test]
async fn only_the_points_scope_earns_or_spends_points() {
    // GIVEN a customer who earned 100 points (a full token, as the README's)
    let run = Run::start().await;
    let bonus = json!({"name": "Registration bonus", "ruleSet": "ACTION",
        "conditions": {"nameSpaces": ["Customer.Registration"]},
        "fulfilment": {"points": {"fixed": 100}}});
    assert_eq!(run.call("POST", "/api/v1/rules", &run.full, Some(&bonus)).await.0, 201);
    let registration = typed("action", "0d9b2c4e-1f3a-4e5b-8c7d-6a5b4c3d2e1f", json!({"amount": 0}));
    let earned = run
        .call("POST", "/api/v1/events/actions", &run.full, Some(&registration))
        .await;
    assert_eq!(earned.0, 200, "{}", earned.1);
    run.assess("0d9b2c4e-1f3a-4e5b-8c7d-6a5b4c3d2e1f").await;
    assert_eq!(run.available().await, 100);

    // WHEN a read-only token redeems THEN 403 naming the events scope, then the points one
    let redemption = typed(
        "redemption",
        "1d9b2c4e-1f3a-4e5b-8c7d-6a5b4c3d2e1f",
        json!({"quantity": 60}),
    );
    let path = "/api/v1/events/redemptions";
    refused_naming(&run.call("POST", path, &run.read_only, Some(&redemption)).await, EVENTS);
    let events_only = token(&[EVENTS]);
    refused_naming(&run.call("POST", path, &events_only, Some(&redemption)).await, POINTS);
    // AND a token that may only store events earns nothing either: a typed action,
    // or a generic ACTION naming the customer, which the assessor applies as one
    let again = typed("action", "2d9b2c4e-1f3a-4e5b-8c7d-6a5b4c3d2e1f", json!({"amount": 0}));
    refused_naming(
        &run.call("POST", "/api/v1/events/actions", &events_only, Some(&again))
            .await,
        POINTS,
    );
    let generic = json!({
        "id": "2d9b2c4e-1f3a-4e5b-8c7d-6a5b4c3d2e1f", "entity_id": CUSTOMER, "entity_name": "ACTION",
        "event_source": "APPLICATION", "event_type": "ENTITY_EVENT",
        "event_payload": {"operation": "CREATE", "key_attributes": {"customer_id": CUSTOMER},
            "base64_encoded_payload_json": STANDARD.encode(again.to_string())}
    });
    refused_naming(
        &run.call("POST", "/api/v1/events", &events_only, Some(&generic)).await,
        POINTS,
    );
    // THEN nothing was spent or stored
    assert_eq!(run.available().await, 100);
    for id in [
        "1d9b2c4e-1f3a-4e5b-8c7d-6a5b4c3d2e1f",
        "2d9b2c4e-1f3a-4e5b-8c7d-6a5b4c3d2e1f",
    ] {
        assert_eq!(
            run.call("GET", &format!("/api/v1/events/{id}"), &run.full, None)
                .await
                .0,
            404
        );
    }

    // WHEN a token with both scopes redeems THEN the points are spent
    let spender = token(&[EVENTS, POINTS]);
    let (status, answer) = run.call("POST", path, &spender, Some(&redemption)).await;
    assert_eq!((status, &answer["pendingBalance"]), (200, &json!(40)), "{answer}");
    assert_eq!(run.available().await, 40);
}

#[tokio::test]
async fn personal_data_reads_masked_without_the_personal_data_scope() {
    // GIVEN a definition marking `phone` as personal data, and an event holding one
    let run = Run::start().await;
    let definition = json!({"eventName": "purchaseEvent", "actions": ["EMFConsumer"],
        "fields": [{"name": "email", "type": "customer"}, {"name": "amount", "type": "double"},
                   {"name": "phone", "type": "string", "isPsiData": true}]});
    let created = run
        .call("POST", "/api/v1/event-definitions", &run.full, Some(&definition))
        .await;
    assert_eq!(created.0, 201, "{}", created.1);
    let payload = r#"{"email": "ann@example.com", "amount": 12.50, "phone": "+44 20 7946 0000"}"#;
    let event = |id: &str| {
        json!({"id": id, "entity_id": "C-1", "entity_name": "PURCHASEEVENT", "event_source": "APPLICATION",
               "event_type": "ENTITY_EVENT",
               "event_payload": {"operation": "CREATE", "base64_encoded_payload_json": STANDARD.encode(payload)}})
    };
    let decoded = |event: &Value| -> String {
        let encoded = event["event_payload"]["base64_encoded_payload_json"]
            .as_str()
            .unwrap_or_default();
        String::from_utf8(STANDARD.decode(encoded).expect("base64")).expect("utf-8")
    };
    let masked = r#"{"email":"ann@example.com","amount":12.50,"phone":"****"}"#;
    // WHEN a token that may store events, not read personal data, stores it
    let (status, stored) = run
        .call("POST", "/api/v1/events", &token(&[EVENTS]), Some(&event("p-1")))
        .await;
    // THEN even its own answer shows the phone masked, the rest as sent
    assert_eq!(status, 201, "{stored}");
    assert_eq!(decoded(&stored), masked);
    // AND a read-only token (the console's) reads it masked, alone and listed
    let (status, read) = run.call("GET", "/api/v1/events/p-1", &run.read_only, None).await;
    assert_eq!((status, decoded(&read).as_str()), (200, masked));
    let list = "/api/v1/events?entity_name=PURCHASEEVENT&entity_id=C-1";
    let (status, page) = run.call("GET", list, &run.read_only, None).await;
    assert_eq!((status, decoded(&page["items"][0]).as_str()), (200, masked));
    // AND the same token resending it gets the stored event back masked too
    let (status, replayed) = run
        .call("POST", "/api/v1/events", &token(&[EVENTS]), Some(&event("p-1")))
        .await;
    assert_eq!((status, decoded(&replayed).as_str()), (200, masked));
    // AND with the personal-data scope it reads as sent
    let (status, clear) = run
        .call("GET", "/api/v1/events/p-1", &token(&[PERSONAL_DATA]), None)
        .await;
    assert_eq!((status, decoded(&clear).as_str()), (200, payload));
}

fn purchase_definition(phone_is_psi: bool) -> Value {
    json!({"eventName": "purchaseEvent", "actions": ["EMFConsumer"],
        "fields": [{"name": "email", "type": "customer"}, {"name": "amount", "type": "double"},
                   {"name": "phone", "type": "string", "isPsiData": phone_is_psi}]})
}

#[tokio::test]
async fn only_the_personal_data_scope_stops_personal_data_being_masked() {
    // GIVEN a definition marking `phone` as personal data
    let run = Run::start().await;
    let created = run
        .call(
            "POST",
            "/api/v1/event-definitions",
            &run.full,
            Some(&purchase_definition(true)),
        )
        .await;
    assert_eq!(created.0, 201, "{}", created.1);
    let path = "/api/v1/event-definitions/purchaseEvent";
    let writer = token(&[WRITE]);
    // WHEN a token that may change configuration, not read personal data, drops
    // the phone's isPsiData or deactivates the definition THEN 403 naming the scope
    let dropped = run.call("PUT", path, &writer, Some(&purchase_definition(false))).await;
    refused_naming(&dropped, PERSONAL_DATA);
    assert!(
        dropped.1["detail"].as_str().unwrap_or_default().contains("phone"),
        "{}",
        dropped.1
    );
    let mut removed = purchase_definition(true);
    removed["fields"].as_array_mut().expect("fields").pop();
    refused_naming(&run.call("PUT", path, &writer, Some(&removed)).await, PERSONAL_DATA);
    refused_naming(
        &run.call("PUT", &format!("{path}/deactivate"), &writer, None).await,
        PERSONAL_DATA,
    );
    // AND the definition still masks the phone
    let (status, current) = run.call("GET", path, &writer, None).await;
    assert_eq!(
        (status, &current["version"], &current["fields"][2]["isPsiData"]),
        (200, &json!(1), &json!(true))
    );
    // AND it may still change the rest, keeping the phone masked
    let mut described = purchase_definition(true);
    described["description"] = json!("till purchases");
    let (status, answer) = run.call("PUT", path, &writer, Some(&described)).await;
    assert_eq!(status, 200, "{answer}");
    // AND with the personal-data scope too, it may drop it
    let (status, answer) = run
        .call(
            "PUT",
            path,
            &token(&[WRITE, PERSONAL_DATA]),
            Some(&purchase_definition(false)),
        )
        .await;
    assert_eq!(
        (status, &answer["fields"][2]["isPsiData"]),
        (200, &json!(false)),
        "{answer}"
    );
}

#[tokio::test]
async fn include_psi_needs_the_personal_data_scope_as_well_as_admin() {
    // GIVEN a queue to deliver to, and a token that may change configuration and
    // send personal data out, not read it
    let run = Run::start().await;
    let sqs = aws_sdk_sqs::Client::new(&shared::aws::sdk_config().await);
    let name = format!("psi-{}", uuid::Uuid::now_v7().simple());
    let url = local::provision::tenant_queue(&sqs, &name, "acme")
        .await
        .expect("queue");
    let subscription = |psi: bool| {
        json!({"id": "sub-psi", "entityType": "PURCHASEEVENT", "subscribeCreate": true, "includePsi": psi,
               "destination": {"type": "SQS", "sqs": {"queueUrl": url, "region": "us-east-1"}}})
    };
    let admin = token(&[WRITE, ADMIN]);
    let path = "/api/v1/event-subscription";
    // WHEN it subscribes with includePsi THEN 403 naming the personal-data scope
    refused_naming(
        &run.call("POST", path, &admin, Some(&subscription(true))).await,
        PERSONAL_DATA,
    );
    // AND it may subscribe without, but not turn includePsi on after
    let (status, answer) = run.call("POST", path, &admin, Some(&subscription(false))).await;
    assert_eq!(status, 201, "{answer}");
    refused_naming(
        &run.call("PUT", path, &admin, Some(&subscription(true))).await,
        PERSONAL_DATA,
    );
    refused_naming(
        &run.call("PUT", &format!("{path}/sub-psi"), &admin, Some(&subscription(true)))
            .await,
        PERSONAL_DATA,
    );
    let (status, stored) = run.call("GET", &format!("{path}/sub-psi"), &admin, None).await;
    assert_eq!((status, &stored["includePsi"]), (200, &json!(false)), "{stored}");
    // AND with the personal-data scope too, it may
    let (status, answer) = run
        .call(
            "PUT",
            path,
            &token(&[WRITE, ADMIN, PERSONAL_DATA]),
            Some(&subscription(true)),
        )
        .await;
    assert_eq!((status, &answer["includePsi"]), (200, &json!(true)), "{answer}");
}
