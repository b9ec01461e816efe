//! `POST /api/v1/events/redemptions` (seed 003): the redemption is checked and
//! applied at request time: the account must not be locked (409
//! `account_locked`) and its available points must cover the quantity (422
//! `insufficient_points`). One conditional write applies it, so two redemptions
//! racing for the same points cannot both pass. Then it is stored and fanned out
//! as a REDEMPTION event, like the other typed events.

use aws_config::SdkConfig;
use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use super::config::LoyaltyEventsConfig;
use super::events::{EventsApi, with_trace};
use super::typed::store_typed;
use crate::error::ApiError;
use crate::events::{CUSTOMER_ID_ATTRIBUTE, DynamoEventStore, EventStore, TypedBody, TypedKind, typed_event};
use crate::fanout::check_deliverable;
use crate::http::{Caller, json_body, json_response, serve};
use crate::loyalty::{Applied, Change, DynamoLedger, Ledger, Mark};
use crate::routes;
use crate::tenant::TenantId;

/// Tries against a customer that other events keep changing.
const ATTEMPTS: usize = 5;
/// The most points one redemption may take.
const MAX_QUANTITY: u64 = 1_000_000_000_000;

pub struct RedemptionsApi<S = DynamoEventStore, L = DynamoLedger> {
    pub events: EventsApi<S>,
    pub ledger: L,
}

impl RedemptionsApi {
    pub fn new(sdk: &SdkConfig, config: LoyaltyEventsConfig) -> Self {
        Self {
            ledger: DynamoLedger::new(aws_sdk_dynamodb::Client::new(sdk), &config.loyalty_table),
            events: EventsApi::writer(sdk, config.events),
        }
    }
}

/// `redemption.quantity`: a whole number of points, at least 1.
fn quantity(body: &Value) -> Result<u64, ApiError> {
    body["redemption"]["quantity"]
        .as_u64()
        .filter(|q| (1..=MAX_QUANTITY).contains(q))
        .ok_or_else(|| {
            ApiError::invalid_field(
                "redemption.quantity",
                format!("is required: a whole number of points from 1 to {MAX_QUANTITY}"),
            )
        })
}

/// Applies the redemption once; a resend of its event id gets the first answer.
/// Returns its mark (the balances before and after) and whether it was applied before.
async fn redeem<L: Ledger>(
    ledger: &L,
    tenant: &TenantId,
    customer: &str,
    event_id: &str,
    quantity: u64,
) -> Result<(Mark, bool), ApiError> {
    for _ in 0..ATTEMPTS {
        if let Some(mark) = ledger.mark(tenant, customer, event_id).await? {
            return Ok((mark, true));
        }
        let before = ledger.state(tenant, customer).await?;
        if before.locked {
            return Err(ApiError::Refused {
                status: 409,
                code: "account_locked",
                detail: "the customer's account is locked; nothing was redeemed".into(),
            });
        }
        let now = Utc::now();
        let Some(effect) = before.redeemed(event_id, now, quantity) else {
            return Err(ApiError::Refused {
                status: 422,
                code: "insufficient_points",
                detail: format!(
                    "the customer has {} points available, fewer than the {quantity} asked; nothing was redeemed",
                    before.available(now)
                ),
            });
        };
        match ledger
            .apply(
                tenant,
                customer,
                &Change {
                    event_id,
                    before: &before,
                    effect: &effect,
                },
            )
            .await?
        {
            Applied::Written => return Ok((effect.mark, false)),
            // Applied meanwhile (its mark is read next), or the customer changed.
            Applied::AlreadyApplied | Applied::Stale => {}
        }
    }
    Err(ApiError::Conflict(
        "the customer changed on every try; send the same request again".into(),
    ))
}

/// For an `eventId` stored already: the first answer to a redemption (its
/// customer's, whatever this body names), or a 409 for another kind of event.
async fn first_answer<S: EventStore, L: Ledger>(
    api: &RedemptionsApi<S, L>,
    tenant: &TenantId,
    event_id: &str,
) -> Result<Option<(Value, Option<String>)>, ApiError> {
    let Some(stored) = api.events.store.get(tenant, event_id).await? else {
        return Ok(None);
    };
    if stored.entity_name != TypedKind::Redemption.entity_name() {
        return Err(ApiError::Conflict(format!(
            "event {event_id} exists as another kind of event ({}); nothing was redeemed",
            stored.entity_name
        )));
    }
    let Some(customer) = stored.event_payload.key_attributes.get(CUSTOMER_ID_ATTRIBUTE) else {
        return Ok(None);
    };
    Ok(api.ledger.mark(tenant, customer, event_id).await?.map(|mark| {
        let answer = json!({"eventId": event_id, "customerId": customer, "tenantId": tenant.as_str(), "isExisting": true,
               "startingBalance": mark.starting, "pendingBalance": mark.available});
        (answer, stored.traceparent.clone())
    }))
}

/// 200 `{eventId, customerId, tenantId, isExisting, startingBalance, pendingBalance}`.
pub async fn create_redemption_event<S: EventStore, L: Ledger>(
    api: &RedemptionsApi<S, L>,
    req: Request,
) -> Response<Body> {
    serve(
        &api.events.auth,
        &routes::CREATE_REDEMPTION_EVENT,
        req,
        |caller: Caller, req| async move {
            let body: TypedBody = json_body(&req)?;
            // Validated (and its ids made canonical), and known to be storable,
            // before anything is redeemed.
            let (event, customer) = typed_event(TypedKind::Redemption, body.clone(), Utc::now())?;
            check_deliverable(caller.tenant.as_str(), &event, "body")?;
            let quantity = quantity(&body.json)?;
            if let Some((answer, traceparent)) = first_answer(api, &caller.tenant, &event.id).await? {
                return Ok(with_trace(
                    json_response(StatusCode::OK, &answer)?,
                    traceparent.as_deref(),
                ));
            }
            let (mark, redeemed_before) = redeem(&api.ledger, &caller.tenant, &customer, &event.id, quantity).await?;
            // Stored once applied: a failure here is mended by a resend, which the
            // ledger answers as the first time.
            let stored = store_typed(&api.events, TypedKind::Redemption, (&caller.tenant, &req), body).await?;
            let mut answer = stored.answer(&caller.tenant);
            answer["isExisting"] = json!(stored.is_existing || redeemed_before);
            answer["startingBalance"] = json!(mark.starting);
            answer["pendingBalance"] = json!(mark.available);
            Ok(with_trace(
                json_response(StatusCode::OK, &answer)?,
                stored.traceparent.as_deref(),
            ))
        },
    )
    .await
}
