//! `GET /api/v1/events/{eventId}/deliveries`: every attempt to deliver one of
//! the tenant's events, to each of its subscriptions (see
//! fanout/event_attempts.rs). Another tenant's event is as unknown as a
//! missing one.

use aws_config::SdkConfig;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use super::config::EventDeliveriesConfig;
use super::events::path_event;
use crate::error::ApiError;
use crate::events::DynamoEventStore;
use crate::fanout::{ATTEMPT_KEYS, EventAttempt, EventAttempts, SubscriptionItems};
use crate::http::{Authentication, Caller, json_response, serve};
use crate::pagination::{self, PageRequest};
use crate::routes;

pub struct EventDeliveriesApi {
    pub auth: Authentication,
    /// Only read, to know the event is the caller's.
    pub events: DynamoEventStore,
    pub attempts: EventAttempts,
}

impl EventDeliveriesApi {
    pub fn new(sdk: &SdkConfig, config: EventDeliveriesConfig) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        Self {
            auth: config.auth.connect(sdk),
            events: DynamoEventStore::new(dynamodb.clone(), config.events_table),
            attempts: EventAttempts::new(SubscriptionItems::new(dynamodb, config.deliveries_table)),
        }
    }
}

#[derive(Serialize)]
struct Page {
    items: Vec<EventAttempt>,
    next_token: Option<String>,
}

/// `GET …/events/{eventId}/deliveries[?limit=&next_token=]`: `{items:
/// [{subscriptionId, attempt, outcome, error, at, latencyMs}], next_token}`,
/// oldest first; every attempt the history still keeps.
pub async fn list_event_deliveries(api: &EventDeliveriesApi, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::LIST_EVENT_DELIVERIES,
        req,
        |caller: Caller, req| async move {
            let event = path_event(&api.events, &caller.tenant, &req).await?;
            // A token is good for the event it was issued for.
            let scope = format!("E#{}", event.id);
            let page = PageRequest::from_query(&req.query_string_parameters(), &scope)?;
            if page.cursor.as_deref().is_some_and(|c| !c.starts_with(ATTEMPT_KEYS)) {
                return Err(ApiError::from(pagination::invalid_token()));
            }
            let (items, cursor) = api
                .attempts
                .page(&caller.tenant, &event.id, page.limit, page.cursor.as_deref())
                .await?;
            let next_token = cursor.map(|cursor| pagination::encode_token(&scope, &cursor));
            json_response(StatusCode::OK, &Page { items, next_token })
        },
    )
    .await
}
