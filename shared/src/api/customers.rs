//! `/api/v1/customers/{customerId}`: a customer's points and spend, its ledger,
//! and its lock (seed 003's Customer API, the part the loyalty engine needs).
//! A customer is known once the assessor recorded an event of theirs.

use aws_config::SdkConfig;
use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};

use super::config::CustomersConfig;
use crate::error::ApiError;
use crate::http::{Authentication, Caller, json_body, json_response, serve};
use crate::loyalty::{Applied, CustomerState, DynamoLedger, Ledger, LedgerEntry};
use crate::pagination::{self, PageRequest};
use crate::routes;
use crate::tenant::TenantId;

/// Tries of a lock against a customer that events keep changing.
const LOCK_ATTEMPTS: usize = 3;

pub struct CustomersApi<L = DynamoLedger> {
    pub ledger: L,
    pub auth: Authentication,
}

impl CustomersApi {
    pub fn new(sdk: &SdkConfig, config: CustomersConfig) -> Self {
        Self {
            ledger: DynamoLedger::new(aws_sdk_dynamodb::Client::new(sdk), config.loyalty_table),
            auth: config.auth.connect(sdk),
        }
    }
}

fn not_found(raw: &str) -> ApiError {
    ApiError::NotFound(format!("no customer with id {raw:?}"))
}

/// The path's customer id, as the typed endpoints store it (a GUID, lower case
/// and hyphenated, whatever its spelling); anything else is unknown.
fn customer_id(req: &Request) -> Result<String, ApiError> {
    let raw = req
        .path_parameters_ref()
        .and_then(|p| p.first("customerId"))
        .unwrap_or_default();
    uuid::Uuid::parse_str(raw)
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| not_found(raw))
}

/// The customer's state; 404 for a customer the ledger never saw.
async fn known<L: Ledger>(ledger: &L, tenant: &TenantId, customer: &str) -> Result<CustomerState, ApiError> {
    let state = ledger.state(tenant, customer).await?;
    if state.version.is_none() {
        return Err(not_found(customer));
    }
    Ok(state)
}

/// `GET`: `{customerId, createdAt, locked, points: {available, pending, lifetime}, spend: {annual, lifetime}}`.
pub async fn get_customer<L: Ledger>(api: &CustomersApi<L>, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::GET_CUSTOMER,
        req,
        |caller: Caller, req| async move {
            let customer = customer_id(&req)?;
            let state = known(&api.ledger, &caller.tenant, &customer).await?;
            json_response(StatusCode::OK, &state.view(&customer, Utc::now()))
        },
    )
    .await
}

#[derive(Serialize)]
struct LedgerPage {
    items: Vec<LedgerEntry>,
    next_token: Option<String>,
}

/// `GET …/ledger[?limit=&next_token=]`: `{items, next_token}`, newest first.
pub async fn list_customer_ledger<L: Ledger>(api: &CustomersApi<L>, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::LIST_CUSTOMER_LEDGER,
        req,
        |caller: Caller, req| async move {
            let customer = customer_id(&req)?;
            // A token is good for the ledger it was issued for only.
            let scope = format!("ledger/{customer}");
            let page = PageRequest::from_query(&req.query_string_parameters(), &scope)?;
            // Only an entry's key: another key would read outside the ledger.
            if page.cursor.as_deref().is_some_and(|c| !c.starts_with("LEDGER#")) {
                return Err(pagination::invalid_token().into());
            }
            known(&api.ledger, &caller.tenant, &customer).await?;
            let (items, cursor) = api
                .ledger
                .entries(&caller.tenant, &customer, page.limit, page.cursor.as_deref())
                .await?;
            let body = LedgerPage {
                items,
                next_token: cursor.map(|cursor| pagination::encode_token(&scope, &cursor)),
            };
            json_response(StatusCode::OK, &body)
        },
    )
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockRequest {
    locked: Option<bool>,
}

/// `PUT …/lock` with `{"locked": true|false}`: 200 the customer.
pub async fn lock_customer<L: Ledger>(api: &CustomersApi<L>, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::LOCK_CUSTOMER,
        req,
        |caller: Caller, req| async move {
            let customer = customer_id(&req)?;
            let locked = json_body::<LockRequest>(&req)?
                .locked
                .ok_or_else(|| ApiError::invalid_field("locked", "is required: true or false"))?;
            for _ in 0..LOCK_ATTEMPTS {
                let before = known(&api.ledger, &caller.tenant, &customer).await?;
                if api
                    .ledger
                    .set_locked(&caller.tenant, &customer, &before, locked)
                    .await?
                    == Applied::Written
                {
                    let after = CustomerState { locked, ..before };
                    tracing::info!(tenant = %caller.tenant, %customer, locked, "customer lock set");
                    return json_response(StatusCode::OK, &after.view(&customer, Utc::now()));
                }
            }
            Err(ApiError::Conflict(
                "the customer changed on every try; send the request again".into(),
            ))
        },
    )
    .await
}
