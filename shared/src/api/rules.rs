//! `/api/v1/rules`: create, list, read, replace and deactivate loyalty rules.
//! Deactivated rules stay readable; a rule is never deleted.

use aws_config::SdkConfig;
use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::config::RulesConfig;
use super::records::{check_version, create_counted, list_page, load, path_id, record_error, room_for_one};
use crate::error::ApiError;
use crate::http::{Authentication, Caller, json_body, json_response, serve};
use crate::pagination;
use crate::quotas::Quota;
use crate::rules::{Rule, RuleRequest};
use crate::storage::schema::RULE_RECORDS;
use crate::storage::{Counted, DynamoRecords, Records, Versioned};
use crate::{ids, routes};

const KIND: &str = "rule";

/// What the rule handlers need; built once per container.
pub struct RulesApi<R> {
    pub records: R,
    pub auth: Authentication,
    pub quota: Quota,
}

pub type DynamoRulesApi = RulesApi<DynamoRecords<Rule>>;

impl DynamoRulesApi {
    pub fn new(sdk: &SdkConfig, config: RulesConfig) -> Self {
        Self {
            records: DynamoRecords::new(aws_sdk_dynamodb::Client::new(sdk), config.loyalty_table, RULE_RECORDS),
            auth: config.auth.connect(sdk),
            quota: config.quota,
        }
    }
}

/// `POST /api/v1/rules`: 201 the rule; 409 if the id exists or the tenant holds
/// as many rules as it may.
pub async fn create_rule<R: Counted<Rule>>(api: &RulesApi<R>, req: Request) -> Response<Body> {
    serve(&api.auth, &routes::CREATE_RULE, req, |caller: Caller, req| async move {
        RuleRequest::check_blocks(&json_body(&req)?)?;
        let request = json_body::<RuleRequest>(&req)?;
        let id = request.id().map_or_else(|| ids::generate("rul"), str::to_owned);
        let rule = request.into_rule(id.clone(), Utc::now(), None)?;
        // Every rule counts, active or not: the assessor reads them all.
        let held = room_for_one(&api.records, &api.quota, &caller.tenant, |_| true).await?;
        let stored = create_counted(&api.records, &api.quota, &caller.tenant, &id, rule, held).await?;
        json_response(StatusCode::CREATED, &stored)
    })
    .await
}

/// A page of rules.
#[derive(Serialize)]
struct RulePage {
    items: Vec<Versioned<Rule>>,
    next_token: Option<String>,
}

/// `GET /api/v1/rules[?limit=&next_token=]`: `{items, next_token}` in id order.
pub async fn list_rules<R: Records<Rule>>(api: &RulesApi<R>, req: Request) -> Response<Body> {
    serve(&api.auth, &routes::LIST_RULES, req, |caller: Caller, req| async move {
        let (listed, _) = list_page(&api.records, KIND, &caller.tenant, &req).await?;
        let body = RulePage {
            items: listed.items,
            next_token: listed.cursor.map(|cursor| pagination::encode_token(KIND, &cursor)),
        };
        json_response(StatusCode::OK, &body)
    })
    .await
}

/// `GET /api/v1/rules/{ruleId}`: deactivated rules too.
pub async fn get_rule<R: Records<Rule>>(api: &RulesApi<R>, req: Request) -> Response<Body> {
    serve(&api.auth, &routes::GET_RULE, req, |caller: Caller, req| async move {
        let id = path_id(&req, "ruleId", KIND)?;
        json_response(StatusCode::OK, &load(&api.records, KIND, &caller.tenant, &id).await?)
    })
    .await
}

/// `PUT /api/v1/rules/{ruleId}`: full replacement; the id never changes.
pub async fn update_rule<R: Records<Rule>>(api: &RulesApi<R>, req: Request) -> Response<Body> {
    serve(&api.auth, &routes::UPDATE_RULE, req, |caller: Caller, req| async move {
        let id = path_id(&req, "ruleId", KIND)?;
        RuleRequest::check_blocks(&json_body(&req)?)?;
        let request = json_body::<RuleRequest>(&req)?;
        if request.id().is_some_and(|body_id| body_id != id) {
            return Err(ApiError::invalid_field(
                "id",
                "differs from the rule id in the path; a rule's id never changes",
            ));
        }
        let current = load(&api.records, KIND, &caller.tenant, &id).await?;
        check_version(KIND, request.version, current.version)?;
        let rule = request.into_rule(id.clone(), Utc::now(), Some(&current.value))?;
        let stored = api
            .records
            .replace(&caller.tenant, &id, rule, current.version)
            .await
            .map_err(record_error(KIND, &id))?;
        json_response(StatusCode::OK, &stored)
    })
    .await
}

/// `POST /api/v1/rules/{ruleId}/deactivate`: 200 the rule, inactive (idempotent).
pub async fn deactivate_rule<R: Records<Rule>>(api: &RulesApi<R>, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::DEACTIVATE_RULE,
        req,
        |caller: Caller, req| async move {
            let id = path_id(&req, "ruleId", KIND)?;
            let current = load(&api.records, KIND, &caller.tenant, &id).await?;
            if !current.value.active {
                return json_response(StatusCode::OK, &current);
            }
            let rule = Rule {
                active: false,
                updated_at: Utc::now(),
                ..current.value
            };
            let stored = api
                .records
                .replace(&caller.tenant, &id, rule, current.version)
                .await
                .map_err(record_error(KIND, &id))?;
            json_response(StatusCode::OK, &stored)
        },
    )
    .await
}
