//! Lambda behind `POST /api/v1/event-subscription`: creates a subscription.

use shared::api::subscriptions::{DynamoSubscriptionsApi, create_subscription};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DynamoSubscriptionsApi::new).await?;
    lambda::serve_api(&api, create_subscription).await
}
