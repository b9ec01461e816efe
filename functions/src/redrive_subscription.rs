//! Lambda behind `POST /api/v1/event-subscription/{id}/redrive`: sends that
//! subscription's dead letters again through the retry queue.

use shared::api::dead_letters::redrive_subscription;
use shared::api::deliveries::DeliveriesApi;
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DeliveriesApi::redriving).await?;
    lambda::serve_api(&api, redrive_subscription).await
}
