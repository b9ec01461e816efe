//! Lambda behind `POST /api/v1/event-subscription/{id}/redrive`: sends that
//! subscription's dead letters again through the retry queue.

use shared::api::dead_letters::{DeadLettersApi, redrive_subscription};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(DeadLettersApi::redriving).await?;
    lambda::serve_api(&api, redrive_subscription).await
}
