//! Lambda behind `PUT /api/v1/event-definitions/{eventName}/deactivate`: deactivates an event definition.

use shared::api::definitions::{DefinitionsApi, deactivate_event_definition};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(DefinitionsApi::new).await?;
    lambda::serve_api(&api, deactivate_event_definition).await
}
