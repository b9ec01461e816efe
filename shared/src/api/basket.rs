//! `POST /api/v1/events/basket` (seed 003): the basket is stored and fanned out as
//! a BASKET event like the other typed events, and assessed against the tenant's
//! BASKET rules synchronously (with the customer's history for
//! `maxPerCustomer`): the answer says what it would earn; no balance changes.

use aws_config::SdkConfig;
use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::config::LoyaltyEventsConfig;
use super::events::{EventsApi, with_trace};
use super::records::list_all;
use super::typed::store_typed;
use crate::events::{DynamoEventStore, EventStore, TypedBody, TypedKind};
use crate::http::{Caller, json_body, json_response, serve};
use crate::loyalty::{CustomerState, DynamoLedger, Ledger};
use crate::routes;
use crate::rules::{Occasion, OccasionKind, Rule, RuleSet, assess};
use crate::storage::schema::RULE_RECORDS;
use crate::storage::{DynamoRecords, Records};

pub struct BasketApi<S = DynamoEventStore, R = DynamoRecords<Rule>, L = DynamoLedger> {
    pub events: EventsApi<S>,
    pub rules: R,
    /// Read only: how often the customer had each rule (`maxPerCustomer`).
    pub ledger: L,
}

impl BasketApi {
    pub fn new(sdk: &SdkConfig, config: LoyaltyEventsConfig) -> Self {
        let events = EventsApi::writer(sdk, config.events);
        let client = aws_sdk_dynamodb::Client::new(sdk);
        Self {
            ledger: DynamoLedger::new(client.clone(), &config.loyalty_table),
            rules: DynamoRecords::new(client, config.loyalty_table, RULE_RECORDS),
            events,
        }
    }
}

/// 200 `{eventId, customerId, tenantId, basketId, isExisting, fulfilments, totalPoints}`.
pub async fn assess_basket<S: EventStore, R: Records<Rule>, L: Ledger>(
    api: &BasketApi<S, R, L>,
    req: Request,
) -> Response<Body> {
    serve(
        &api.events.auth,
        &routes::ASSESS_BASKET,
        req,
        |caller: Caller, req| async move {
            let sent: TypedBody = json_body(&req)?;
            let body = sent.json.clone();
            let stored = store_typed(&api.events, TypedKind::Basket, (&caller.tenant, &req), sent).await?;
            // One read: the tenant's rules (at most MaxRulesPerTenant).
            let rules: Vec<Rule> = list_all(&api.rules, "rule", &caller.tenant, |rule| {
                rule.active && rule.rule_set == RuleSet::Basket
            })
            .await?
            .into_iter()
            .map(|stored| stored.value)
            .collect();
            // Assessed as sent: a resend's answer is about this body (assessing
            // changes nothing), while the stored event stays the first body.
            let occasion = Occasion::from_body(OccasionKind::Basket, &body, Utc::now());
            // One customer read, when a rule limits fulfilments per customer.
            let customer = if rules.iter().any(|rule| rule.conditions.max_per_customer.is_some()) {
                api.ledger.state(&caller.tenant, &stored.customer_id).await?
            } else {
                CustomerState::default()
            };
            let fulfilled = assess(&rules, &occasion, |rule| customer.fulfilled(rule));
            let mut answer = stored.answer(&caller.tenant);
            answer["basketId"] = body["basket"]["basketId"].clone();
            let total = fulfilled.iter().fold(0u64, |sum, f| sum.saturating_add(f.points));
            answer["totalPoints"] = json!(total);
            answer["fulfilments"] = fulfilled
                .into_iter()
                .map(|f| json!({"ruleId": f.rule_id, "name": f.name, "points": f.points, "reward": f.reward}))
                .collect();
            Ok(with_trace(
                json_response(StatusCode::OK, &answer)?,
                stored.traceparent.as_deref(),
            ))
        },
    )
    .await
}
