//! Lambda behind `PUT /api/v1/event-subscription/{id}/deactivate`: sets active=false.

use shared::api::subscriptions::{DynamoSubscriptionsApi, deactivate_subscription};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DynamoSubscriptionsApi::new).await?;
    lambda::serve_api(&api, deactivate_subscription).await
}
