//! `/api/v1/events`: create, read, list by entity.

use aws_sdk_dynamodb::Client;
use chrono::{Duration, Utc};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use crate::config::{self, ConfigError};
use crate::error::{ApiError, FieldErrors};
use crate::events::{
    self, DynamoEventStore, Event, EventRequest, EventStore, PutOutcome, StoreError,
};
use crate::http::{Authentication, Caller, json_body, json_response, serve};
use crate::pagination::{self, PageRequest};
use crate::routes;
use crate::{aws, ids};

/// Header set on a 200 that answers a re-sent, already stored event.
pub const IDEMPOTENT_REPLAYED: &str = "Idempotent-Replayed";

/// What the events handlers need; built once per container.
pub struct EventsApi<S> {
    pub store: S,
    pub auth: Authentication,
}

impl EventsApi<DynamoEventStore> {
    /// `EVENTS_TABLE`, `EVENT_RETENTION_DAYS` (default 365), `TENANT_CLAIM`.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = aws::sdk_config().await;
        let retention_days: i64 = config::parsed_or("EVENT_RETENTION_DAYS", 365)?;
        let store = DynamoEventStore::new(
            Client::new(&sdk),
            config::required("EVENTS_TABLE")?,
            Duration::days(retention_days),
        );
        Ok(Self {
            store,
            auth: Authentication::from_env(),
        })
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::InvalidCursor => pagination::invalid_token().into(),
            StoreError::Backend(detail) => ApiError::Internal(detail),
        }
    }
}

/// `POST /api/v1/events`: 201 when new, 200 + `Idempotent-Replayed` when the same
/// event was stored before, 409 when its id holds different content.
pub async fn create_event<S: EventStore>(api: &EventsApi<S>, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::CREATE_EVENT,
        req,
        |caller: Caller, req| async move {
            let event = json_body::<EventRequest>(&req)?.into_event(Utc::now())?;
            let id = event.id.clone();
            match api.store.put_new(&caller.tenant, event).await? {
                PutOutcome::Created(event) => {
                    let mut response = json_response(StatusCode::CREATED, &event)?;
                    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/events/{id}")) {
                        response.headers_mut().insert(header::LOCATION, location);
                    }
                    Ok(response)
                }
                PutOutcome::Replayed(event) => {
                    let mut response = json_response(StatusCode::OK, &event)?;
                    response
                        .headers_mut()
                        .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
                    Ok(response)
                }
                PutOutcome::Conflict => Err(ApiError::Conflict(format!(
                    "event {id} already exists with different content"
                ))),
            }
        },
    )
    .await
}

/// `GET /api/v1/events/{eventId}`: another tenant's id is as unknown as a missing one.
pub async fn get_event<S: EventStore>(api: &EventsApi<S>, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::GET_EVENT,
        req,
        |caller: Caller, req| async move {
            let id = req
                .path_parameters_ref()
                .and_then(|p| p.first("eventId"))
                .unwrap_or_default();
            let not_found = || ApiError::NotFound(format!("no event with id {id:?}"));
            // An id that could never have been stored is unknown, not malformed.
            ids::validate_client_id("eventId", id).map_err(|_| not_found())?;
            let event = api
                .store
                .get(&caller.tenant, id)
                .await?
                .ok_or_else(not_found)?;
            json_response(StatusCode::OK, &event)
        },
    )
    .await
}

#[derive(Serialize)]
struct EventList {
    items: Vec<Event>,
    next_token: Option<String>,
}

/// `GET /api/v1/events?entity_name=&entity_id=`: newest first, paginated.
pub async fn list_events<S: EventStore>(api: &EventsApi<S>, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::LIST_EVENTS,
        req,
        |caller: Caller, req| async move {
            let query = req.query_string_parameters();
            let mut errors = FieldErrors::default();
            let page = errors.check(PageRequest::from_query(&query));
            let entity_name = errors
                .required("entity_name", query.first("entity_name"))
                .and_then(|raw| errors.check(events::entity_name("entity_name", raw)));
            let entity_id = errors
                .required("entity_id", query.first("entity_id"))
                .and_then(|raw| {
                    errors
                        .check(events::entity_id("entity_id", raw))
                        .map(|()| raw)
                });
            let (page, entity_name, entity_id) = errors.finish(
                page.zip(entity_name)
                    .zip(entity_id)
                    .map(|((p, n), i)| (p, n, i)),
            )?;
            let found = api
                .store
                .list_by_entity(
                    &caller.tenant,
                    &entity_name,
                    entity_id,
                    page.limit,
                    page.cursor.as_deref(),
                )
                .await?;
            json_response(
                StatusCode::OK,
                &EventList {
                    items: found.items,
                    next_token: found.cursor.as_deref().map(pagination::encode_token),
                },
            )
        },
    )
    .await
}
