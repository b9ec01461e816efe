//! Lambda behind `GET /api/v1/settings/sendgrid`: the tenant's sender, its key masked.

use shared::api::senders::{SecretsManagerSettingsApi, get_sendgrid_settings};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(SecretsManagerSettingsApi::new).await?;
    lambda::serve_api(&api, get_sendgrid_settings).await
}
