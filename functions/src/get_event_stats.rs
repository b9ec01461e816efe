//! Lambda behind `GET /api/v1/event-stats`: a tenant's events of a type per hour.

use shared::api::event_stats::{EventStatsApi, get_event_stats};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(EventStatsApi::new).await?;
    lambda::serve_api(&api, get_event_stats).await
}
