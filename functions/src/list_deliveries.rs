//! Lambda behind `GET /api/v1/event-subscription/{id}/deliveries`: that
//! subscription's recent delivery attempts.

use shared::api::deliveries::{DeliveriesApi, list_deliveries};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DeliveriesApi::new).await?;
    lambda::serve_api(&api, list_deliveries).await
}
