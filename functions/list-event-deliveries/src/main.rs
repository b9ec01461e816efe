//! Lambda behind `GET /api/v1/events/{eventId}/deliveries`: every attempt to
//! deliver that event, to each of its subscriptions.

use shared::api::event_deliveries::{EventDeliveriesApi, list_event_deliveries};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(EventDeliveriesApi::new).await?;
    lambda::serve_api(&api, list_event_deliveries).await
}
