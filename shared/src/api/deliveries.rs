//! `GET /api/v1/event-subscription/{id}/deliveries`: the subscription's recent
//! delivery attempts, newest first (every failure, and sampled successes; see
//! fanout/history.rs). 404 for another tenant's subscription.

use aws_config::SdkConfig;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use super::config::DeliveryHistoryConfig;
use super::records::{load, path_id};
use crate::fanout::{ATTEMPT_KEYS, Attempt, History};
use crate::http::{Authentication, Caller, json_response, serve};
use crate::pagination::{self, PageRequest};
use crate::routes;
use crate::storage::DynamoRecords;
use crate::storage::schema::SUBSCRIPTION_RECORDS;
use crate::subscriptions::Subscription;

const KIND: &str = "subscription";

pub struct DeliveriesApi {
    pub auth: Authentication,
    pub subscriptions: DynamoRecords<Subscription>,
    pub history: History,
}

impl DeliveriesApi {
    pub fn new(sdk: &SdkConfig, config: DeliveryHistoryConfig) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        Self {
            auth: config.auth,
            subscriptions: DynamoRecords::new(dynamodb.clone(), config.subscriptions_table, SUBSCRIPTION_RECORDS),
            history: History::new(dynamodb, config.deliveries_table, config.retention),
        }
    }
}

#[derive(Serialize)]
struct Page {
    items: Vec<Attempt>,
    next_token: Option<String>,
}

/// `GET …/deliveries[?limit=&next_token=]`: `{items: [{eventId, attempt,
/// outcome, error, at, latencyMs}], next_token}`.
pub async fn list_deliveries(api: &DeliveriesApi, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::LIST_DELIVERIES,
        req,
        |caller: Caller, req| async move {
            let id = path_id(&req, "id", KIND)?;
            // A token is good for the subscription it was issued for, and names only attempts.
            let scope = format!("deliveries/{id}");
            let page = PageRequest::from_query(&req.query_string_parameters(), &scope)?;
            if page.cursor.as_deref().is_some_and(|c| !c.starts_with(ATTEMPT_KEYS)) {
                return Err(pagination::invalid_token().into());
            }
            load(&api.subscriptions, KIND, &caller.tenant, &id).await?;
            let (items, cursor) = api
                .history
                .page(&caller.tenant, &id, page.limit, page.cursor.as_deref())
                .await?;
            let body = Page {
                items,
                next_token: cursor.map(|cursor| pagination::encode_token(&scope, &cursor)),
            };
            json_response(StatusCode::OK, &body)
        },
    )
    .await
}
