//! Lambda behind `GET /api/v1/event-subscription`: the tenant's subscriptions.

use shared::api::subscriptions::{DynamoSubscriptionsApi, list_subscriptions};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(DynamoSubscriptionsApi::new).await?;
    lambda::serve_api(&api, list_subscriptions).await
}
