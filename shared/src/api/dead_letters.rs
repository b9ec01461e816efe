//! A subscription's dead letters (the deliveries the fan-out gave up on):
//! `GET /api/v1/event-subscription/{id}/dead-letters` lists them, and
//! `POST …/redrive` sends them again through the retry queue, with a fresh
//! count of failures.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::json;

use super::deliveries::{DeliveriesApi, subscription_page};
use crate::error::ApiError;
use crate::fanout::{DEAD_LETTER_KEYS, DeadLetter, send_again};
use crate::http::{Caller, json_response, serve};
use crate::routes;
use crate::util::rfc3339_millis;

/// Dead letters sent again per request: well within API Gateway's 30 s, and
/// `more` says when there are others.
const REDRIVE_PER_REQUEST: usize = 100;

/// A dead letter as listed (its message is not: the event is one GET away).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    event_id: String,
    failures: u32,
    last_error: String,
    #[serde(with = "rfc3339_millis")]
    at: chrono::DateTime<chrono::Utc>,
}

impl From<DeadLetter> for Listed {
    fn from(letter: DeadLetter) -> Self {
        Self {
            event_id: letter.event_id,
            failures: letter.failures,
            last_error: letter.last_error,
            at: letter.at,
        }
    }
}

/// `GET …/dead-letters[?limit=&next_token=]`: `{items: [{eventId, failures,
/// lastError, at}], next_token}`, oldest first.
pub async fn list_dead_letters(api: &DeliveriesApi, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::LIST_DEAD_LETTERS,
        req,
        |caller: Caller, req| async move {
            let page = subscription_page(
                api,
                &caller,
                &req,
                DEAD_LETTER_KEYS,
                |tenant, id, limit, cursor| async move {
                    let (letters, next) = api.dead_letters.page(&tenant, &id, limit, cursor.as_deref()).await?;
                    Ok((letters.into_iter().map(Listed::from).collect(), next))
                },
            )
            .await?;
            json_response(StatusCode::OK, &page)
        },
    )
    .await
}

/// `POST …/redrive`: 202 `{redriven, more}`. Sends up to a hundred dead letters
/// to the retry queue, which delivers each to where the subscription points now,
/// and removes them; `more` is true while others are left (call it again). An
/// inactive subscription is a 409: the retry consumer drops its deliveries.
pub async fn redrive_subscription(api: &DeliveriesApi, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::REDRIVE_SUBSCRIPTION,
        req,
        |caller: Caller, req| async move {
            let Some(retry) = &api.redrive else {
                return Err(ApiError::internal("this function was not built to redrive"));
            };
            let subscription = api.subscription(&caller.tenant, &req).await?.value;
            let id = subscription.id;
            if !subscription.active {
                return Err(ApiError::Conflict(format!(
                    "subscription {id} is inactive; reactivate it (PUT with \"active\": true) first, its dead letters are kept"
                )));
            }
            let (letters, next) = api
                .dead_letters
                .page(&caller.tenant, &id, REDRIVE_PER_REQUEST, None)
                .await?;
            let (sent, unsent) = send_again(&retry.sender, &retry.url, letters).await;
            // Removed once sent: a failure in between sends them again next time,
            // which consumers deduplicate by eventId.
            api.dead_letters.remove(&caller.tenant, &id, &sent).await?;
            tracing::info!(tenant = %caller.tenant, subscription_id = %id, redriven = sent.len(), "dead letters redriven");
            json_response(
                StatusCode::ACCEPTED,
                &json!({"redriven": sent.len(), "more": next.is_some() || unsent > 0}),
            )
        },
    )
    .await
}
