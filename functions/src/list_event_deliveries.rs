//! Lambda behind `GET /api/v1/events/{eventId}/deliveries`: every attempt to
//! deliver that event, to each of its subscriptions.

use shared::api::event_deliveries::{EventDeliveriesApi, list_event_deliveries};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(EventDeliveriesApi::new).await?;
    lambda::serve_api(&api, list_event_deliveries).await
}
