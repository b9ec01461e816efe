//! The projector against moto: entity events POSTed through the API, the events
//! table's stream read as Lambda reads it, and the wishlists, product states and
//! product → shopper entries they leave in the projections table.

mod common;

use aws_lambda_events::event::dynamodb::EventRecord;
use common::ProjectedStack;
use serde_json::{Value, json};
use shared::projections::{ProductKey, Projections};
use shared::storage::schema::PROJECTIONS;
use shared::tenant::TenantId;

/// The projected stack, for tenant acme.
struct Harness(ProjectedStack);

impl Harness {
    async fn new() -> Self {
        Self(ProjectedStack::new().await)
    }

    async fn post(&mut self, entity: &str, operation: &str, payload: Value) {
        self.0.post("acme", entity, operation, payload).await;
    }

    async fn project(&mut self) -> Vec<aws_lambda_events::event::dynamodb::EventRecord> {
        self.0.project().await
    }
}

impl std::ops::Deref for Harness {
    type Target = ProjectedStack;

    fn deref(&self) -> &ProjectedStack {
        &self.0
    }
}

fn shopper(id: &str) -> Value {
    json!({"id": id, "email": format!("{id}@example.com"), "name": id})
}

fn item(product: &str) -> Value {
    json!({"product_id": product, "name": format!("Product {product}"), "url": format!("https://shop.example/p/{product}"),
           "price": 49.0, "currency": "EUR"})
}

#[tokio::test]
async fn wishlists_and_stock_events_build_the_projections() {
    let mut h = Harness::new().await;
    let acme = TenantId::parse("acme").expect("tenant");
    let (p1, p2) = (ProductKey::new("P1", None), ProductKey::new("P2", None));
    // GIVEN wishlists A = {P1, P2} and B = {P2}, and P2 out of stock then restocked
    h.post(
        "WISHLIST",
        "CREATE",
        json!({"shopper": shopper("A"), "items": [item("P1"), item("P2")]}),
    )
    .await;
    h.post(
        "WISHLIST_ITEM",
        "CREATE",
        json!({"shopper": shopper("B"), "item": item("P2")}),
    )
    .await;
    h.post(
        "INVENTORY_LEVEL",
        "UPDATE",
        json!({"product_id": "P2", "quantity": 0, "occurred_at": "2026-11-20T08:00:00Z"}),
    )
    .await;
    h.post(
        "INVENTORY_LEVEL",
        "UPDATE",
        json!({"product_id": "P2", "quantity": 5, "occurred_at": "2026-11-20T09:00:00Z"}),
    )
    .await;
    h.post("ORDER", "CREATE", json!({"total": 1})).await;
    // WHEN the stream is projected
    let records = h.project().await;
    let store = h.store();

    // THEN the wishlists, the product → shopper entries and P2's restock are there
    let a = store.wishlist(&acme, "A").await.expect("read").expect("A's wishlist");
    assert_eq!(a.present().count(), 2);
    let mut wishing = store.shoppers_wishing(&acme, &p2).await.expect("read");
    wishing.sort();
    assert_eq!(wishing, ["A", "B"]);
    assert_eq!(store.shoppers_wishing(&acme, &p1).await.expect("read"), ["A"]);
    let state = store.product(&acme, &p2).await.expect("read").expect("P2");
    assert_eq!(state.stock.current(), Some(&5));
    assert_eq!(
        state.last_restock_at.map(|t| t.to_rfc3339()),
        Some("2026-11-20T09:00:00+00:00".to_owned())
    );

    // WHEN the same batch comes again, and a stale stock level arrives late
    assert!(h.projector.stream_batch(&records).await.is_empty());
    h.post(
        "INVENTORY_LEVEL",
        "UPDATE",
        json!({"product_id": "P2", "quantity": 0, "occurred_at": "2026-11-20T07:00:00Z"}),
    )
    .await;
    h.project().await;
    // THEN P2 is still in stock, restocked at 09:00
    let state = h
        .projector
        .store()
        .product(&acme, &p2)
        .await
        .expect("read")
        .expect("P2");
    assert_eq!(state.stock.current(), Some(&5));
    assert_eq!(
        state.last_restock_at.map(|t| t.to_rfc3339()),
        Some("2026-11-20T09:00:00+00:00".to_owned())
    );

    // WHEN A takes P2 off the wishlist
    h.post(
        "WISHLIST_ITEM",
        "DELETE",
        json!({"shopper": shopper("A"), "item": item("P2")}),
    )
    .await;
    h.project().await;
    // THEN only B still wishes for it
    assert_eq!(h.store().shoppers_wishing(&acme, &p2).await.expect("read"), ["B"]);
}

#[tokio::test]
async fn a_retried_wishlist_event_restores_a_missing_product_entry() {
    use aws_sdk_dynamodb::types::AttributeValue;
    // GIVEN a projected wishlist whose product → shopper entry was lost (a write
    // that failed after the wishlist itself was stored)
    let mut h = Harness::new().await;
    let acme = TenantId::parse("acme").expect("tenant");
    h.post(
        "WISHLIST",
        "CREATE",
        json!({"shopper": shopper("A"), "items": [item("P1")]}),
    )
    .await;
    let records = h.project().await;
    h.stack
        .client
        .delete_item()
        .table_name(h.stack.stack.tables.of(&PROJECTIONS))
        .key("pk", AttributeValue::S("T#acme#P#P1".into()))
        .key("sk", AttributeValue::S("S#A".into()))
        .send()
        .await
        .expect("delete");
    assert!(
        h.store()
            .shoppers_wishing(&acme, &ProductKey::new("P1", None))
            .await
            .expect("read")
            .is_empty()
    );
    // WHEN Lambda hands the same record over again
    assert!(h.projector.stream_batch(&records).await.is_empty());
    // THEN the entry is back, although the wishlist itself did not change
    assert_eq!(
        h.store()
            .shoppers_wishing(&acme, &ProductKey::new("P1", None))
            .await
            .expect("read"),
        ["A"]
    );
}

/// `record` with its event's payload replaced by `payload`: an event that reached
/// the stream although DynamoDB will refuse its projection (written before a limit
/// existed, or by another writer).
fn with_payload(record: &EventRecord, payload: &Value) -> EventRecord {
    use base64::Engine as _;
    let mut json = serde_json::to_value(record).expect("record JSON");
    json["dynamodb"]["NewImage"]["event_payload"]["M"]["base64_encoded_payload_json"]["S"] =
        json!(base64::engine::general_purpose::STANDARD.encode(payload.to_string()));
    serde_json::from_value(json).expect("record")
}

#[tokio::test]
async fn a_record_that_can_never_be_projected_is_parked_and_the_rest_of_the_batch_goes_on() {
    // GIVEN one batch: acme's wishlist, whose shopper id is too long for any key
    // (accepted before the API bounded it, say), then globex's ordinary one
    let mut h = Harness::new().await;
    h.post(
        "WISHLIST",
        "CREATE",
        json!({"shopper": shopper("A"), "items": [item("P1")]}),
    )
    .await;
    h.0.post(
        "globex",
        "WISHLIST",
        "CREATE",
        json!({"shopper": shopper("B"), "items": [item("P1")]}),
    )
    .await;
    let mut records = h.0.stream.poll().await.expect("records");
    assert_eq!(records.len(), 2);
    let huge = "x".repeat(3000);
    records[0] = with_payload(&records[0], &json!({"shopper": shopper(&huge), "items": [item("P1")]}));

    // WHEN the projector takes the batch, once
    let failed = h.projector.stream_batch(&records).await;

    // THEN nothing is left for Lambda to retry: globex is projected on this first
    // attempt, and acme's record is on the failure queue with the reason
    assert!(failed.is_empty(), "a poison record must not hold the shard: {failed:?}");
    let globex = TenantId::parse("globex").expect("tenant");
    assert!(h.store().wishlist(&globex, "B").await.expect("read").is_some());
    let sqs = aws_sdk_sqs::Client::new(&shared::aws::sdk_config().await);
    let parked = common::drain(&sqs, &h.stack.stack.projector_failure_queue_url).await;
    assert_eq!(parked.len(), 1, "{parked:?}");
    let parked: Value = serde_json::from_str(parked[0].body().expect("body")).expect("JSON");
    assert_eq!(
        (parked["function"].as_str(), parked["tenant"].as_str()),
        (Some("projector"), Some("acme"))
    );
    assert_eq!(parked["eventId"], "evt-1");
    assert!(
        parked["reason"].as_str().is_some_and(|r| r.contains("shopper.id")),
        "{parked}"
    );
    assert!(
        !parked.to_string().contains(&huge),
        "the record's data stays out of the queue"
    );
}
