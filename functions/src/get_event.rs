//! Lambda behind `GET /api/v1/events/{eventId}`: reads one event.

use shared::api::events::{EventsApi, get_event};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(EventsApi::reader).await?;
    lambda::serve_api(&api, get_event).await
}
