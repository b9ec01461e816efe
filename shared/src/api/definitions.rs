//! `/api/v1/event-definitions` (seed 001): create, list, read, update (a new
//! version), deactivate. Names are unique per tenant regardless of case.

use aws_config::SdkConfig;
use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::http::header::{HeaderValue, LINK};
use lambda_http::{Body, Request, RequestExt, Response};

use super::config::DefinitionsConfig;
use super::records::{check_version, flag, list_all, list_page, load, not_found, record_error, room_for_one};
use crate::definitions::{DefinitionRequest, ErrorCode, EventDefinition, definition_id};
use crate::error::ApiError;
use crate::http::{Authentication, Caller, Scope, json_body, json_response, serve};
use crate::pagination;
use crate::quotas::Quota;
use crate::routes;
use crate::storage::schema::{DEFINITION_RECORDS, DEFINITION_VERSION_RECORDS};
use crate::storage::{Counted, DynamoRecords, RecordError, Records, Versioned};

const KIND: &str = "event definition";

/// What the definition handlers need; built once per container.
pub struct DefinitionsApi<R> {
    /// The current version of each definition.
    pub records: R,
    /// Earlier versions, by `version_id`: what events validated before a change
    /// were checked against.
    pub versions: R,
    pub auth: Authentication,
    /// How many definitions a tenant may keep (deactivated ones count: they
    /// cannot be deleted, and keep their name).
    pub quota: Quota,
}

impl DefinitionsApi<DynamoRecords<EventDefinition>> {
    pub fn new(sdk: &SdkConfig, config: DefinitionsConfig) -> Self {
        let client = aws_sdk_dynamodb::Client::new(sdk);
        let table = config.definitions_table;
        Self {
            records: DynamoRecords::new(client.clone(), &table, DEFINITION_RECORDS),
            versions: DynamoRecords::new(client, table, DEFINITION_VERSION_RECORDS),
            auth: config.auth.connect(sdk),
            quota: config.quota,
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

/// `POST /api/v1/event-definitions`: 201; 409 with code 1806 if the name
/// exists, and a 409 naming the quota when the tenant holds as many as it may.
pub async fn create_event_definition<R: Counted<EventDefinition>>(
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
            let held = room_for_one(&api.records, &api.quota, &caller.tenant, |_| true).await?;
            let definition = draft.into_definition(Utc::now(), None);
            let stored = api
                .records
                .create_counted(&caller.tenant, &id, definition, api.quota.max, held)
                .await
                .map_err(|err| match err {
                    RecordError::AlreadyExists => ApiError::AlreadyExists {
                        detail: format!("an event definition named {name:?} already exists"),
                        code: ErrorCode::NameExists.value(),
                    },
                    RecordError::OverQuota { held } => api.quota.refusal(held),
                    other => record_error(KIND, &name)(other),
                })?;
            json_response(StatusCode::CREATED, &stored)
        },
    )
    .await
}

/// `GET /api/v1/event-definitions[?include_inactive=true][&limit=&next_token=]`:
/// a JSON array (the seed's shape), in name order. Without `limit` or
/// `next_token`, all of them (the quota's ceiling bounds the answer well under
/// Lambda's 6 MB: `a_full_list_fits_a_lambda_response`);
/// with either, a page, and a `Link` header (`rel="next"`) while more remain.
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
            let keep = |d: &EventDefinition| include_inactive || d.active;
            let query = req.query_string_parameters();
            if query.first("limit").is_none() && query.first("next_token").is_none() {
                let found = list_all(&api.records, KIND, &caller.tenant, keep).await?;
                return json_response(StatusCode::OK, &found);
            }
            let (listed, limit) = list_page(&api.records, KIND, &caller.tenant, &req).await?;
            let found: Vec<_> = listed.items.into_iter().filter(|d| keep(&d.value)).collect();
            let mut response = json_response(StatusCode::OK, &found)?;
            if let Some(cursor) = listed.cursor {
                let next = format!(
                    "</api/v1/event-definitions?limit={}&next_token={}{}>; rel=\"next\"",
                    limit,
                    pagination::encode_token(KIND, &cursor),
                    if include_inactive { "&include_inactive=true" } else { "" }
                );
                if let Ok(link) = HeaderValue::from_str(&next) {
                    response.headers_mut().insert(LINK, link);
                }
            }
            Ok(response)
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
            quota: Quota {
                max: 3,
                parameter: "MaxEventDefinitionsPerTenant",
                kind: "event definition",
            },
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

    /// `MaxEventDefinitionsPerTenant`'s `MaxValue` in template.yaml.
    const MOST_DEFINITIONS: usize = 200;

    #[test]
    fn a_full_list_fits_a_lambda_response() {
        // GIVEN the largest definition the API takes: every field, the longest
        // names, a description of four-byte characters
        let fields: Vec<Value> = (0..100)
            .map(|i| {
                let kind = if i == 0 { "customer" } else { "string" };
                json!({"name": format!("f{i:02}{}", "x".repeat(61)), "type": kind, "isRequired": true, "isPsiData": i > 0})
            })
            .collect();
        let body = json!({"eventName": "E".repeat(64), "actions": ["EIConsumer"], "description": "\u{1F600}".repeat(1024), "fields": fields});
        let definition = serde_json::from_value::<DefinitionRequest>(body)
            .expect("request")
            .into_draft()
            .expect("valid")
            .into_definition(Utc::now(), None);
        // WHEN a tenant holds as many as the quota can ever allow
        let one = serde_json::to_vec(&Versioned {
            version: u64::MAX,
            value: definition,
        })
        .expect("json")
        .len();
        // THEN the whole list stays well under Lambda's 6 MB response limit
        assert!(one * MOST_DEFINITIONS < 5 * 1024 * 1024, "{one} bytes a definition");
    }

    #[tokio::test]
    async fn a_tenant_holds_at_most_its_quota_and_pages_its_list() {
        // GIVEN a tenant at its quota of three
        let api = api();
        for name in ["A1", "B2", "C3"] {
            let created = create_event_definition(&api, request("POST", None, Some(body(name)))).await;
            assert_eq!(created.status(), 201);
        }
        // WHEN it creates a fourth
        let refused = create_event_definition(&api, request("POST", None, Some(body("D4")))).await;
        // THEN a 409 names the parameter, and another tenant is unaffected
        assert_eq!(refused.status(), 409);
        assert!(json_of(&refused).to_string().contains("MaxEventDefinitionsPerTenant"));
        let mut other = request("POST", None, Some(body("D4")));
        other
            .headers_mut()
            .insert("x-twc-tenant", "initech".parse().expect("header"));
        assert_eq!(create_event_definition(&api, other).await.status(), 201);
        // AND its list pages two at a time, the next page linked
        let paged = |query: &[(&str, &str)]| {
            let params: HashMap<String, String> =
                query.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            request("GET", None, None).with_query_string_parameters(params)
        };
        let first = list_event_definitions(&api, paged(&[("limit", "2")])).await;
        assert_eq!(json_of(&first).as_array().map(Vec::len), Some(2));
        let link = first
            .headers()
            .get("link")
            .expect("a next link")
            .to_str()
            .expect("text")
            .to_owned();
        let token = link
            .split("next_token=")
            .nth(1)
            .and_then(|t| t.split('>').next())
            .expect("token");
        let second = list_event_definitions(&api, paged(&[("limit", "2"), ("next_token", token)])).await;
        let names: Vec<Value> = json_of(&second)
            .as_array()
            .expect("array")
            .iter()
            .map(|d| d["eventName"].clone())
            .collect();
        assert_eq!(names, [json!("C3")]);
        assert!(second.headers().get("link").is_none(), "the last page links nowhere");
        // AND without paging parameters the whole list, as the seed's array
        let all = list_event_definitions(&api, request("GET", None, None)).await;
        assert_eq!(json_of(&all).as_array().map(Vec::len), Some(3));
    }
}
