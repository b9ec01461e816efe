//! Lambda behind `POST /api/v1/events/transactions` (seed 003): stores the typed body as
//! one canonical event.

use shared::api::events::EventsApi;
use shared::api::typed::create_transaction_event;
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(EventsApi::writer).await?;
    lambda::serve_api(&api, create_transaction_event).await
}
