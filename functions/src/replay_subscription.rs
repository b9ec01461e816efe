//! Lambda behind `POST /api/v1/event-subscription/{id}/replay`: starts sending a
//! window of the subscription's events again (replay-worker does it).

use shared::api::deliveries::DeliveriesApi;
use shared::api::replays::replay_subscription;
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DeliveriesApi::starting_replays).await?;
    lambda::serve_api(&api, replay_subscription).await
}
