//! The loyalty engine end to end against moto: rules set through the API, typed
//! events POSTed through the API, the events stream read by the fan-out, which
//! puts each event on the stack's bus; the bus's rule routes actions, orders and
//! transactions (and redemptions) to the assessor's queue, and the assessor
//! records what they earn in the customer's ledger and stores its notices, which
//! the fan-out delivers to subscribers (IAM enforced for every function).

mod common;

use common::{ApiRequest, TestStack, parts};
use local::queue_poller::QueuePoller;
use local::stream_poller::StreamPoller;
use serde_json::{Value, json};
use shared::loyalty::{DynamoLedger, Ledger};
use shared::storage::schema::{EVENTS, LOYALTY};
use shared::tenant::TenantId;

const CUSTOMER: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

struct Harness {
    stack: TestStack,
    stream: StreamPoller,
    queue: QueuePoller,
}

impl Harness {
    async fn new() -> Self {
        let stack = TestStack::new().await;
        let sdk = shared::aws::sdk_config().await;
        let stream = StreamPoller::from_now(&sdk, stack.stack.tables.of(&EVENTS))
            .await
            .expect("events stream");
        let queue = QueuePoller::new(aws_sdk_sqs::Client::new(&sdk), &stack.stack.assessor_queue_url);
        Self { stack, stream, queue }
    }

    async fn rule(&self, body: Value) -> String {
        let request = ApiRequest::new("POST", "/api/v1/rules")
            .for_tenant("acme")
            .json(&body)
            .build();
        let (status, rule) = parts(self.stack.call("create-rule", request).await);
        assert_eq!(status, 201, "{rule}");
        rule["id"].as_str().expect("rule id").to_owned()
    }

    /// A new queue subscribed to `entity` creates: its URL.
    async fn subscribed_queue(&self, entity: &str) -> String {
        let sqs = aws_sdk_sqs::Client::new(&shared::aws::sdk_config().await);
        let name = format!("{}-{}", entity.to_lowercase(), uuid::Uuid::now_v7().simple());
        let url = sqs
            .create_queue()
            .queue_name(name)
            .tags(shared::subscriptions::TENANT_TAG, "acme")
            .send()
            .await
            .expect("queue")
            .queue_url
            .expect("url");
        let body = json!({"entityType": entity, "subscribeCreate": true,
                          "destination": {"type": "SQS", "sqs": {"queueUrl": url, "region": "us-east-1"}}});
        let request = ApiRequest::new("POST", "/api/v1/event-subscription")
            .for_tenant("acme")
            .json(&body)
            .build();
        let (status, created) = parts(self.stack.call("create-subscription", request).await);
        assert_eq!(status, 201, "{created}");
        url
    }

    /// The messages in `queue`: each one's seed 002 notification (its `data`).
    async fn notifications(&self, queue: &str) -> Vec<Value> {
        let sqs = aws_sdk_sqs::Client::new(&shared::aws::sdk_config().await);
        let mut found: Vec<Value> = common::drain(&sqs, queue)
            .await
            .iter()
            .map(|m| serde_json::from_str::<Value>(m.body().unwrap_or_default()).expect("envelope")["data"].clone())
            .collect();
        found.sort_by_key(|n| n["createdAt"].as_i64());
        found
    }

    async fn post(&self, function: &str, path: &str, body: Value) {
        let request = ApiRequest::new("POST", path).for_tenant("acme").json(&body).build();
        let (status, answer) = parts(self.stack.call(function, request).await);
        assert_eq!(status, 200, "{answer}");
    }

    /// The fan-out's pass over the new stream records, then the assessor's over
    /// what the bus routed to its queue; returns the messages it assessed.
    async fn assess(&mut self) -> Vec<aws_lambda_events::event::sqs::SqsMessage> {
        let sdk = shared::aws::sdk_config().await;
        let fanout = self
            .stack
            .stack
            .fanout("fanout", &sdk, self.stack.stack.fanout_config());
        let records = self.stream.poll().await.expect("stream");
        assert!(fanout.stream_batch(&records).await.is_empty());
        let assessor = self.stack.stack.assessor();
        let mut assessed = Vec::new();
        let handed = self
            .queue
            .poll_into(|messages| {
                assessed.clone_from(&messages);
                async move { assessor.queue_batch(&messages).await }
            })
            .await
            .expect("queue");
        assert_eq!(handed, assessed.len());
        assessed
    }

    async fn redeem(&self, body: &Value) -> (u16, Value) {
        let request = ApiRequest::new("POST", "/api/v1/events/redemptions")
            .for_tenant("acme")
            .json(body)
            .build();
        parts(self.stack.call("create-redemption-event", request).await)
    }

    async fn event_status(&self, id: &str) -> u16 {
        let request = ApiRequest::new("GET", &format!("/api/v1/events/{id}"))
            .for_tenant("acme")
            .path_param("eventId", id)
            .build();
        parts(self.stack.call("get-event", request).await).0
    }

    /// The customer API on the test's customer: `suffix` after its path.
    async fn customer(&self, method: &str, suffix: &str, tenant: &str, body: Option<Value>) -> (u16, Value) {
        let function = match (method, suffix) {
            ("GET", "") => "get-customer",
            ("GET", "/ledger") => "list-customer-ledger",
            _ => "lock-customer",
        };
        // Any GUID spelling names the same customer.
        let spelled = CUSTOMER.to_uppercase();
        let mut request = ApiRequest::new(method, &format!("/api/v1/customers/{spelled}{suffix}"))
            .for_tenant(tenant)
            .path_param("customerId", &spelled);
        if let Some(body) = body {
            request = request.json(&body);
        }
        parts(self.stack.call(function, request.build()).await)
    }

    async fn available(&self) -> u64 {
        let ledger = DynamoLedger::new(self.stack.client.clone(), self.stack.stack.tables.of(&LOYALTY));
        let acme = TenantId::parse("acme").expect("tenant");
        ledger
            .state(&acme, CUSTOMER)
            .await
            .expect("state")
            .available(chrono::Utc::now())
    }
}

fn registration_bonus() -> Value {
    json!({"name": "Registration bonus", "ruleSet": "ACTION",
        "conditions": {"nameSpaces": ["Customer.Registration"], "attributes": {"channel": "web"}, "maxPerCustomer": 1},
        "fulfilment": {"points": {"fixed": 100}, "pointsExpireAfterDays": 365}})
}

fn typed(block: &str, event_id: &str, fields: Value) -> Value {
    json!({block: fields, "eventId": event_id, "customerId": CUSTOMER,
           "nameSpace": "Customer.Registration", "attributes": [{"key": "channel", "value": "web"}]})
}

#[tokio::test]
async fn typed_events_earn_points_through_the_bus_exactly_once() {
    // GIVEN the registration bonus (once per customer) and two points per unit spent
    let mut h = Harness::new().await;
    h.rule(registration_bonus()).await;
    h.rule(json!({"name": "Spend", "ruleSet": "SPEND", "fulfilment": {"points": {"perCurrencyUnit": 2}}}))
        .await;
    // WHEN a registration is posted, fanned out and assessed
    let registration = typed("action", "0d9b2c4e-1f3a-4e5b-8c7d-6a5b4c3d2e1f", json!({"amount": 0}));
    h.post("create-action-event", "/api/v1/events/actions", registration)
        .await;
    let delivered = h.assess().await;
    // THEN the customer has the bonus
    assert_eq!(delivered.len(), 1);
    assert_eq!(h.available().await, 100);
    // WHEN the same message is delivered again (SQS delivers at least once)
    let assessor = h.stack.stack.assessor();
    assert!(assessor.queue_batch(&delivered).await.is_empty());
    // THEN nothing more is earned
    assert_eq!(h.available().await, 100);
    // WHEN a second registration and an order of 129.90 come
    let again = typed("action", "1e0a3d5f-2a4b-4c6d-9e8f-7b6c5d4e3f2a", json!({"amount": 0}));
    h.post("create-action-event", "/api/v1/events/actions", again).await;
    let order = typed(
        "order",
        "2f1b4e6a-3b5c-4d7e-8f9a-0c1d2e3f4a5b",
        json!({"orderId": "O-1", "total": 129.90}),
    );
    h.post("create-order-event", "/api/v1/events/orders", order).await;
    assert_eq!(h.assess().await.len(), 2);
    // THEN maxPerCustomer holds, and the order adds 259
    assert_eq!(h.available().await, 359);
    // AND the customer API shows the points, the spend and the ledger, newest first
    let (status, customer) = h.customer("GET", "", "acme", None).await;
    assert_eq!(status, 200, "{customer}");
    assert_eq!(
        customer["points"],
        json!({"available": 359, "pending": 0, "lifetime": 359})
    );
    assert_eq!(
        (&customer["locked"], &customer["spend"]["annual"]),
        (&json!(false), &json!(129.9))
    );
    let (_, ledger) = h.customer("GET", "/ledger", "acme", None).await;
    let entries: Vec<(i64, i64)> = ledger["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["points"].as_i64().unwrap_or(-1),
                e["balanceAfter"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(entries, [(259, 359), (100, 100)], "{ledger}");
    assert_eq!(ledger["items"][1]["type"], "ISSUED");
    // WHEN more points are redeemed than the customer has THEN 422, nothing stored
    let too_many = typed(
        "redemption",
        "3a2b1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d",
        json!({"quantity": 360}),
    );
    let (status, problem) = h.redeem(&too_many).await;
    assert_eq!(
        (status, &problem["code"]),
        (422, &json!("insufficient_points")),
        "{problem}"
    );
    assert_eq!(h.event_status("3a2b1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d").await, 404);
    // WHEN a redemption reuses the order's eventId THEN 409, and nothing is redeemed
    let reused = typed(
        "redemption",
        "2f1b4e6a-3b5c-4d7e-8f9a-0c1d2e3f4a5b",
        json!({"quantity": 10}),
    );
    assert_eq!(h.redeem(&reused).await.0, 409);
    assert_eq!(h.available().await, 359);
    // WHEN 300 are redeemed THEN the balances before and after are answered, also to a resend
    let redemption = typed(
        "redemption",
        "4b3c2d1e-0f9a-4b8c-9d7e-6f5a4b3c2d1e",
        json!({"quantity": 300}),
    );
    let (status, answer) = h.redeem(&redemption).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (
            &answer["startingBalance"],
            &answer["pendingBalance"],
            &answer["isExisting"]
        ),
        (&json!(359), &json!(59), &json!(false))
    );
    let (_, resent) = h.redeem(&redemption).await;
    assert_eq!(
        (
            &resent["startingBalance"],
            &resent["pendingBalance"],
            &resent["isExisting"]
        ),
        (&json!(359), &json!(59), &json!(true))
    );
    // WHEN two redemptions of 50 race for the 59 left THEN exactly one passes
    let first = typed(
        "redemption",
        "5c4d3e2f-1a0b-4c9d-8e7f-7a6b5c4d3e2f",
        json!({"quantity": 50}),
    );
    let second = typed(
        "redemption",
        "6d5e4f3a-2b1c-4d0e-9f8a-8b7c6d5e4f3a",
        json!({"quantity": 50}),
    );
    let (one, two) = tokio::join!(h.redeem(&first), h.redeem(&second));
    let mut statuses = [one.0, two.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 422], "{} {}", one.1, two.1);
    assert_eq!(h.available().await, 9);
    // AND the customer can be locked; another tenant does not know it
    let (status, locked) = h.customer("PUT", "/lock", "acme", Some(json!({"locked": true}))).await;
    assert_eq!((status, &locked["locked"]), (200, &json!(true)), "{locked}");
    assert_eq!(h.customer("GET", "", "acme", None).await.1["locked"], true);
    assert_eq!(h.customer("GET", "", "globex", None).await.0, 404);
    // AND a locked customer cannot redeem
    let locked_out = typed(
        "redemption",
        "7e6f5a4b-3c2d-4e1f-8a9b-9c8d7e6f5a4b",
        json!({"quantity": 1}),
    );
    let (status, problem) = h.redeem(&locked_out).await;
    assert_eq!((status, &problem["code"]), (409, &json!("account_locked")), "{problem}");
    // AND no function made a call its policy does not allow
    assert_eq!(h.stack.calls.refused(), Vec::<String>::new());
}

#[tokio::test]
async fn subscribers_receive_the_engines_notices_in_seed_002s_shape() {
    // GIVEN the registration bonus, and queues subscribed to POINTS and CUSTOMER events
    let mut h = Harness::new().await;
    let bonus = h.rule(registration_bonus()).await;
    let points = h.subscribed_queue("POINTS").await;
    let customers = h.subscribed_queue("CUSTOMER").await;
    // WHEN a registration and a transaction are posted and assessed
    let registration = typed("action", "0d9b2c4e-1f3a-4e5b-8c7d-6a5b4c3d2e1f", json!({"amount": 0}));
    h.post("create-action-event", "/api/v1/events/actions", registration)
        .await;
    let mut transaction = typed(
        "transaction",
        "8f7a6b5c-4d3e-4f2a-9b1c-0d9e8f7a6b5c",
        json!({"total": 20}),
    );
    transaction["reference"] = json!("INV-1");
    h.post("create-transaction-event", "/api/v1/events/transactions", transaction)
        .await;
    assert_eq!(h.assess().await.len(), 2);
    // AND 30 points are redeemed, and everything fanned out and assessed in turn
    let redemption = typed(
        "redemption",
        "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        json!({"quantity": 30}),
    );
    assert_eq!(h.redeem(&redemption).await.0, 200);
    assert_eq!(h.assess().await.len(), 1, "the redemption reaches the assessor");
    h.assess().await;
    // THEN the POINTS queue has pointsIssued, then pointsRedeemed, each once
    let notices = h.notifications(&points).await;
    let names: Vec<&str> = notices.iter().filter_map(|n| n["eventName"].as_str()).collect();
    assert_eq!(names, ["pointsIssued", "pointsRedeemed"], "{notices:?}");
    let issued = &notices[0]["data"];
    assert_eq!(issued["customerIdentifiers"]["customerId"], CUSTOMER);
    assert_eq!(
        (
            &issued["totalPointsIssued"],
            &issued["programCurrentPoints"],
            &issued["programLifetimePoints"]
        ),
        (&json!(100), &json!(100), &json!(100))
    );
    assert_eq!(
        issued["promotionalPointsIssued"][0]["promotionIdentifier"],
        json!(bonus)
    );
    assert_eq!(issued["triggeringActivity"]["name"], "ACTION");
    let redeemed = &notices[1]["data"];
    assert_eq!(
        (&redeemed["totalPointsRedeemed"], &redeemed["programCurrentPoints"]),
        (&json!(30), &json!(70))
    );
    assert!(
        notices
            .iter()
            .all(|n| n["eventId"].as_str().is_some_and(|id| id.starts_with("pts_")))
    );
    // AND the CUSTOMER queue has customerAdded (its first event) and transactionAdded
    let notices = h.notifications(&customers).await;
    let names: Vec<&str> = notices.iter().filter_map(|n| n["eventName"].as_str()).collect();
    assert_eq!(names, ["customerAdded", "transactionAdded"], "{notices:?}");
    assert_eq!(notices[0]["data"]["customerIdentifiers"]["customerId"], CUSTOMER);
    assert_eq!(
        (&notices[1]["data"]["amount"], &notices[1]["data"]["billNumber"]),
        (&json!(20), &json!("INV-1"))
    );
    // AND no function made a call its policy does not allow
    assert_eq!(h.stack.calls.refused(), Vec::<String>::new());
}
