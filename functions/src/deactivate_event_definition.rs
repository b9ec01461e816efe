//! Lambda behind `PUT /api/v1/event-definitions/{eventName}/deactivate`: deactivates an event definition.

use shared::api::definitions::{DefinitionsApi, deactivate_event_definition};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DefinitionsApi::new).await?;
    lambda::serve_api(&api, deactivate_event_definition).await
}
