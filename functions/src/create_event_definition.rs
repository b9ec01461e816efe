//! Lambda behind `POST /api/v1/event-definitions`: registers an event definition.

use shared::api::definitions::{DefinitionsApi, create_event_definition};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DefinitionsApi::new).await?;
    lambda::serve_api(&api, create_event_definition).await
}
