//! `/api/v1/events`: create, read, list by entity.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use chrono::Utc;
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use super::config::{CreateEventConfig, ReadEventsConfig, WriteEventsConfig};
use crate::definitions::{self, DefinitionCache, EventDefinition};
use crate::error::{ApiError, FieldErrors};
use crate::events::{
    self, Admission, DynamoEventStore, Event, EventRequest, EventStore, EventStoreError, PutOutcome, TRACEPARENT,
    TraceParent,
};
use crate::fanout::check_deliverable;
use crate::http::{Authentication, Caller, Scope, json_body, json_response, serve};
use crate::ids;
use crate::loyalty::Assessable;
use crate::pagination::{self, PageRequest};
use crate::projections::check_projected_keys;
use crate::routes;
use crate::storage::schema::DEFINITION_RECORDS;
use crate::storage::{DynamoRecords, Records};
use crate::tenant::TenantId;

/// Header set on a 200 that answers a re-sent, already stored event.
pub const IDEMPOTENT_REPLAYED: &str = "Idempotent-Replayed";

/// What the events handlers need; built once per container.
pub struct EventsApi<S, D = DynamoRecords<EventDefinition>> {
    pub store: S,
    /// The tenants' event definitions; `None` where events are only read.
    pub definitions: Option<DefinitionCache<D>>,
    pub auth: Authentication,
}

impl EventsApi<DynamoEventStore> {
    /// get-event, list-events.
    pub fn reader(sdk: &SdkConfig, config: ReadEventsConfig) -> Self {
        Self::read_with(Client::new(sdk), sdk, config)
    }

    /// The typed event endpoints.
    pub fn writer(sdk: &SdkConfig, config: WriteEventsConfig) -> Self {
        Self::write_with(Client::new(sdk), sdk, config)
    }

    /// create-event, which also validates against the tenant's definitions.
    pub fn ingest(sdk: &SdkConfig, config: CreateEventConfig) -> Self {
        // One client for both tables: one connection pool, one credentials cache.
        let client = Client::new(sdk);
        let records = DynamoRecords::new(client.clone(), config.definitions_table, DEFINITION_RECORDS);
        Self {
            definitions: Some(DefinitionCache::new(records, config.definition_cache)),
            ..Self::write_with(client, sdk, config.events)
        }
    }

    fn read_with(client: Client, sdk: &SdkConfig, config: ReadEventsConfig) -> Self {
        Self {
            store: DynamoEventStore::new(client, config.events_table),
            definitions: None,
            auth: config.auth.connect(sdk),
        }
    }

    fn write_with(client: Client, sdk: &SdkConfig, config: WriteEventsConfig) -> Self {
        let api = Self::read_with(client, sdk, config.events);
        Self {
            store: api.store.writing(config.retention).claiming(config.claims_table),
            ..api
        }
    }
}

impl From<EventStoreError> for ApiError {
    fn from(err: EventStoreError) -> Self {
        match err {
            EventStoreError::InvalidCursor => pagination::invalid_token().into(),
            EventStoreError::Storage(err) => err.into(),
        }
    }
}

impl<S: EventStore, D: Records<EventDefinition>> EventsApi<S, D> {
    /// `event` validated against its tenant's active definition of its name, if any.
    async fn admit(&self, tenant: &TenantId, event: Event) -> Result<Admission, ApiError> {
        let Some(definitions) = &self.definitions else {
            return Ok(Admission::plain(event));
        };
        let definition = definitions
            .get(tenant, &event.entity_name)
            .await
            .map_err(ApiError::from)?;
        definitions::admit(event, definition.as_deref())
    }
}

/// `POST /api/v1/events`: 201 when new, 200 + `Idempotent-Replayed` when the same
/// event (or one with the same unique key) was stored before, 409 when its id
/// holds different content.
pub async fn create_event<S: EventStore, D: Records<EventDefinition>>(
    api: &EventsApi<S, D>,
    req: Request,
) -> Response<Body> {
    serve(
        &api.auth,
        &routes::CREATE_EVENT,
        req,
        |caller: Caller, req| async move {
            let now = Utc::now();
            let mut event = json_body::<EventRequest>(&req)?.into_event(now)?;
            event.traceparent = Some(trace_of(&req).to_string());
            // One the assessor would apply earns or spends like a typed event.
            if Assessable::from_event(&caller.tenant, &event).is_ok_and(|event| event.moves_points()) {
                caller.may(Scope::Points)?;
            }
            // An id the projections would put in a key is bounded now, not found
            // unprojectable later.
            check_projected_keys(&event)
                .map_err(|e| ApiError::invalid_field("event_payload.base64_encoded_payload_json", e.to_string()))?;
            let id = event.id.clone();
            let admission = api.admit(&caller.tenant, event).await?;
            check_deliverable(
                caller.tenant.as_str(),
                &admission.event,
                "event_payload.base64_encoded_payload_json",
            )?;
            match admission.store(&api.store, &caller.tenant, now).await? {
                PutOutcome::Created(event) => {
                    tracing::info!(event_id = %id, traceparent = event.traceparent.as_deref(), "event accepted");
                    let trace = event.traceparent.clone();
                    let mut response = json_response(StatusCode::CREATED, &as_seen_by(&caller, event))?;
                    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/events/{id}")) {
                        response.headers_mut().insert(header::LOCATION, location);
                    }
                    Ok(with_trace(response, trace.as_deref()))
                }
                // The first event, whose personal data this request may not have
                // sent, and whose trace it is.
                PutOutcome::Replayed(event) => {
                    let trace = event.traceparent.clone();
                    let mut response = json_response(StatusCode::OK, &as_seen_by(&caller, event))?;
                    response
                        .headers_mut()
                        .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
                    Ok(with_trace(response, trace.as_deref()))
                }
                PutOutcome::Conflict => Err(ApiError::Conflict(format!(
                    "event {id} already exists with different content"
                ))),
            }
        },
    )
    .await
}

/// The request's W3C trace: its `traceparent` header when valid, else a new one.
pub(super) fn trace_of(req: &Request) -> TraceParent {
    TraceParent::of_request(req.headers().get(TRACEPARENT).and_then(|v| v.to_str().ok()))
}

/// `response` with the event's `traceparent` header, so the caller can follow it.
pub(super) fn with_trace(mut response: Response<Body>, traceparent: Option<&str>) -> Response<Body> {
    if let Some(value) = traceparent.and_then(|t| HeaderValue::from_str(t).ok()) {
        response.headers_mut().insert(TRACEPARENT, value);
    }
    response
}

/// `GET /api/v1/events/{eventId}`: another tenant's id is as unknown as a missing one.
pub async fn get_event<S: EventStore, D>(api: &EventsApi<S, D>, req: Request) -> Response<Body> {
    serve(&api.auth, &routes::GET_EVENT, req, |caller: Caller, req| async move {
        let event = path_event(&api.store, &caller.tenant, &req).await?;
        json_response(StatusCode::OK, &as_seen_by(&caller, event))
    })
    .await
}

/// The event as `caller` may see it: its personal data masked unless the token
/// grants the personal-data scope.
fn as_seen_by(caller: &Caller, event: Event) -> Event {
    if caller.sees_personal_data() {
        event
    } else {
        event.psi_masked()
    }
}

/// The event the path's `{eventId}` names, the tenant's; 404 otherwise.
pub(super) async fn path_event(store: &impl EventStore, tenant: &TenantId, req: &Request) -> Result<Event, ApiError> {
    let id = req
        .path_parameters_ref()
        .and_then(|p| p.first("eventId"))
        .unwrap_or_default();
    let not_found = || ApiError::NotFound(format!("no event with id {id:?}"));
    // An id that could never have been stored is unknown, not malformed.
    ids::validate_client_id("eventId", id).map_err(|_| not_found())?;
    store.get(tenant, id).await?.ok_or_else(not_found)
}

#[derive(Serialize)]
struct EventList {
    items: Vec<Event>,
    next_token: Option<String>,
}

/// The query of a list request: which entity, and which page.
struct EntityQuery {
    entity_name: String,
    entity_id: String,
    /// Names the listing in its page tokens.
    scope: String,
    page: PageRequest,
}

impl EntityQuery {
    fn parse(query: &QueryMap) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let entity_name = errors
            .required("entity_name", query.first("entity_name"))
            .and_then(|raw| errors.check(events::entity_name("entity_name", raw)));
        let entity_id = errors.required("entity_id", query.first("entity_id")).and_then(|raw| {
            errors
                .check(events::entity_id_to_find("entity_id", raw))
                .map(|()| raw.to_owned())
        });
        let scope = format!(
            "{}/{}",
            entity_name.as_deref().unwrap_or_default(),
            entity_id.as_deref().unwrap_or_default()
        );
        let page = errors.check(PageRequest::from_query(query, &scope));
        let parsed = match (entity_name, entity_id, page) {
            (Some(entity_name), Some(entity_id), Some(page)) => Some(Self {
                entity_name,
                entity_id,
                scope,
                page,
            }),
            _ => None,
        };
        errors.finish(parsed)
    }
}

/// `GET /api/v1/events?entity_name=&entity_id=`: newest first, paginated.
pub async fn list_events<S: EventStore, D>(api: &EventsApi<S, D>, req: Request) -> Response<Body> {
    serve(&api.auth, &routes::LIST_EVENTS, req, |caller: Caller, req| async move {
        let query = EntityQuery::parse(&req.query_string_parameters())?;
        let found = api
            .store
            .list_by_entity(
                &caller.tenant,
                &query.entity_name,
                &query.entity_id,
                query.page.limit,
                query.page.cursor.as_deref(),
            )
            .await?;
        json_response(
            StatusCode::OK,
            &EventList {
                items: found
                    .items
                    .into_iter()
                    .map(|event| as_seen_by(&caller, event))
                    .collect(),
                next_token: found
                    .cursor
                    .map(|cursor| pagination::encode_token(&query.scope, &cursor)),
            },
        )
    })
    .await
}

#[cfg(test)]
mod tests {
    use lambda_http::http;
    use serde_json::{Value, json};

    use super::*;
    use std::time::Duration;

    use crate::events::InMemoryEventStore;
    use crate::storage::InMemoryRecords;

    fn api() -> EventsApi<InMemoryEventStore, InMemoryRecords<EventDefinition>> {
        EventsApi {
            store: InMemoryEventStore::default(),
            definitions: Some(DefinitionCache::new(InMemoryRecords::default(), Duration::ZERO)),
            auth: Authentication::DisabledForLocalRun,
        }
    }

    fn request(method: &str, uri: &str, body: Option<Value>) -> Request {
        let body = body.map_or(Body::Empty, |b| Body::Text(b.to_string()));
        let mut request = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("x-twc-tenant", "acme")
            .body(body)
            .expect("request");
        if let Some(id) = uri.strip_prefix("/api/v1/events/") {
            request =
                request.with_path_parameters(std::collections::HashMap::from([("eventId".to_owned(), id.to_owned())]));
        }
        if let Some((_, query)) = uri.split_once('?') {
            request = request.with_query_string_parameters(
                query
                    .split('&')
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect::<std::collections::HashMap<_, _>>(),
            );
        }
        request
    }

    fn event(id: &str) -> Value {
        json!({
            "id": id, "entity_id": "P-1", "entity_name": "product", "event_source": "SYSTEM",
            "event_type": "WARNING", "event_payload": {"operation": "UPDATE"}
        })
    }

    fn json_of(response: &Response<Body>) -> Value {
        serde_json::from_slice(response.body().as_ref()).expect("json")
    }

    #[tokio::test]
    async fn create_answers_201_with_location_then_replays() {
        // GIVEN an empty store
        let api = api();
        // WHEN an event is created twice with the same content
        let first = create_event(&api, request("POST", "/api/v1/events", Some(event("e1")))).await;
        let second = create_event(&api, request("POST", "/api/v1/events", Some(event("e1")))).await;
        // THEN the first is 201 with its location, the second a marked replay of it
        assert_eq!(first.status(), 201);
        assert_eq!(first.headers()[header::LOCATION], "/api/v1/events/e1");
        assert_eq!(second.status(), 200);
        assert_eq!(second.headers()[IDEMPOTENT_REPLAYED], "true");
        assert_eq!(json_of(&first), json_of(&second));
        assert_eq!(json_of(&first)["event_type"], "WARNING_EVENT");
    }

    #[tokio::test]
    async fn conflicting_resend_is_409_and_keeps_the_original() {
        let api = api();
        create_event(&api, request("POST", "/api/v1/events", Some(event("e1")))).await;
        let mut changed = event("e1");
        changed["entity_id"] = json!("P-2");
        let conflict = create_event(&api, request("POST", "/api/v1/events", Some(changed))).await;
        assert_eq!(conflict.status(), 409);
        let stored = get_event(&api, request("GET", "/api/v1/events/e1", None)).await;
        assert_eq!(json_of(&stored)["entity_id"], "P-1");
    }

    #[tokio::test]
    async fn list_pages_through_an_entity() {
        let api = api();
        for id in ["a", "b", "c"] {
            create_event(&api, request("POST", "/api/v1/events", Some(event(id)))).await;
        }
        let first = json_of(
            &list_events(
                &api,
                request("GET", "/api/v1/events?entity_name=PRODUCT&entity_id=P-1&limit=2", None),
            )
            .await,
        );
        assert_eq!(first["items"].as_array().map(Vec::len), Some(2));
        let token = first["next_token"].as_str().expect("a second page");
        let uri = format!("/api/v1/events?entity_name=PRODUCT&entity_id=P-1&limit=2&next_token={token}");
        let second = json_of(&list_events(&api, request("GET", &uri, None)).await);
        assert_eq!(second["items"].as_array().map(Vec::len), Some(1));
        assert_eq!(second["next_token"], Value::Null);
    }

    #[tokio::test]
    async fn wrong_method_is_405() {
        let response = get_event(&api(), request("DELETE", "/api/v1/events/e1", None)).await;
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()[header::ALLOW], "GET");
    }

    /// `api()` as deployed: every call needs a token, and its scopes count.
    fn deployed() -> EventsApi<InMemoryEventStore, InMemoryRecords<EventDefinition>> {
        EventsApi {
            // Claims required, no request rate (it needs the rates table).
            auth: Authentication::read(&crate::config::Environment::new(|name| {
                (name == crate::http::rate::RATE_VARIABLE).then(|| "0".to_owned())
            }))
            .expect("settings"),
            ..api()
        }
    }

    /// `req` sent with an acme token granting `scope` (space-separated).
    fn with_token(req: Request, scope: &str) -> Request {
        use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
        use lambda_http::request::RequestContext;
        let context: ApiGatewayV2httpRequestContext = serde_json::from_value(json!({
            "http": {"method": req.method().as_str(), "path": req.uri().path()},
            "authorizer": {"jwt": {"claims": {"tenant": "acme", "scope": scope}}}
        }))
        .expect("a request context");
        req.with_request_context(RequestContext::ApiGatewayV2(context))
    }

    fn refused_scope(response: &Response<Body>) -> String {
        assert_eq!(response.status(), 403, "{}", json_of(response));
        json_of(response)["detail"].as_str().unwrap_or_default().to_owned()
    }

    #[tokio::test]
    async fn storing_needs_the_events_scope_and_moving_points_the_points_scope() {
        let api = deployed();
        let post = |body: Value, scope: &str| with_token(request("POST", "/api/v1/events", Some(body)), scope);
        // GIVEN a read-only token WHEN it stores an event THEN 403 naming the events scope
        let refused = create_event(&api, post(event("e1"), "openid")).await;
        assert!(refused_scope(&refused).contains("\"event-collector/events\""));
        assert_eq!(
            create_event(&api, post(event("e1"), "event-collector/events"))
                .await
                .status(),
            201
        );
        // GIVEN an order naming a customer, which the assessor would apply (it earns)
        let mut order = event("o1");
        order["entity_name"] = json!("ORDER");
        order["event_payload"]["key_attributes"] = json!({"customer_id": "0192f1a2-0000-7000-8000-000000000001"});
        order["event_payload"]["base64_encoded_payload_json"] = json!("eyJvcmRlciI6IHsidG90YWwiOiAxMH19");
        // WHEN a token that may only store events sends it THEN 403 naming the points scope
        let refused = create_event(&api, post(order.clone(), "event-collector/events")).await;
        assert!(refused_scope(&refused).contains("\"event-collector/points\""));
        let both = "event-collector/events event-collector/points";
        assert_eq!(create_event(&api, post(order.clone(), both)).await.status(), 201);
        // AND the same order without a customer earns nothing: the events scope is enough
        order["id"] = json!("o2");
        order["event_payload"]["key_attributes"] = json!({});
        assert_eq!(
            create_event(&api, post(order, "event-collector/events")).await.status(),
            201
        );
    }

    #[tokio::test]
    async fn personal_data_reads_masked_without_its_scope() {
        // GIVEN an event whose definition marks `phone` as personal data
        let api = deployed();
        let tenant = TenantId::parse("acme").expect("tenant");
        let stored: Event = serde_json::from_value(json!({
            "id": "p1", "entity_id": "C-1", "entity_name": "PURCHASEEVENT", "event_source": "APPLICATION",
            "event_type": "ENTITY_EVENT", "created_at": "2026-01-01T00:00:00.000Z",
            "event_payload": {"operation": "CREATE",
                "base64_encoded_payload_json": "eyJwaG9uZSI6ICIrNDQgMjAiLCAiYW1vdW50IjogMX0="},
            "definition": {"version": 1, "psiFields": ["phone"]}
        }))
        .expect("an event");
        api.store.put_new(&tenant, stored, None).await.expect("stored");
        let decoded = |event: &Value| {
            let encoded = event["event_payload"]["base64_encoded_payload_json"]
                .as_str()
                .unwrap_or_default();
            crate::events::decode_json(encoded).expect("a JSON payload")
        };
        // WHEN a token without the personal-data scope reads it, alone or listed
        let read = |scope: &'static str| get_event(&api, with_token(request("GET", "/api/v1/events/p1", None), scope));
        let list = list_events(
            &api,
            with_token(
                request("GET", "/api/v1/events?entity_name=PURCHASEEVENT&entity_id=C-1", None),
                "openid",
            ),
        )
        .await;
        // THEN the phone reads "****", the rest as stored
        let masked = json_of(&read("openid").await);
        assert_eq!(decoded(&masked), json!({"phone": "****", "amount": 1}));
        assert_eq!(
            decoded(&json_of(&list)["items"][0]),
            json!({"phone": "****", "amount": 1})
        );
        // AND with the scope, in the clear
        let clear = json_of(&read("event-collector/personal-data").await);
        assert_eq!(decoded(&clear), json!({"phone": "+44 20", "amount": 1}));
    }
}
