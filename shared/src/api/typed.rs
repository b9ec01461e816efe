//! `POST /api/v1/events/{actions,orders,transactions,redemptions}` (seed 003):
//! the typed body stored as one canonical event, answered the seed's way.

use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use super::events::EventsApi;
use crate::error::ApiError;
use crate::events::{
    Admission, Event, EventStore, NewCustomer, PutOutcome, TypedKind, make_customer_known, typed_event,
};
use crate::fanout::check_deliverable;
use crate::http::{Caller, json_body, json_response, serve};
use crate::routes::{self, Route};

/// The identifier type of customers the typed endpoints add: their `customerId`.
pub const CUSTOMER_ID: &str = "customerId";

/// Stores the typed event (adding its customer if unknown); 200 with `isExisting`
/// true when that `eventId` was accepted before, whatever this body says: seed 003's
/// clients resend with regenerated fields, and the first body wins (nothing is
/// stored or fanned out again).
async fn create<S: EventStore, D>(
    api: &EventsApi<S, D>,
    kind: TypedKind,
    route: &Route,
    req: Request,
) -> Response<Body> {
    serve(&api.auth, route, req, |caller: Caller, req| async move {
        let body: Value = json_body(&req)?;
        let now = Utc::now();
        let (event, customer_id) = typed_event(kind, body, now)?;
        let event_id = event.id.clone();
        check_deliverable(caller.tenant.as_str(), &event, "body")?;
        let kind_name = event.entity_name.clone();
        let mut customer_id = customer_id;
        let is_existing = match admitted(event, &customer_id)
            .store(&api.store, &caller.tenant, now)
            .await?
        {
            PutOutcome::Created(_) => false,
            PutOutcome::Replayed(_) => true,
            // The id was accepted before with another body: the first body wins.
            PutOutcome::Conflict => {
                let stored =
                    api.store.get(&caller.tenant, &event_id).await?.ok_or_else(|| {
                        ApiError::Conflict(format!("event {event_id} is being written; send it again"))
                    })?;
                if stored.entity_name != kind_name {
                    return Err(ApiError::Conflict(format!(
                        "event {event_id} exists as another kind of event ({})",
                        stored.entity_name
                    )));
                }
                customer_id = stored
                    .event_payload
                    .key_attributes
                    .get("customer_id")
                    .cloned()
                    .unwrap_or(customer_id);
                // Should the first request have failed before making its customer
                // known, this one does.
                let customer = admitted(stored, &customer_id).customer;
                make_customer_known(customer.as_ref(), &api.store, &caller.tenant, &event_id, now).await?;
                true
            }
        };
        let mut answer = json!({
            "eventId": event_id,
            "customerId": customer_id,
            "tenantId": caller.tenant.as_str(),
            "isExisting": is_existing,
        });
        if kind == TypedKind::Redemption {
            // The seed answers with points balances; there is no points ledger here,
            // so they are unknown (null), never made up. No balance check is made.
            answer["startingBalance"] = Value::Null;
            answer["pendingBalance"] = Value::Null;
        }
        json_response(StatusCode::OK, &answer)
    })
    .await
}

/// The typed event with its customer to add if unknown.
fn admitted(event: Event, customer_id: &str) -> Admission {
    Admission {
        customer: Some(NewCustomer {
            identifier_type: CUSTOMER_ID.to_owned(),
            identifier: customer_id.to_owned(),
        }),
        ..Admission::plain(event)
    }
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

pub async fn create_redemption_event<S: EventStore, D>(api: &EventsApi<S, D>, req: Request) -> Response<Body> {
    create(api, TypedKind::Redemption, &routes::CREATE_REDEMPTION_EVENT, req).await
}
