//! The assessor: applies the tenant's rules to each accepted action, order and
//! transaction, and records what they earn in the customer's ledger (orders and
//! transactions add their total to the customer's spend). Exactly once per event:
//! the change is computed from the customer's state and written only if that
//! state is still current and the event was not applied before. Then it stores
//! what the ledger recorded as notices (seed 002's `pointsIssued`, …), for
//! redemptions too (the redemption endpoint applied those already).

use chrono::{DateTime, Utc};
use serde_json::Value;

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::SqsMessage;

use super::dynamo::DynamoLedger;
use super::model::{LedgerEntry, Mark, Outcome, Spend};
use super::notices::Trigger;
use super::port::{Applied, Change, Ledger};
use crate::config::{ConfigError, Environment, FunctionConfig};
use crate::events::{
    CUSTOMER_ID_ATTRIBUTE, DynamoEventStore, Event, EventStore, EventStoreError, PutOutcome, TypedKind, decode_json,
};
use crate::rules::{Occasion, OccasionKind, Rule, assess};
use crate::storage::schema::{EVENTS, LOYALTY, RULE_RECORDS};
use crate::storage::{DynamoRecords, ErrorKind, RecordError, Records, StorageError, list_all};
use crate::tenant::TenantId;
use crate::util::error_chain::ErrorChain;

/// Tries of one event against a customer that other events keep changing.
const ATTEMPTS: usize = 5;
/// The largest order or transaction total that counts towards the spend.
const MAX_SPEND: f64 = 1_000_000_000_000.0;

/// The assessor, over any ledger, rules and event store (DynamoDB when deployed).
pub struct Assessor<L = DynamoLedger, R = DynamoRecords<Rule>, E = DynamoEventStore> {
    pub ledger: L,
    pub rules: R,
    /// Where its notices go.
    pub events: E,
}

/// What the ledger recorded for one event: its mark and entries.
type Recorded = (Mark, Vec<LedgerEntry>);

/// Why an event was not assessed.
#[derive(Debug, thiserror::Error)]
pub enum AssessError {
    /// The event's payload is not a typed body (it was accepted as one): park it.
    #[error("the event is not as the typed endpoints store it: {0}")]
    Malformed(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<EventStoreError> for AssessError {
    fn from(err: EventStoreError) -> Self {
        match err {
            EventStoreError::Storage(err) => Self::Storage(err),
            other => Self::Storage(StorageError::caused(ErrorKind::Other, "storing a notice", other)),
        }
    }
}

impl From<RecordError> for AssessError {
    fn from(err: RecordError) -> Self {
        match err {
            RecordError::Storage(err) => Self::Storage(err),
            other => Self::Storage(StorageError::caused(ErrorKind::Other, "reading the rules", other)),
        }
    }
}

/// What the assessor needs of an accepted event, whether it comes from the
/// events table or from the stack's bus (seed 004's `detail`, which carries the
/// same: id, time, tenant, entity, key attributes and the decoded payload).
#[derive(Debug, Clone, PartialEq)]
pub struct Assessable {
    pub tenant: TenantId,
    pub event_id: String,
    pub entity_name: String,
    pub at: DateTime<Utc>,
    pub customer: Option<String>,
    pub body: Value,
}

impl Assessable {
    pub fn from_event(tenant: &TenantId, event: &Event) -> Result<Self, AssessError> {
        let body = event
            .event_payload
            .base64_encoded_payload_json
            .as_deref()
            .map(decode_json)
            .transpose()
            .map_err(AssessError::Malformed)?
            .unwrap_or(Value::Null);
        Ok(Self {
            tenant: tenant.clone(),
            event_id: event.id.clone(),
            entity_name: event.entity_name.clone(),
            at: event.created_at,
            customer: event.event_payload.key_attributes.get(CUSTOMER_ID_ATTRIBUTE).cloned(),
            body,
        })
    }

    /// From an EventBridge entry the fan-out put on the stack's bus.
    pub fn from_bus_detail(detail: &Value) -> Result<Self, AssessError> {
        let text = |field: &str| {
            detail[field]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| AssessError::Malformed(format!("the detail has no {field}")))
        };
        let tenant = TenantId::parse(&text("tenant")?).map_err(|_| AssessError::Malformed("tenant".into()))?;
        let at = detail["timestamp"]
            .as_i64()
            .and_then(DateTime::from_timestamp_millis)
            .ok_or_else(|| AssessError::Malformed("the detail has no timestamp".into()))?;
        Ok(Self {
            tenant,
            event_id: text("id")?,
            entity_name: text("entityName")?,
            at,
            customer: detail["keyAttributes"][CUSTOMER_ID_ATTRIBUTE]
                .as_str()
                .map(str::to_owned),
            body: detail["payload"].clone(),
        })
    }

    /// The customer of a typed event; `None` for any other event. The typed
    /// endpoints store customers as canonical GUIDs and bodies as objects; a
    /// generic event of the same entity name is not one the ledger could show.
    fn typed_customer(&self) -> Option<&str> {
        let customer = self.customer.as_deref()?;
        let canonical = uuid::Uuid::parse_str(customer).map(|id| id.hyphenated().to_string());
        (canonical.as_deref() == Ok(customer) && self.body.is_object()).then_some(customer)
    }

    /// Whether assessing it would touch the customer's points: it earns or
    /// spends (an action, order or transaction), or is a redemption whose
    /// notices the ledger answers. What the points scope guards at ingest.
    pub fn moves_points(&self) -> bool {
        self.typed_customer().is_some()
            && (self.entity_name == TypedKind::Redemption.entity_name() || self.occasion().is_some())
    }

    /// The occasion and its spend; `None` for events the rules do not apply to.
    fn occasion(&self) -> Option<(Occasion, Option<Spend>)> {
        let kind = match self.entity_name.as_str() {
            "ACTION" => OccasionKind::Action,
            "ORDER" => OccasionKind::Order,
            "TRANSACTION" => OccasionKind::Transaction,
            _ => return None,
        };
        let occasion = Occasion::from_body(kind, &self.body, self.at);
        let spend = match kind {
            OccasionKind::Order => self.body["order"]["total"].as_f64(),
            OccasionKind::Transaction => self.body["transaction"]["total"].as_f64(),
            OccasionKind::Action | OccasionKind::Basket => None,
        }
        // A total DynamoDB could not hold, or a negative one, adds nothing.
        .filter(|total| (0.0..=MAX_SPEND).contains(total))
        .map(Spend);
        Some((occasion, spend))
    }
}

/// The assessor's settings: the loyalty table (rules and ledgers), and the
/// events table its notices go to (kept as long as other events).
#[derive(Debug, Clone)]
pub struct AssessorConfig {
    pub loyalty_table: String,
    pub events_table: String,
    pub retention: chrono::Duration,
}

impl FunctionConfig for AssessorConfig {
    const VARIABLES: &'static [&'static str] = &[LOYALTY.env_var, EVENTS.env_var, crate::config::RETENTION];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            loyalty_table: env.required(LOYALTY.env_var)?,
            events_table: env.required(EVENTS.env_var)?,
            retention: crate::config::retention(env)?,
        })
    }
}

impl Assessor {
    pub fn new(sdk: &SdkConfig, config: AssessorConfig) -> Self {
        let client = aws_sdk_dynamodb::Client::new(sdk);
        Self {
            ledger: DynamoLedger::new(client.clone(), &config.loyalty_table),
            rules: DynamoRecords::new(client.clone(), config.loyalty_table, RULE_RECORDS),
            events: DynamoEventStore::new(client, config.events_table).writing(config.retention),
        }
    }
}

impl<L: Ledger, R: Records<Rule>, E: EventStore> Assessor<L, R, E> {
    /// Assesses one accepted event and stores its notices; Ok for an event that
    /// earns nothing or is not one the engine reads.
    pub async fn assess_event(&self, event: &Assessable) -> Result<(), AssessError> {
        let rules = self.rules_of(&event.tenant).await?;
        self.assess_with(event, &rules).await
    }

    /// `assess_event` with the tenant's `rules` read already.
    async fn assess_with(&self, event: &Assessable, rules: &[Rule]) -> Result<(), AssessError> {
        let Some(customer) = event.typed_customer() else {
            tracing::debug!(event_id = %event.event_id, "not a typed event; not assessed");
            return Ok(());
        };
        let recorded = if event.entity_name == TypedKind::Redemption.entity_name() {
            self.recorded(event, customer).await?
        } else {
            self.apply_rules(event, customer, rules).await?
        };
        let trigger = Trigger {
            event_id: &event.event_id,
            entity_name: &event.entity_name,
            customer,
        };
        let mut notices = recorded.map_or_else(Vec::new, |(mark, entries)| trigger.points_notices(&mark, &entries));
        if event.entity_name == TypedKind::Transaction.entity_name() {
            notices.push(trigger.transaction_added(&event.body, event.at));
        }
        for notice in notices {
            let id = notice.id.clone();
            // A replay is this notice stored before (a redelivered event).
            if let PutOutcome::Conflict = self.events.put_new(&event.tenant, notice, None).await? {
                tracing::warn!(event_id = %event.event_id, notice = %id, "a different notice holds this notice's id; kept");
            }
        }
        Ok(())
    }

    /// Applies the rules to the event once; what the ledger recorded for it
    /// (now or before), or `None` when it earns nothing and adds no spend.
    async fn apply_rules(
        &self,
        event: &Assessable,
        customer: &str,
        rules: &[Rule],
    ) -> Result<Option<Recorded>, AssessError> {
        let Some((occasion, spend)) = event.occasion() else {
            return Ok(None);
        };
        let tenant = &event.tenant;
        for _ in 0..ATTEMPTS {
            let before = self.ledger.state(tenant, customer).await?;
            let fulfilled = assess(rules, &occasion, |rule| before.fulfilled(rule));
            if fulfilled.is_empty() && spend.is_none() {
                return Ok(None);
            }
            let outcome = Outcome {
                event_id: event.event_id.clone(),
                at: occasion.at,
                fulfilled,
                spend,
            };
            let effect = before.after(&outcome);
            let change = Change {
                event_id: &event.event_id,
                before: &before,
                effect: &effect,
            };
            match self.ledger.apply(tenant, customer, &change).await? {
                Applied::Written => {
                    let entries = effect.entries.len();
                    tracing::info!(%tenant, event_id = %event.event_id, entries, "event assessed");
                    return Ok(Some((effect.mark, effect.entries)));
                }
                Applied::AlreadyApplied => return self.recorded(event, customer).await,
                Applied::Stale => continue,
            }
        }
        Err(StorageError::new(ErrorKind::Conflict, "the customer changed on every try", None).into())
    }

    /// What the ledger recorded for the event, if it was applied.
    async fn recorded(&self, event: &Assessable, customer: &str) -> Result<Option<Recorded>, AssessError> {
        let Some(mark) = self.ledger.mark(&event.tenant, customer, &event.event_id).await? else {
            return Ok(None);
        };
        let entries = self
            .ledger
            .entries_of(&event.tenant, customer, &event.event_id, mark.at)
            .await?;
        Ok(Some((mark, entries)))
    }

    /// Assesses the bus entries a queue delivered (the stack's bus routes each
    /// ACTION, ORDER and TRANSACTION create to the assessor's queue); returns the
    /// ids of the messages to receive again. One that can never be assessed is
    /// received again until the queue dead-letters it, so it is kept, not lost.
    pub async fn queue_batch(&self, messages: &[SqsMessage]) -> Vec<String> {
        let mut failed = Vec::new();
        // Each tenant's rules are read once a batch.
        let mut rules: HashMap<TenantId, Vec<Rule>> = HashMap::new();
        for message in messages {
            let id = message.message_id.clone().unwrap_or_default();
            let assessed = async {
                let entry = serde_json::from_str::<Value>(message.body.as_deref().unwrap_or_default())
                    .map_err(|err| AssessError::Malformed(err.to_string()))?;
                let event = Assessable::from_bus_detail(&entry["detail"])?;
                // A redemption only gets its notices: no rules to read for it.
                if event.entity_name == TypedKind::Redemption.entity_name() {
                    return self.assess_with(&event, &[]).await;
                }
                if !rules.contains_key(&event.tenant) {
                    rules.insert(event.tenant.clone(), self.rules_of(&event.tenant).await?);
                }
                self.assess_with(&event, &rules[&event.tenant]).await
            }
            .await;
            if let Err(err) = assessed {
                tracing::warn!(message_id = %id, error = %ErrorChain(&err), "not assessed; received again");
                failed.push(id);
            }
        }
        failed
    }

    /// The tenant's rules (at most `MaxRulesPerTenant`).
    async fn rules_of(&self, tenant: &TenantId) -> Result<Vec<Rule>, AssessError> {
        let rules = list_all(&self.rules, tenant, |_| true).await?;
        Ok(rules.into_iter().map(|stored| stored.value).collect())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::{Value, json};

    use super::*;
    use crate::events::{InMemoryEventStore, TypedKind, typed_event};
    use crate::fanout::{Envelope, bus_detail};
    use crate::loyalty::InMemoryLedger;
    use crate::rules::RuleRequest;
    use crate::storage::InMemoryRecords;
    use crate::testing::tenant;

    const CUSTOMER: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

    async fn assessor(rules: &[Value]) -> Assessor<InMemoryLedger, InMemoryRecords<Rule>, InMemoryEventStore> {
        let records = InMemoryRecords::default();
        for (i, body) in rules.iter().enumerate() {
            let id = format!("rul_{i}");
            let rule = serde_json::from_value::<RuleRequest>(body.clone())
                .expect("shape")
                .into_rule(id.clone(), Utc::now(), None)
                .expect("valid");
            records.create(&tenant("acme"), &id, rule).await.expect("rule");
        }
        Assessor {
            ledger: InMemoryLedger::default(),
            rules: records,
            events: InMemoryEventStore::default(),
        }
    }

    fn event(kind: TypedKind, event_id: &str, block: Value) -> Assessable {
        let body = json!({kind.block(): block, "eventId": event_id, "customerId": CUSTOMER,
                          "nameSpace": "Customer.Registration", "attributes": [{"key": "channel", "value": "web"}]});
        let event = typed_event(kind, body, Utc::now()).expect("typed").0;
        Assessable::from_event(&tenant("acme"), &event).expect("assessable")
    }

    fn registration_bonus() -> Value {
        json!({"name": "Registration bonus", "ruleSet": "ACTION",
               "conditions": {"nameSpaces": ["Customer.Registration"], "attributes": {"channel": "web"}, "maxPerCustomer": 1},
               "fulfilment": {"points": {"fixed": 100}, "pointsExpireAfterDays": 365}})
    }

    #[tokio::test]
    async fn a_registration_earns_its_bonus_exactly_once_even_delivered_twice() {
        // GIVEN the registration bonus rule
        let assessor = assessor(&[registration_bonus()]).await;
        let registration = event(
            TypedKind::Action,
            "0d9b2c4e-1f3a-4e5b-8c7d-6a5b4c3d2e1f",
            json!({"amount": 0}),
        );
        // WHEN the registration is assessed twice (a redelivered batch)
        for _ in 0..2 {
            assessor.assess_event(&registration).await.expect("assessed");
        }
        // THEN the customer has 100 points, from one entry
        let state = assessor.ledger.state(&tenant("acme"), CUSTOMER).await.expect("state");
        assert_eq!((state.available(Utc::now()), state.lifetime), (100, 100));
        let (entries, _) = assessor
            .ledger
            .entries(&tenant("acme"), CUSTOMER, 10, None)
            .await
            .expect("entries");
        assert_eq!(entries.len(), 1);
        // AND one pointsIssued notice is stored about the customer
        let notices = assessor
            .events
            .list_by_entity(&tenant("acme"), "POINTS", CUSTOMER, 10, None)
            .await
            .expect("notices");
        assert_eq!(notices.items.len(), 1);
        // AND a second registration does not pass maxPerCustomer
        let again = event(
            TypedKind::Action,
            "1e0a3d5f-2a4b-4c6d-9e8f-7b6c5d4e3f2a",
            json!({"amount": 0}),
        );
        assessor.assess_event(&again).await.expect("assessed");
        let state = assessor.ledger.state(&tenant("acme"), CUSTOMER).await.expect("state");
        assert_eq!(state.available(Utc::now()), 100);
    }

    #[test]
    fn the_bus_entry_of_an_event_is_the_same_assessable_event() {
        // GIVEN a typed order, and the detail the fan-out puts on the stack's bus for it
        let order = event(
            TypedKind::Order,
            "2f1b4e6a-3b5c-4d7e-8f9a-0c1d2e3f4a5b",
            json!({"orderId": "O-1", "total": 129.90}),
        );
        let stored = typed_event(
            TypedKind::Order,
            json!({"order": {"orderId": "O-1", "total": 129.90}, "eventId": "2f1b4e6a-3b5c-4d7e-8f9a-0c1d2e3f4a5b",
                   "customerId": CUSTOMER, "nameSpace": "Customer.Registration",
                   "attributes": [{"key": "channel", "value": "web"}]}),
            order.at,
        )
        .expect("typed")
        .0;
        let envelope = serde_json::to_string(&Envelope::new("acme", &stored, None)).expect("envelope");
        let detail: Value = serde_json::from_str(&bus_detail(&envelope).expect("detail")).expect("json");
        // THEN it reads back as the same event
        assert_eq!(Assessable::from_bus_detail(&detail).expect("assessable"), order);
    }

    #[tokio::test]
    async fn an_order_earns_per_currency_unit_and_adds_its_total_to_the_spend() {
        let spend = json!({"name": "Spend", "ruleSet": "SPEND", "fulfilment": {"points": {"perCurrencyUnit": 2}}});
        let assessor = assessor(&[spend]).await;
        let order = event(
            TypedKind::Order,
            "2f1b4e6a-3b5c-4d7e-8f9a-0c1d2e3f4a5b",
            json!({"orderId": "O-1", "total": 129.90}),
        );
        assessor.assess_event(&order).await.expect("assessed");
        let state = assessor.ledger.state(&tenant("acme"), CUSTOMER).await.expect("state");
        assert_eq!(state.available(Utc::now()), 259);
        assert_eq!(state.view(CUSTOMER, Utc::now()).spend.annual, 129.90);
        // Another tenant's customer of the same id earned nothing.
        let other = assessor.ledger.state(&tenant("globex"), CUSTOMER).await.expect("state");
        assert_eq!(other.available(Utc::now()), 0);
    }

    #[test]
    fn what_moves_points_is_what_the_assessor_applies_to_a_ledger() {
        let order = event(
            TypedKind::Order,
            "0d9b2c4e-1f3a-4e5b-8c7d-6a5b4c3d2e10",
            json!({"orderId": "O-1", "total": 5}),
        );
        let redemption = event(
            TypedKind::Redemption,
            "0d9b2c4e-1f3a-4e5b-8c7d-6a5b4c3d2e11",
            json!({"quantity": 5}),
        );
        let basket = event(
            TypedKind::Basket,
            "0d9b2c4e-1f3a-4e5b-8c7d-6a5b4c3d2e12",
            json!({"basketId": "B-1"}),
        );
        assert!(order.moves_points() && redemption.moves_points());
        assert!(!basket.moves_points(), "a basket is assessed, never applied");
        // A customer the ledger could not show (not a canonical GUID) is never assessed.
        let unknown = Assessable {
            customer: Some("CUST-1".into()),
            ..order.clone()
        };
        assert!(!unknown.moves_points());
        let other = Assessable {
            entity_name: "PRODUCT".into(),
            ..order
        };
        assert!(!other.moves_points());
    }
}
