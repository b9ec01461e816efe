//! Lambda behind `GET /api/v1/event-subscription/{id}`: reads one subscription.

use shared::api::subscriptions::{DynamoSubscriptionsApi, get_subscription};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(DynamoSubscriptionsApi::new).await?;
    lambda::serve_api(&api, get_subscription).await
}
