//! Lambda behind `GET /api/v1/event-subscription`: the tenant's subscriptions.

use shared::api::subscriptions::{DynamoSubscriptionsApi, list_subscriptions};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DynamoSubscriptionsApi::new).await?;
    lambda::serve_api(&api, list_subscriptions).await
}
