//! Lambda behind `GET /api/v1/event-subscription/{id}/replays/{replayId}`: a
//! replay's progress.

use shared::api::deliveries::DeliveriesApi;
use shared::api::replays::get_replay;
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DeliveriesApi::new).await?;
    lambda::serve_api(&api, get_replay).await
}
