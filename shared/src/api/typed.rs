//! `POST /api/v1/events/{actions,orders,transactions}` (seed 003; redemptions and
//! baskets add the loyalty engine's part to the same store step):
//! the typed body stored as one canonical event, answered the seed's way.

use chrono::{DateTime, Utc};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use super::events::{EventsApi, trace_of, with_trace};
use crate::error::ApiError;
use crate::events::{
    Admission, CUSTOMER_ID_ATTRIBUTE, EventStore, NewCustomer, PutOutcome, TypedBody, TypedKind, make_customer_known,
    typed_event,
};
use crate::fanout::check_deliverable;
use crate::http::{Caller, json_body, json_response, serve};
use crate::routes::{self, Route};
use crate::tenant::TenantId;

/// The identifier type of customers the typed endpoints add: their `customerId`.
pub const CUSTOMER_ID: &str = "customerId";

/// A typed event as stored: its id, its customer, and whether that `eventId`
/// was accepted before.
pub struct Stored {
    pub event_id: String,
    pub customer_id: String,
    pub is_existing: bool,
    /// The stored event's W3C trace (the first one's for a resend), for the
    /// answer's `traceparent` header.
    pub traceparent: Option<String>,
}

impl Stored {
    /// Seed 003's answer.
    pub fn answer(&self, tenant: &TenantId) -> Value {
        json!({
            "eventId": self.event_id,
            "customerId": self.customer_id,
            "tenantId": tenant.as_str(),
            "isExisting": self.is_existing,
        })
    }
}

/// Stores the typed event (adding its customer if unknown). `is_existing` is true
/// when that `eventId` was accepted before, whatever this body says: seed 003's
/// clients resend with regenerated fields, and the first body wins (nothing is
/// stored or fanned out again).
pub async fn store_typed<S: EventStore, D>(
    api: &EventsApi<S, D>,
    kind: TypedKind,
    (tenant, req): (&TenantId, &Request),
    body: TypedBody,
) -> Result<Stored, ApiError> {
    let now = Utc::now();
    let (mut event, customer_id) = typed_event(kind, body, now)?;
    event.traceparent = Some(trace_of(req).to_string());
    let event_id = event.id.clone();
    check_deliverable(tenant.as_str(), &event, "body")?;
    let kind_name = event.entity_name.clone();
    let admission = Admission {
        customer: Some(customer(&customer_id)),
        ..Admission::plain(event)
    };
    let (is_existing, customer_id, traceparent) = match admission.store(&api.store, tenant, now).await? {
        PutOutcome::Created(event) => (false, customer_id, event.traceparent),
        PutOutcome::Replayed(event) => (true, customer_id, event.traceparent),
        // The id was accepted before with another body: the first body wins.
        PutOutcome::Conflict => {
            let (first, traceparent) = first_customer(api, tenant, &event_id, &kind_name, now).await?;
            (true, first.unwrap_or(customer_id), traceparent)
        }
    };
    Ok(Stored {
        event_id,
        customer_id,
        is_existing,
        traceparent,
    })
}

/// Stores the typed event; 200 with seed 003's answer.
async fn create<S: EventStore, D>(
    api: &EventsApi<S, D>,
    kind: TypedKind,
    route: &Route,
    req: Request,
) -> Response<Body> {
    serve(&api.auth, route, req, |caller: Caller, req| async move {
        let stored = store_typed(api, kind, (&caller.tenant, &req), json_body(&req)?).await?;
        let response = json_response(StatusCode::OK, &stored.answer(&caller.tenant))?;
        Ok(with_trace(response, stored.traceparent.as_deref()))
    })
    .await
}

/// The customer a typed event names, to add if the tenant does not know it.
fn customer(customer_id: &str) -> NewCustomer {
    NewCustomer {
        identifier_type: CUSTOMER_ID.to_owned(),
        identifier: customer_id.to_owned(),
    }
}

/// The customer of the event first stored under `event_id` (`None` when it names
/// none), made known should the first request have failed before doing so; a 409
/// when that event is of another kind than `kind_name`.
async fn first_customer<S: EventStore, D>(
    api: &EventsApi<S, D>,
    tenant: &TenantId,
    event_id: &str,
    kind_name: &str,
    now: DateTime<Utc>,
) -> Result<(Option<String>, Option<String>), ApiError> {
    let stored = api
        .store
        .get(tenant, event_id)
        .await?
        .ok_or_else(|| ApiError::Conflict(format!("event {event_id} is being written; send it again")))?;
    if stored.entity_name != kind_name {
        return Err(ApiError::Conflict(format!(
            "event {event_id} exists as another kind of event ({})",
            stored.entity_name
        )));
    }
    let Some(customer_id) = stored.event_payload.key_attributes.get(CUSTOMER_ID_ATTRIBUTE) else {
        return Ok((None, stored.traceparent));
    };
    make_customer_known(Some(&customer(customer_id)), &api.store, tenant, event_id, now).await?;
    Ok((Some(customer_id.clone()), stored.traceparent.clone()))
}

pub async fn create_action_event<S: EventStore, D>(api: &EventsApi<S, D>, req: Request) -> Response<Body> {
    create(api, TypedKind::Action, &routes::CREATE_ACTION_EVENT, req).await
}

pub async fn create_order_event<S: EventStore, D>(api: &EventsApi<S, D>, req: Request) -> Response<Body> {
    create(api, TypedKind::Order, &routes::CREATE_ORDER_EVENT, req).await
}

pub async fn create_transaction_event<S: EventStore, D>(api: &EventsApi<S, D>, req: Request) -> Response<Body> {
    create(api, TypedKind::Transaction, &routes::CREATE_TRANSACTION_EVENT, req).await
}
