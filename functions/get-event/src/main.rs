//! Lambda behind `GET /api/v1/events/{eventId}`: reads one event.

use shared::api::events::{EventsApi, get_event};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(EventsApi::reader).await?;
    lambda::serve_api(&api, get_event).await
}
