//! Lambda behind `POST /api/v1/events`: stores one event.

use shared::api::events::{EventsApi, create_event};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(EventsApi::ingest).await?;
    lambda::serve_api(&api, create_event).await
}
