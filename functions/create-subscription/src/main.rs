//! Lambda behind `POST /api/v1/event-subscription`: creates a subscription.

use shared::api::subscriptions::{DynamoSubscriptionsApi, create_subscription};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(DynamoSubscriptionsApi::new).await?;
    lambda::serve_api(&api, create_subscription).await
}
