//! Lambda behind `GET /api/v1/event-definitions`: lists the tenant's event definitions.

use shared::api::definitions::{DefinitionsApi, list_event_definitions};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DefinitionsApi::new).await?;
    lambda::serve_api(&api, list_event_definitions).await
}
