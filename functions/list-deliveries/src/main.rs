//! Lambda behind `GET /api/v1/event-subscription/{id}/deliveries`: that
//! subscription's recent delivery attempts.

use shared::api::deliveries::{DeliveriesApi, list_deliveries};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(DeliveriesApi::new).await?;
    lambda::serve_api(&api, list_deliveries).await
}
