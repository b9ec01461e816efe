//! `scripts/bench` runs this against moto: the assessor's throughput, in events
//! per second, over ready bus entries (actions and orders of many customers,
//! against a handful of rules), one batch of ten at a time as one Lambda instance
//! takes them, and five batches at once as five instances would. Prints one JSON
//! line per measurement.

use std::time::Instant;

use aws_lambda_events::event::sqs::SqsMessage;
use chrono::Utc;
use futures_util::{StreamExt, stream};
use local::provision;
use serde_json::{Value, json};
use shared::events::{TypedKind, typed_event};
use shared::fanout::{Envelope, bus_detail};
use shared::rules::{Rule, RuleRequest};
use shared::storage::schema::{LOYALTY, RULE_RECORDS};
use shared::storage::{DynamoRecords, Records};
use shared::tenant::TenantId;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

const TENANT: &str = "bench";
/// What Lambda's SQS event source hands one invocation (template.yaml).
const BATCH_SIZE: usize = 10;

fn rules() -> Vec<Value> {
    vec![
        json!({"name": "Registration", "ruleSet": "ACTION", "priority": 1,
               "conditions": {"nameSpaces": ["Customer.Registration"], "maxPerCustomer": 1},
               "fulfilment": {"points": {"fixed": 100}, "pointsExpireAfterDays": 365}}),
        json!({"name": "Review", "ruleSet": "ACTION", "priority": 2,
               "conditions": {"nameSpaces": ["Product.Review"]}, "fulfilment": {"points": {"fixed": 10}}}),
        json!({"name": "Spend", "ruleSet": "SPEND", "priority": 3,
               "fulfilment": {"points": {"perCurrencyUnit": 2}, "pointsExpireAfterDays": 365}}),
        json!({"name": "Big order", "ruleSet": "ORDER", "priority": 4,
               "conditions": {"minAmount": 100}, "fulfilment": {"points": {"fixed": 50}}}),
        json!({"name": "Web only", "ruleSet": "ACTION", "priority": 5,
               "conditions": {"attributes": {"channel": "web"}}, "fulfilment": {"reward": {"code": "THANKS"}}}),
    ]
}

/// The SQS message the bus rule delivers for typed event `n` of `customers`.
fn message(n: usize, customers: usize) -> BenchResult<SqsMessage> {
    let customer = uuid::Uuid::from_u128(1 + (n % customers) as u128)
        .hyphenated()
        .to_string();
    let event_id = uuid::Uuid::now_v7().hyphenated().to_string();
    let (kind, block) = if n.is_multiple_of(2) {
        (TypedKind::Action, json!({"amount": 0}))
    } else {
        (TypedKind::Order, json!({"orderId": format!("O-{n}"), "total": 129.90}))
    };
    let name_space = if n.is_multiple_of(4) {
        "Customer.Registration"
    } else {
        "Product.Review"
    };
    let body = json!({kind.block(): block, "eventId": event_id, "customerId": customer, "nameSpace": name_space,
                      "attributes": [{"key": "channel", "value": "web"}]});
    let (event, _) = typed_event(kind, body, Utc::now()).map_err(|e| e.to_string())?;
    let envelope = serde_json::to_string(&Envelope::new(TENANT, &event, None))?;
    let detail: Value = serde_json::from_str(&bus_detail(&envelope).ok_or("no bus detail")?)?;
    let entry = json!({"version": "0", "id": event.id, "detail-type": "event-collector/action/create",
                       "source": "event-collector", "detail": detail});
    let mut message = SqsMessage::default();
    message.message_id = Some(format!("m-{n}"));
    message.body = Some(entry.to_string());
    Ok(message)
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    let env = shared::config::Environment::process();
    let events: usize = env.parsed_or("ASSESSOR_EVENTS", 500)?;
    let customers: usize = env.parsed_or("ASSESSOR_CUSTOMERS", 100)?;
    let sdk = shared::aws::sdk_config().await;
    let stack = provision::create_stack(&sdk, &format!("bench-{}", uuid::Uuid::now_v7().simple())).await?;
    let records = DynamoRecords::<Rule>::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        stack.tables.of(&LOYALTY),
        RULE_RECORDS,
    );
    let tenant = TenantId::parse(TENANT).map_err(|e| e.to_string())?;
    for (i, body) in rules().into_iter().enumerate() {
        let id = format!("rul_bench_{i}");
        let rule = serde_json::from_value::<RuleRequest>(body)?
            .into_rule(id.clone(), Utc::now(), None)
            .map_err(|e| e.to_string())?;
        records.create(&tenant, &id, rule).await.map_err(|e| e.to_string())?;
    }
    let assessor = stack.assessor();
    for (label, at_once) in [("one instance", 1), ("five instances", 5)] {
        let messages = (0..events)
            .map(|n| message(n, customers))
            .collect::<BenchResult<Vec<_>>>()?;
        let started = Instant::now();
        let failed: usize = stream::iter(messages.chunks(BATCH_SIZE))
            .map(|batch| assessor.queue_batch(batch))
            .buffer_unordered(at_once)
            .map(|failed| failed.len())
            .fold(0, |sum, n| async move { sum + n })
            .await;
        let seconds = started.elapsed().as_secs_f64();
        let line = json!({"measure": "assessor throughput", "mode": label, "events": events, "customers": customers,
                          "failed": failed, "seconds": seconds, "events_per_second": events as f64 / seconds});
        std::io::Write::write_all(&mut std::io::stdout(), format!("{line}\n").as_bytes())?;
    }
    Ok(())
}
