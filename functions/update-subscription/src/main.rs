//! Lambda behind `PUT /api/v1/event-subscription[/{id}]`: replaces a subscription.

use shared::api::subscriptions::{DynamoSubscriptionsApi, update_subscription};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(DynamoSubscriptionsApi::new).await?;
    lambda::serve_api(&api, update_subscription).await
}
