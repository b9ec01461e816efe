//! The typed event endpoints of seed 003 through their handlers and the real
//! DynamoDB SDK against moto, with the seed's sample bodies (events/).

mod common;

use common::{ApiRequest, TestStack, parts};
use serde_json::{Value, json};

/// The body of the events/ sample for `function`.
fn sample_body(function: &str) -> Value {
    let path = format!("{}/../events/{function}.json", env!("CARGO_MANIFEST_DIR"));
    let sample: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("json");
    serde_json::from_str(sample["body"].as_str().expect("body")).expect("body json")
}

async fn post(stack: &TestStack, kind: &str, body: &Value) -> (u16, Value) {
    let request = ApiRequest::new("POST", &format!("/api/v1/events/{kind}s"))
        .for_tenant("acme")
        .json(body)
        .build();
    let function = format!("create-{kind}-event");
    parts(stack.functions().invoke(&function, request).await.expect("a function"))
}

/// The stored event `id` of acme, through get-event.
async fn read(stack: &TestStack, id: &str) -> (u16, Value) {
    let request = ApiRequest::new("GET", &format!("/api/v1/events/{id}"))
        .for_tenant("acme")
        .path_param("eventId", id)
        .build();
    parts(stack.call("get-event", request).await)
}

/// The decoded `base64_encoded_payload_json` of a stored event.
fn payload_of(stored: &Value) -> Value {
    let encoded = stored["event_payload"]["base64_encoded_payload_json"]
        .as_str()
        .expect("payload");
    shared::events::decode_json(encoded).expect("JSON payload")
}

#[tokio::test]
async fn each_typed_endpoint_stores_one_event_and_answers_the_seeds_way() {
    let stack = TestStack::new().await;
    for (kind, entity, entity_id) in [
        ("action", "ACTION", "3fa85f64-5717-4562-b3fc-2c963f66afa6"),
        ("order", "ORDER", "ORD-1001"),
        ("transaction", "TRANSACTION", "3fa85f64-5717-4562-b3fc-2c963f66afa6"),
    ] {
        let body = sample_body(&format!("create-{kind}-event"));
        // WHEN the seed's body is sent, then sent again
        let (status, first) = post(&stack, kind, &body).await;
        let (again_status, again) = post(&stack, kind, &body).await;
        // THEN it is accepted once and recognised the second time
        assert_eq!(status, 200, "{kind}: {first}");
        let expected = json!({"eventId": body["eventId"], "customerId": body["customerId"], "tenantId": "acme", "isExisting": false});
        assert_eq!(first, expected);
        assert_eq!((again_status, &again["isExisting"]), (200, &json!(true)), "{kind}");
        // … and stored as a canonical event with the body as its payload
        let (status, stored) = read(&stack, body["eventId"].as_str().expect("id")).await;
        assert_eq!(status, 200);
        assert_eq!(
            (stored["entity_name"].as_str(), stored["entity_id"].as_str()),
            (Some(entity), Some(entity_id))
        );
        assert_eq!(payload_of(&stored), body, "{kind}");
    }
}

#[tokio::test]
async fn a_resend_with_regenerated_fields_is_existing_and_the_first_body_wins() {
    // GIVEN an order accepted once
    let stack = TestStack::new().await;
    let body = sample_body("create-order-event");
    assert_eq!(post(&stack, "order", &body).await.0, 200);
    // WHEN the seed's client sends its eventId again with other fields
    let mut changed = body.clone();
    changed["order"]["total"] = json!(1);
    changed["reference"] = json!("regenerated");
    stack.calls.take();
    let (status, answer) = post(&stack, "order", &changed).await;
    // THEN it is told the event exists, and nothing is written (so nothing is fanned out)
    assert_eq!((status, &answer["isExisting"]), (200, &json!(true)), "{answer}");
    // The refused conditional put, the read of the first event, and the refused
    // claim of its (known) customer: nothing is written.
    assert_eq!(stack.calls.take(), ["PutItem", "GetItem", "TransactWriteItems"]);
    let (_, stored) = read(&stack, body["eventId"].as_str().expect("id")).await;
    assert_eq!(payload_of(&stored)["order"], body["order"], "the first body is kept");
}

#[tokio::test]
async fn bad_bodies_are_400() {
    let stack = TestStack::new().await;
    let body = sample_body("create-order-event");

    let mut no_block = body.clone();
    no_block.as_object_mut().expect("object").remove("order");
    let (status, problem) = post(&stack, "order", &no_block).await;
    assert_eq!(status, 400);
    assert!(problem.to_string().contains("order"), "{problem}");
    let mut bad_customer = sample_body("create-action-event");
    bad_customer["customerId"] = json!("customer-1");
    let (status, problem) = post(&stack, "action", &bad_customer).await;
    assert_eq!(status, 400);
    assert!(problem.to_string().contains("customerId"), "{problem}");
    assert_eq!(
        post(&stack, "transaction", &json!(["not", "an", "object"])).await.0,
        400
    );
}

#[tokio::test]
async fn any_spelling_of_a_uuid_is_one_event_read_back_canonical() {
    let stack = TestStack::new().await;
    let canonical = "0d9b2c4e-1f3a-4e5b-8c7d-6a5b4c3d2e1f";
    let mut body = sample_body("create-action-event");
    // GIVEN an action sent with its ids braced and upper case
    body["eventId"] = json!(format!("{{{}}}", canonical.to_uppercase()));
    body["customerId"] = json!("urn:uuid:3FA85F64-5717-4562-B3FC-2C963F66AFA6");
    let (status, first) = post(&stack, "action", &body).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["eventId"], canonical);
    assert_eq!(first["customerId"], "3fa85f64-5717-4562-b3fc-2c963f66afa6");
    // WHEN it is sent again, spelled the canonical way
    body["eventId"] = json!(canonical);
    let (status, again) = post(&stack, "action", &body).await;
    // THEN it is the same event, and it reads back by its canonical id
    assert_eq!((status, &again["isExisting"]), (200, &json!(true)), "{again}");
    assert_eq!(read(&stack, canonical).await.0, 200);
}

#[tokio::test]
async fn an_orders_numbers_are_stored_as_sent() {
    let stack = TestStack::new().await;
    // GIVEN an order whose total and reference no f64 holds
    let sent = r#"{"eventId":"6b1f3a2e-0c4d-4e5f-8a9b-1c2d3e4f5a6b","customerId":"3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "order":{"orderId":"ORD-EXACT","total":0.12345678901234567890,"ref":123456789012345678901234}}"#;
    // WHEN it is posted
    let request = ApiRequest::new("POST", "/api/v1/events/orders")
        .for_tenant("acme")
        .header("content-type", "application/json")
        .body(sent)
        .build();
    let (status, answer) = parts(stack.call("create-order-event", request).await);
    assert_eq!(status, 200, "{answer}");
    // THEN the stored event's payload has them digit for digit
    let (status, stored) = read(&stack, "6b1f3a2e-0c4d-4e5f-8a9b-1c2d3e4f5a6b").await;
    assert_eq!(status, 200);
    let encoded = stored["event_payload"]["base64_encoded_payload_json"]
        .as_str()
        .expect("payload");
    let payload = shared::events::decode_json_text(encoded).expect("JSON payload");
    for digits in ["0.12345678901234567890", "123456789012345678901234"] {
        assert!(payload.get().contains(digits), "{payload}");
    }
}

#[tokio::test]
async fn an_order_id_too_long_for_a_key_is_a_400() {
    let stack = TestStack::new().await;
    let mut body = sample_body("create-order-event");
    body["order"]["orderId"] = json!("x".repeat(3000));
    let (status, problem) = post(&stack, "order", &body).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "order.orderId");
}

#[tokio::test]
async fn a_resend_answers_the_stored_customer_and_another_kinds_id_is_a_409() {
    let stack = TestStack::new().await;
    let body = sample_body("create-action-event");
    assert_eq!(post(&stack, "action", &body).await.0, 200);
    // WHEN the id comes again with another customer
    let mut other_customer = body.clone();
    other_customer["customerId"] = json!("11111111-2222-4333-8444-555555555555");
    let (status, answer) = post(&stack, "action", &other_customer).await;
    // THEN the answer is the stored event's: its customer, isExisting
    assert_eq!((status, &answer["isExisting"]), (200, &json!(true)), "{answer}");
    assert_eq!(answer["customerId"], body["customerId"]);
    // AND the same id at another typed endpoint is not taken for this event
    let mut as_transaction = body.clone();
    as_transaction["transaction"] = json!({"amount": 1});
    let (status, problem) = post(&stack, "transaction", &as_transaction).await;
    assert_eq!(status, 409, "{problem}");
}

#[tokio::test]
async fn a_typed_event_is_stored_in_its_requests_trace_and_a_resend_answers_the_first() {
    // GIVEN an order posted with a traceparent
    let stack = TestStack::new().await;
    let body = sample_body("create-order-event");
    let first = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let post = |trace: &str| {
        ApiRequest::new("POST", "/api/v1/events/orders")
            .for_tenant("acme")
            .header("traceparent", trace)
            .json(&body)
            .build()
    };
    let answered = stack.call("create-order-event", post(first)).await;
    // THEN the answer carries it and the stored event keeps it
    assert_eq!(
        answered.headers().get("traceparent").and_then(|v| v.to_str().ok()),
        Some(first)
    );
    let (_, answer) = parts(answered);
    let id = answer["eventId"].as_str().expect("event id");
    assert_eq!(read(&stack, id).await.1["traceparent"], first);
    // AND a resend in another trace answers the first event's, also with
    // regenerated fields (the first body wins)
    let mut changed = body.clone();
    changed["reference"] = json!("regenerated");
    for resent in [&body, &changed] {
        let request = ApiRequest::new("POST", "/api/v1/events/orders")
            .for_tenant("acme")
            .header("traceparent", "00-11111111111111111111111111111111-2222222222222222-00")
            .json(resent)
            .build();
        let again = stack.call("create-order-event", request).await;
        assert_eq!(
            again.headers().get("traceparent").and_then(|v| v.to_str().ok()),
            Some(first)
        );
    }
}
