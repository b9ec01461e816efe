//! Lambda behind `GET /api/v1/events?entity_name=&entity_id=`: an entity's events.

use shared::api::events::{EventsApi, list_events};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(EventsApi::reader).await?;
    lambda::serve_api(&api, list_events).await
}
