//! Lambda behind `GET /api/v1/event-subscription/{id}/dead-letters`: the
//! deliveries the fan-out gave up on for that subscription.

use shared::api::dead_letters::{DeadLettersApi, list_dead_letters};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(DeadLettersApi::new).await?;
    lambda::serve_api(&api, list_dead_letters).await
}
