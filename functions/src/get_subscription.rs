//! Lambda behind `GET /api/v1/event-subscription/{id}`: reads one subscription.

use shared::api::subscriptions::{DynamoSubscriptionsApi, get_subscription};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DynamoSubscriptionsApi::new).await?;
    lambda::serve_api(&api, get_subscription).await
}
