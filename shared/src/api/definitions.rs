//! `/api/v1/event-definitions` (seed 001): create, list, read, update (a new
//! version), deactivate. Names are unique per tenant regardless of case.

use aws_config::SdkConfig;
use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};

use super::config::DefinitionsConfig;
use super::records::{check_version, flag, list_all, load, not_found, record_error};
use crate::definitions::{DefinitionRequest, ErrorCode, EventDefinition, definition_id};
use crate::error::ApiError;
use crate::http::{Authentication, Caller, Scope, json_body, json_response, serve};
use crate::routes;
use crate::storage::schema::{DEFINITION_RECORDS, DEFINITION_VERSION_RECORDS};
use crate::storage::{DynamoRecords, RecordError, Records, Versioned};

const KIND: &str = "event definition";

/// What the definition handlers need; built once per container.
pub struct DefinitionsApi<R> {
    /// The current version of each definition.
    pub records: R,
    /// Earlier versions, by `version_id`: what events validated before a change
    /// were checked against.
    pub versions: R,
    pub auth: Authentication,
}

impl DefinitionsApi<DynamoRecords<EventDefinition>> {
    pub fn new(sdk: &SdkConfig, config: DefinitionsConfig) -> Self {
        let client = aws_sdk_dynamodb::Client::new(sdk);
        let table = config.definitions_table;
        Self {
            records: DynamoRecords::new(client.clone(), &table, DEFINITION_RECORDS),
            versions: DynamoRecords::new(client, table, DEFINITION_VERSION_RECORDS),
            auth: config.auth,
        }
    }
}

/// The key of version `version` of definition `id` among the earlier versions.
fn version_id(id: &str, version: u64) -> String {
    format!("{id}#{version:010}")
}

/// The definition named in the path: its key and its name as written there.
fn path_name(req: &Request) -> Result<(String, String), ApiError> {
    let name = req
        .path_parameters_ref()
        .and_then(|p| p.first("eventName"))
        .unwrap_or_default()
        .to_owned();
    // A name no definition can have is unknown, not malformed.
    definition_id(&name)
        .map(|id| (id, name.clone()))
        .ok_or_else(|| not_found(KIND, &name))
}

/// `POST /api/v1/event-definitions`: 201; 409 with code 1806 if the name exists.
pub async fn create_event_definition<R: Records<EventDefinition>>(
    api: &DefinitionsApi<R>,
    req: Request,
) -> Response<Body> {
    serve(
        &api.auth,
        &routes::CREATE_EVENT_DEFINITION,
        req,
        |caller: Caller, req| async move {
            let draft = json_body::<DefinitionRequest>(&req)?.into_draft()?;
            let name = draft.event_name.clone();
            let id = definition_id(&name).unwrap_or_default();
            let stored = api
                .records
                .create(&caller.tenant, &id, draft.into_definition(Utc::now(), None))
                .await
                .map_err(|err| match err {
                    RecordError::AlreadyExists => ApiError::AlreadyExists {
                        detail: format!("an event definition named {name:?} already exists"),
                        code: ErrorCode::NameExists.value(),
                    },
                    other => record_error(KIND, &name)(other),
                })?;
            json_response(StatusCode::CREATED, &stored)
        },
    )
    .await
}

/// `GET /api/v1/event-definitions[?include_inactive=true]`: a JSON array.
pub async fn list_event_definitions<R: Records<EventDefinition>>(
    api: &DefinitionsApi<R>,
    req: Request,
) -> Response<Body> {
    serve(
        &api.auth,
        &routes::LIST_EVENT_DEFINITIONS,
        req,
        |caller: Caller, req| async move {
            let include_inactive = flag(&req, "include_inactive")?;
            let found = list_all(&api.records, KIND, &caller.tenant, |d| include_inactive || d.active).await?;
            json_response(StatusCode::OK, &found)
        },
    )
    .await
}

/// `GET /api/v1/event-definitions/{eventName}`.
pub async fn get_event_definition<R: Records<EventDefinition>>(
    api: &DefinitionsApi<R>,
    req: Request,
) -> Response<Body> {
    serve(
        &api.auth,
        &routes::GET_EVENT_DEFINITION,
        req,
        |caller: Caller, req| async move {
            let (id, name) = path_name(&req)?;
            let current = load(&api.records, KIND, &caller.tenant, &id).await?;
            let wanted = match req.query_string_parameters_ref().and_then(|q| q.first("version")) {
                None => return json_response(StatusCode::OK, &current),
                Some(raw) => raw
                    .parse::<u64>()
                    .ok()
                    .filter(|v| *v >= 1)
                    .ok_or_else(|| ApiError::invalid_field("version", "must be a version number (1, 2, …)"))?,
            };
            let no_such_version = || ApiError::NotFound(format!("{name:?} has no version {wanted}"));
            if wanted == current.version {
                return json_response(StatusCode::OK, &current);
            }
            if wanted > current.version {
                return Err(no_such_version());
            }
            let earlier = api
                .versions
                .get(&caller.tenant, &version_id(&id, wanted))
                .await
                .map_err(record_error(KIND, &name))?
                .ok_or_else(no_such_version)?;
            json_response(
                StatusCode::OK,
                &Versioned {
                    version: wanted,
                    value: earlier.value,
                },
            )
        },
    )
    .await
}

/// `PUT /api/v1/event-definitions/{eventName}`: the body replaces the definition
/// as its next version (active again unless it says `active: false`). Events
/// stored before keep the version they were validated against.
pub async fn update_event_definition<R: Records<EventDefinition>>(
    api: &DefinitionsApi<R>,
    req: Request,
) -> Response<Body> {
    serve(
        &api.auth,
        &routes::UPDATE_EVENT_DEFINITION,
        req,
        |caller: Caller, req| async move {
            let (id, _) = path_name(&req)?;
            let draft = json_body::<DefinitionRequest>(&req)?.into_draft()?;
            if definition_id(&draft.event_name).as_deref() != Some(id.as_str()) {
                return Err(ApiError::invalid_field(
                    "eventName",
                    "differs from the name in the path; names never change",
                ));
            }
            let current = load(&api.records, KIND, &caller.tenant, &id).await?;
            check_version(KIND, draft.version, current.version)?;
            let definition = draft.into_definition(Utc::now(), Some(&current.value));
            replace(api, &caller, &id, definition, current).await
        },
    )
    .await
}

/// `PUT /api/v1/event-definitions/{eventName}/deactivate`: 200 with the
/// definition; events of its name are no longer validated. Idempotent.
pub async fn deactivate_event_definition<R: Records<EventDefinition>>(
    api: &DefinitionsApi<R>,
    req: Request,
) -> Response<Body> {
    serve(
        &api.auth,
        &routes::DEACTIVATE_EVENT_DEFINITION,
        req,
        |caller: Caller, req| async move {
            let (id, _) = path_name(&req)?;
            let current = load(&api.records, KIND, &caller.tenant, &id).await?;
            if !current.value.active {
                return json_response(StatusCode::OK, &current);
            }
            let deactivated = EventDefinition {
                active: false,
                updated_at: Utc::now(),
                ..current.value.clone()
            };
            replace(api, &caller, &id, deactivated, current).await
        },
    )
    .await
}

/// Makes `definition` the next version after `current`, keeping `current` among
/// the earlier versions first (kept again, harmlessly, if the replace then fails;
/// so a version is never lost, whatever fails in between).
async fn replace<R: Records<EventDefinition>>(
    api: &DefinitionsApi<R>,
    caller: &Caller,
    id: &str,
    definition: EventDefinition,
    current: Versioned<EventDefinition>,
) -> Result<Response<Body>, ApiError> {
    // Otherwise a token that may change definitions but not read personal data
    // could have the next events stored unmasked, and read them.
    let unmasked = current.value.unmasked_by(&definition);
    if !unmasked.is_empty() {
        let doing = if definition.active {
            format!("fields {unmasked:?} lose isPsiData (events stored after would read in the clear)")
        } else {
            format!(
                "deactivating a definition with isPsiData fields {unmasked:?} (events stored after would read in the clear)"
            )
        };
        caller.may_for(Scope::PersonalData, doing)?;
    }
    match api
        .versions
        .create(&caller.tenant, &version_id(id, current.version), current.value)
        .await
    {
        Ok(_) | Err(RecordError::AlreadyExists) => {}
        Err(other) => return Err(record_error(KIND, id)(other)),
    }
    let stored: Versioned<EventDefinition> = api
        .records
        .replace(&caller.tenant, id, definition, current.version)
        .await
        .map_err(record_error(KIND, id))?;
    json_response(StatusCode::OK, &stored)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use lambda_http::http;
    use serde_json::{Value, json};

    use super::*;
    use crate::storage::InMemoryRecords;

    fn api() -> DefinitionsApi<InMemoryRecords<EventDefinition>> {
        DefinitionsApi {
            records: InMemoryRecords::default(),
            versions: InMemoryRecords::default(),
            auth: Authentication::DisabledForLocalRun,
        }
    }

    fn request(method: &str, name: Option<&str>, body: Option<Value>) -> Request {
        let request = http::Request::builder()
            .method(method)
            .uri("/api/v1/event-definitions")
            .header("x-twc-tenant", "acme")
            .body(body.map_or(Body::Empty, |b| Body::Text(b.to_string())))
            .expect("request");
        match name {
            Some(name) => request.with_path_parameters(HashMap::from([("eventName".to_owned(), name.to_owned())])),
            None => request,
        }
    }

    fn json_of(response: &Response<Body>) -> Value {
        serde_json::from_slice(response.body().as_ref()).expect("json")
    }

    fn body(name: &str) -> Value {
        json!({"eventName": name, "actions": ["EIConsumer"], "fields": [{"name": "cid", "type": "customer"}]})
    }

    #[tokio::test]
    async fn names_are_unique_regardless_of_case_with_code_1806() {
        // GIVEN a definition
        let api = api();
        let created = create_event_definition(&api, request("POST", None, Some(body("purchaseEvent")))).await;
        assert_eq!(created.status(), 201);
        assert_eq!(json_of(&created)["version"], 1);
        // WHEN the same name is created again in another case
        let again = create_event_definition(&api, request("POST", None, Some(body("PURCHASEEVENT")))).await;
        // THEN it is a 409 with the seed's code, and the name reads back either way
        assert_eq!(again.status(), 409);
        assert_eq!(json_of(&again)["code"], 1806);
        let read = get_event_definition(&api, request("GET", Some("purchaseevent"), None)).await;
        assert_eq!(json_of(&read)["eventName"], "purchaseEvent");
    }

    #[tokio::test]
    async fn malformed_bodies_are_4xx_never_5xx() {
        let api = api();
        let customer = json!({"name": "cid", "type": "customer"});
        for body in [
            json!({}),
            json!({"eventName": 7, "actions": "EMFConsumer", "fields": [customer]}),
            json!({"eventName": "a", "actions": {"x": 1}, "fields": [customer]}),
            json!({"eventName": "a", "actions": ["EMFConsumer"], "fields": "cid"}),
            json!({"eventName": "a", "actions": ["EMFConsumer"], "fields": [1, null]}),
            json!({"eventName": "a", "actions": ["EMFConsumer"], "fields": [{"name": "x", "type": 3}]}),
            json!({"eventName": "a", "actions": ["EMFConsumer"], "fields": [customer], "identifierType": 5}),
            json!({"eventName": "a", "actions": ["EMFConsumer"], "fields": [customer], "identifierType": {"value": "email", "x": 1}}),
            json!({"eventName": "é", "actions": ["EMFConsumer"], "fields": [customer], "extra": true}),
            json!({"eventName": "a".repeat(10_000), "actions": ["EMFConsumer"], "fields": [customer]}),
        ] {
            let response = create_event_definition(&api, request("POST", None, Some(body.clone()))).await;
            assert_eq!(response.status(), 400, "{body}: {}", json_of(&response));
        }
        let not_json = http::Request::builder()
            .method("POST")
            .uri("/api/v1/event-definitions")
            .header("x-twc-tenant", "acme")
            .body(Body::Text("{\"eventName\": ".into()))
            .expect("request");
        assert_eq!(create_event_definition(&api, not_json).await.status(), 400);
    }

    #[tokio::test]
    async fn updates_are_new_versions_and_deactivation_hides_from_the_list() {
        let api = api();
        create_event_definition(&api, request("POST", None, Some(body("refund")))).await;
        let mut changed = body("refund");
        changed["description"] = json!("refunds at the till");
        let updated = update_event_definition(&api, request("PUT", Some("refund"), Some(changed))).await;
        assert_eq!(json_of(&updated)["version"], 2);
        let read_version = |version: &str| {
            let uri_query = HashMap::from([("version".to_owned(), version.to_owned())]);
            request("GET", Some("refund"), None).with_query_string_parameters(uri_query)
        };
        let first = get_event_definition(&api, read_version("1")).await;
        assert_eq!(
            (json_of(&first)["version"].as_u64(), json_of(&first).get("description")),
            (Some(1), None)
        );
        let second = get_event_definition(&api, read_version("2")).await;
        assert_eq!(json_of(&second)["description"], "refunds at the till");
        assert_eq!(get_event_definition(&api, read_version("3")).await.status(), 404);
        assert_eq!(get_event_definition(&api, read_version("0")).await.status(), 400);
        let renamed = update_event_definition(&api, request("PUT", Some("refund"), Some(body("other")))).await;
        assert_eq!(renamed.status(), 400);
        let off = deactivate_event_definition(&api, request("PUT", Some("refund"), None)).await;
        assert_eq!(json_of(&off)["active"], false);
        let listed = list_event_definitions(&api, request("GET", None, None)).await;
        assert_eq!(json_of(&listed), json!([]));
        let unknown = get_event_definition(&api, request("GET", Some("no such name!"), None)).await;
        assert_eq!(unknown.status(), 404);
    }
}
