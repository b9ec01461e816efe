//! Lambda behind `GET /api/v1/event-subscription/{id}/dead-letters`: the
//! deliveries the fan-out gave up on for that subscription.

use shared::api::dead_letters::list_dead_letters;
use shared::api::deliveries::DeliveriesApi;
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(DeliveriesApi::new).await?;
    lambda::serve_api(&api, list_dead_letters).await
}
