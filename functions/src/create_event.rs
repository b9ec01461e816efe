//! Lambda behind `POST /api/v1/events`: stores one event.

use shared::api::events::{EventsApi, create_event};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(EventsApi::ingest).await?;
    lambda::serve_api(&api, create_event).await
}
