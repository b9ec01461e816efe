//! Lambda behind `GET /api/v1/event-definitions/{eventName}`: reads one event definition.

use shared::api::definitions::{DefinitionsApi, get_event_definition};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DefinitionsApi::new).await?;
    lambda::serve_api(&api, get_event_definition).await
}
