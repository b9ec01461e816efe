//! The events API through its handlers and the real DynamoDB SDK, against moto.

mod common;

use common::{ApiRequest, TestStack, order_event, parts};
use serde_json::{Value, json};
use shared::http::MAX_BODY_BYTES;

fn post(tenant: &str, body: &Value) -> lambda_http::Request {
    ApiRequest::new("POST", "/api/v1/events")
        .for_tenant(tenant)
        .json(body)
        .build()
}

fn get(tenant: &str, id: &str) -> lambda_http::Request {
    ApiRequest::new("GET", &format!("/api/v1/events/{id}"))
        .for_tenant(tenant)
        .path_param("eventId", id)
        .build()
}

fn list(tenant: &str, query: &[(&str, &str)]) -> lambda_http::Request {
    query
        .iter()
        .fold(
            ApiRequest::new("GET", "/api/v1/events").for_tenant(tenant),
            |r, (k, v)| r.query(k, v),
        )
        .build()
}

#[tokio::test]
async fn created_event_reads_back_with_server_fields() {
    // GIVEN a fresh stack
    let stack = TestStack::new().await;

    // WHEN an event without an id is posted
    let mut body = order_event("unused", "ORD-1");
    body.as_object_mut().expect("object").remove("id");
    let (status, created) = parts(stack.call("create-event", post("acme", &body)).await);

    // THEN it is stored with a generated id and a creation time, and reads back equal
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id");
    assert!(id.starts_with("evt_"));
    assert!(created["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    let (status, read) = parts(stack.call("get-event", get("acme", id)).await);
    assert_eq!((status, &read), (200, &created));
}

#[tokio::test]
async fn an_accepted_event_costs_exactly_one_dynamodb_write() {
    // GIVEN create-event as deployed: definitions kept for a while once read
    let stack = TestStack::new().await;
    let mut functions = stack.functions();
    let api = functions.events_mut("create-event").expect("create-event");
    api.definitions = api
        .definitions
        .take()
        .map(|d| d.with_ttl(std::time::Duration::from_secs(60)));
    let create = |body: Value| functions.invoke("create-event", post("acme", &body));

    // WHEN the first ORDER event arrives, the definitions table says there is none
    let (status, _) = parts(create(order_event("e-0", "ORD-1")).await.expect("a function"));
    assert_eq!(status, 201);
    assert_eq!(stack.calls.take(), ["GetItem", "PutItem"]);

    // THEN later events of the name cost one write and nothing else
    let (status, _) = parts(create(order_event("e-1", "ORD-1")).await.expect("a function"));
    assert_eq!(status, 201);
    assert_eq!(stack.calls.take(), ["PutItem"]);

    // A replay is decided by the same single conditional write.
    let (status, _) = parts(create(order_event("e-1", "ORD-1")).await.expect("a function"));
    assert_eq!(status, 200);
    assert_eq!(stack.calls.take(), ["PutItem"]);
}

#[tokio::test]
async fn resend_with_same_content_replays_and_with_other_content_conflicts() {
    let stack = TestStack::new().await;
    let event = order_event("e-1", "ORD-1");
    let (_, first) = parts(stack.call("create-event", post("acme", &event)).await);

    let replay = stack.call("create-event", post("acme", &event)).await;
    assert_eq!(replay.headers()["Idempotent-Replayed"], "true");
    let (status, replayed) = parts(replay);
    assert_eq!(
        (status, &replayed),
        (200, &first),
        "the stored event, created_at included"
    );

    // Re-sending the stored event as returned (with created_at) is the same content.
    let (status, _) = parts(stack.call("create-event", post("acme", &first)).await);
    assert_eq!(status, 200);

    let mut changed = event.clone();
    changed["event_payload"]["operation"] = json!("UPDATE");
    let (status, problem) = parts(stack.call("create-event", post("acme", &changed)).await);
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["status"], 409);
}

#[tokio::test]
async fn tenants_never_see_each_other() {
    let stack = TestStack::new().await;
    parts(
        stack
            .call("create-event", post("acme", &order_event("e-1", "ORD-1")))
            .await,
    );

    let (status, _) = parts(stack.call("get-event", get("globex", "e-1")).await);
    assert_eq!(status, 404);
    let (status, page) = parts(
        stack
            .call(
                "list-events",
                list("globex", &[("entity_name", "ORDER"), ("entity_id", "ORD-1")]),
            )
            .await,
    );
    assert_eq!((status, page["items"].as_array().map(Vec::len)), (200, Some(0)));

    // The same id is free for another tenant.
    let (status, _) = parts(
        stack
            .call("create-event", post("globex", &order_event("e-1", "ORD-1")))
            .await,
    );
    assert_eq!(status, 201);
}

#[tokio::test]
async fn lists_an_entitys_events_newest_first_across_pages() {
    let stack = TestStack::new().await;
    for i in 0..5 {
        let (status, _) = parts(
            stack
                .call("create-event", post("acme", &order_event(&format!("e-{i}"), "ORD-1")))
                .await,
        );
        assert_eq!(status, 201);
        // created_at has millisecond precision: keep the order unambiguous.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    parts(
        stack
            .call("create-event", post("acme", &order_event("other", "ORD-2")))
            .await,
    );

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut query = vec![("entity_name", "order"), ("entity_id", "ORD-1"), ("limit", "2")];
        if let Some(t) = &token {
            query.push(("next_token", t));
        }
        let (status, page) = parts(stack.call("list-events", list("acme", &query)).await);
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|e| e["id"].as_str().expect("id").to_owned()),
        );
        match page["next_token"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["e-4", "e-3", "e-2", "e-1", "e-0"]);
}

#[tokio::test]
async fn authentication_fails_closed() {
    let stack = TestStack::new().await;
    let body = order_event("e-1", "ORD-1");
    let base = || ApiRequest::new("POST", "/api/v1/events").json(&body);

    let cases = [
        (
            "no authorizer claims",
            base().header("x-twc-tenant", "acme").build(),
            401,
        ),
        (
            "token of another tenant",
            base()
                .header("x-twc-tenant", "acme")
                .claims(json!({"tenant": "globex"}))
                .build(),
            403,
        ),
        (
            "token without the tenant claim",
            base()
                .header("x-twc-tenant", "acme")
                .claims(json!({"sub": "x"}))
                .build(),
            403,
        ),
        (
            "missing tenant header",
            base().claims(json!({"tenant": "acme"})).build(),
            400,
        ),
        (
            "malformed tenant header",
            base()
                .header("x-twc-tenant", "ac#me")
                .claims(json!({"tenant": "ac#me"}))
                .build(),
            400,
        ),
    ];
    for (case, request, expected) in cases {
        let (status, problem) = parts(stack.call("create-event", request).await);
        assert_eq!(status, expected, "{case}: {problem}");
        assert_eq!(problem["status"], expected, "{case}: problem+json body");
    }
    assert!(stack.calls.take().is_empty(), "refused requests never reach DynamoDB");
}

#[tokio::test]
async fn bad_input_gets_a_4xx_naming_the_problem() {
    let stack = TestStack::new().await;
    // The body of a valid event with one field set (JSON pointer syntax).
    let with = |pointer: &str, value: Value| {
        let mut body = order_event("e-1", "ORD-1");
        let (parent, key) = pointer.rsplit_once('/').expect("pointer");
        body.pointer_mut(parent).expect("parent exists")[key] = value;
        body.to_string()
    };
    let huge = format!(r#"{{"entity_id":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("not JSON", "{nope".into(), 400, "body"),
        ("JSON array", "[1,2]".into(), 400, "body"),
        ("wrong type", with("/entity_id", json!(42)), 400, "entity_id"),
        (
            "unknown operation",
            with("/event_payload/operation", json!("UPSERT")),
            400,
            "event_payload.operation",
        ),
        (
            "unknown event type",
            with("/event_type", json!("GOSSIP")),
            400,
            "event_type",
        ),
        (
            "unknown event source",
            with("/event_source", json!("PIGEON")),
            400,
            "event_source",
        ),
        (
            "unknown field",
            with("/event_payload/entity_id", json!("x")).replace(r#""entity_id":"x""#, r#""entityId":"x""#),
            400,
            "event_payload",
        ),
        (
            "bad base64",
            with("/event_payload/base64_encoded_payload_json", json!("%%%")),
            400,
            "event_payload.base64_encoded_payload_json",
        ),
        (
            "base64 of non-JSON",
            with("/event_payload/base64_encoded_fault_json", json!("aGVsbG8=")),
            400,
            "event_payload.base64_encoded_fault_json",
        ),
        (
            "bad entity name",
            with("/entity_name", json!("order-line")),
            400,
            "entity_name",
        ),
        ("id with a slash", with("/id", json!("a/b")), 400, "id"),
        ("body over the limit", huge, 413, ""),
    ];
    for (case, body, expected, field) in cases {
        let request = ApiRequest::new("POST", "/api/v1/events")
            .for_tenant("acme")
            .body(&body)
            .build();
        let (status, problem) = parts(stack.call("create-event", request).await);
        assert_eq!(status, expected, "{case}: {problem}");
        if !field.is_empty() {
            assert!(
                problem["errors"]
                    .as_array()
                    .expect("errors")
                    .iter()
                    .any(|e| e["field"].as_str().is_some_and(|f| f.starts_with(field))),
                "{case}: {problem} should name {field}"
            );
        }
    }

    let request = ApiRequest::new("POST", "/api/v1/events")
        .for_tenant("acme")
        .header("content-type", "text/plain")
        .json(&order_event("e-1", "ORD-1"))
        .build();
    assert_eq!(parts(stack.call("create-event", request).await).0, 415);
    assert!(stack.calls.take().is_empty(), "invalid events are never written");
}

#[tokio::test]
async fn bad_queries_and_ids_get_a_4xx() {
    let stack = TestStack::new().await;
    let entity = [("entity_name", "ORDER"), ("entity_id", "ORD-1")];
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("entity_id", "ORD-1")], "entity_name"),
        (vec![("entity_name", "ORDER")], "entity_id"),
        (vec![entity[0], entity[1], ("limit", "0")], "limit"),
        (vec![entity[0], entity[1], ("limit", "many")], "limit"),
        (vec![entity[0], entity[1], ("next_token", "!!")], "next_token"),
        // Valid base64, but not a cursor this API issued.
        (vec![entity[0], entity[1], ("next_token", "bm9wZQ")], "next_token"),
    ];
    for (query, field) in cases {
        let (status, problem) = parts(stack.call("list-events", list("acme", &query)).await);
        assert_eq!(status, 400, "{query:?}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{query:?}");
    }

    let long_id = "x".repeat(3000);
    for id in ["nope", long_id.as_str(), "a b"] {
        let (status, _) = parts(stack.call("get-event", get("acme", id)).await);
        assert_eq!(status, 404, "{id}");
    }
}

#[tokio::test]
async fn page_tokens_only_work_for_the_listing_that_issued_them() {
    let stack = TestStack::new().await;
    for i in 0..3 {
        parts(
            stack
                .call("create-event", post("acme", &order_event(&format!("e-{i}"), "ORD-1")))
                .await,
        );
    }
    let first = [("entity_name", "ORDER"), ("entity_id", "ORD-1"), ("limit", "1")];
    let (_, page) = parts(stack.call("list-events", list("acme", &first)).await);
    let token = page["next_token"].as_str().expect("more pages").to_owned();

    let elsewhere = [
        ("entity_name", "ORDER"),
        ("entity_id", "ORD-2"),
        ("next_token", token.as_str()),
    ];
    let (status, problem) = parts(stack.call("list-events", list("acme", &elsewhere)).await);
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("next_token")),
        "{problem}"
    );

    // A token with the right scope but a cursor this API never wrote.
    use base64::Engine as _;
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("ORDER/ORD-1\n{}#x", "9".repeat(20)));
    let tampered = [
        ("entity_name", "ORDER"),
        ("entity_id", "ORD-1"),
        ("next_token", forged.as_str()),
    ];
    stack.calls.take();
    assert_eq!(parts(stack.call("list-events", list("acme", &tampered)).await).0, 400);
    assert!(stack.calls.take().is_empty(), "a forged cursor never reaches DynamoDB");
}

#[tokio::test]
async fn expired_events_are_gone_before_ttl_deletes_them() {
    let stack = TestStack::new().await;
    parts(
        stack
            .call("create-event", post("acme", &order_event("e-old", "ORD-1")))
            .await,
    );
    parts(
        stack
            .call("create-event", post("acme", &order_event("e-new", "ORD-1")))
            .await,
    );
    // Age one item past its retention, as TTL would see it.
    stack
        .client
        .update_item()
        .table_name(stack.stack.tables.of(&shared::storage::schema::EVENTS))
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("T#acme#E#e-old".into()),
        )
        .update_expression("SET expires_at = :past")
        .expression_attribute_values(":past", aws_sdk_dynamodb::types::AttributeValue::N("1".into()))
        .send()
        .await
        .expect("age the item");

    assert_eq!(parts(stack.call("get-event", get("acme", "e-old")).await).0, 404);
    let (_, page) = parts(
        stack
            .call(
                "list-events",
                list("acme", &[("entity_name", "ORDER"), ("entity_id", "ORD-1")]),
            )
            .await,
    );
    let ids: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(ids, ["e-new"]);
}

/// An ORDER event whose payload is `payload` (JSON text, base64-encoded here).
fn with_payload_text(id: &str, payload: &str) -> Value {
    use base64::Engine as _;
    let mut body = order_event(id, "ORD-9");
    body["event_payload"]["base64_encoded_payload_json"] =
        json!(base64::engine::general_purpose::STANDARD.encode(payload));
    body
}

#[tokio::test]
async fn a_payload_is_delivered_as_sent_so_one_that_would_grow_if_re_serialised_is_accepted() {
    let stack = TestStack::new().await;
    // GIVEN a body within the API's limit whose payload would be about 540 KB as a
    // message if its numbers were re-serialised (1e15 as 1000000000000000.0)
    let numbers = format!("[{}1]", "1e15,".repeat(28_000));
    let body = with_payload_text("e-grows", &numbers);
    assert!(body.to_string().len() < MAX_BODY_BYTES);

    // WHEN it is posted
    let (status, created) = parts(stack.call("create-event", post("acme", &body)).await);

    // THEN it is accepted and stored as sent: its message is its text, which fits
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["event_payload"]["base64_encoded_payload_json"],
        body["event_payload"]["base64_encoded_payload_json"]
    );
}

/// acme's WISHLIST event `id` with `payload`, posted: its status and answer.
async fn post_wishlist(stack: &TestStack, id: &str, payload: &Value) -> (u16, Value) {
    let mut body = with_payload_text(id, &payload.to_string());
    body["entity_name"] = json!("WISHLIST");
    parts(stack.call("create-event", post("acme", &body)).await)
}

/// A 400 naming the payload field, as a payload the projections refuse gets.
fn assert_payload_refused(status: u16, problem: &Value) {
    assert_eq!(status, 400, "{problem}");
    assert_eq!(
        problem["errors"][0]["field"],
        "event_payload.base64_encoded_payload_json"
    );
}

#[tokio::test]
async fn ids_the_projections_put_in_keys_are_bounded_at_the_request() {
    let stack = TestStack::new().await;
    let long = "x".repeat(3000);
    for payload in [
        json!({"shopper": {"id": long, "email": "a@example.com"}, "items": []}),
        json!({"shopper": {"id": "A", "email": "a@example.com"},
               "items": [{"product_id": long, "name": "P", "url": "https://shop.example/p"}]}),
        json!({"shopper": {"id": "A", "email": "a@example.com"},
               "items": [{"product_id": "P", "variant_id": long, "name": "P", "url": "https://shop.example/p"}]}),
    ] {
        let (status, problem) = post_wishlist(&stack, "e-long", &payload).await;
        assert_payload_refused(status, &problem);
        assert!(!problem.to_string().contains(&long), "the value is never echoed");
    }
}

#[tokio::test]
async fn links_for_e_mails_shopper_addresses_and_invisible_id_characters_are_refused_at_the_request() {
    // GIVEN the stack, and a wishlist that is fine but for one member
    let stack = TestStack::new().await;
    let item =
        json!({"product_id": "P", "name": "P", "url": "https://shop.example/p", "image": "https://cdn.example/p.jpg"});
    let with_item = |change: (&str, &str)| {
        let mut item = item.clone();
        item[change.0] = json!(change.1);
        json!({"shopper": {"id": "A", "email": "a@example.com"}, "items": [item]})
    };
    let cases = [
        (with_item(("url", "javascript:alert(document.cookie)")), "items[0].url"),
        (
            with_item(("image", "data:text/html;base64,PHNjcmlwdD4=")),
            "items[0].image",
        ),
        (with_item(("url", "http://shop.example/p")), "items[0].url"),
        (
            json!({"shopper": {"id": "A", "email": "not-an-address"}, "items": [item]}),
            "shopper.email",
        ),
    ];
    for (payload, member) in cases {
        // WHEN it is posted
        let (status, problem) = post_wishlist(&stack, "e-link", &payload).await;
        // THEN it is a 400 naming the payload and the member, never quoting the value
        assert_payload_refused(status, &problem);
        let reason = problem["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(reason.contains(member), "{member}: {problem}");
        assert!(!problem.to_string().contains("javascript") && !problem.to_string().contains("not-an-address"));
    }
    // AND an entity id that reads as another (a right-to-left override) is a 400
    let spoofed = order_event("e-bidi", "ORD-1\u{202E}0001");
    let (status, problem) = parts(stack.call("create-event", post("acme", &spoofed)).await);
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "entity_id");
    // AND the same wishlist with https links is accepted
    let (status, created) = post_wishlist(&stack, "e-fine", &with_item(("url", "https://shop.example/p"))).await;
    assert_eq!(status, 201, "{created}");
}
