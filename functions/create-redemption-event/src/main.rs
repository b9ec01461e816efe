//! Lambda behind `POST /api/v1/events/redemptions` (seed 003): stores the typed body as
//! one canonical event.

use shared::api::events::EventsApi;
use shared::api::typed::create_redemption_event;
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(EventsApi::writer).await?;
    lambda::serve_api(&api, create_redemption_event).await
}
