//! Lambda behind `GET /api/v1/events?entity_name=&entity_id=`: an entity's events.

use shared::api::events::{EventsApi, list_events};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(EventsApi::reader).await?;
    lambda::serve_api(&api, list_events).await
}
