//! Lambda behind `PUT /api/v1/event-definitions/{eventName}`: stores a new version of an event definition.

use shared::api::definitions::{DefinitionsApi, update_event_definition};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DefinitionsApi::new).await?;
    lambda::serve_api(&api, update_event_definition).await
}
