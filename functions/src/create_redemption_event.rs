//! Lambda behind `POST /api/v1/events/redemptions` (seed 003): checks and applies
//! the redemption against the customer's points, then stores it as one canonical
//! event.

use shared::api::redemptions::{RedemptionsApi, create_redemption_event};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(RedemptionsApi::new).await?;
    lambda::serve_api(&api, create_redemption_event).await
}
