//! Lambda behind `GET /api/v1/event-subscription/{id}/dead-letters`: the
//! deliveries the fan-out gave up on for that subscription.

use shared::api::dead_letters::list_dead_letters;
use shared::api::deliveries::DeliveriesApi;
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DeliveriesApi::new).await?;
    lambda::serve_api(&api, list_dead_letters).await
}
