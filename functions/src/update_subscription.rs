//! Lambda behind `PUT /api/v1/event-subscription[/{id}]`: replaces a subscription.

use shared::api::subscriptions::{DynamoSubscriptionsApi, update_subscription};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DynamoSubscriptionsApi::new).await?;
    lambda::serve_api(&api, update_subscription).await
}
