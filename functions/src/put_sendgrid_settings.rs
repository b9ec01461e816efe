//! Lambda behind `PUT /api/v1/settings/sendgrid`: sets the tenant's SendGrid key
//! and sender (Secrets Manager).

use shared::api::senders::{SecretsManagerSettingsApi, put_sendgrid_settings};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(SecretsManagerSettingsApi::new).await?;
    lambda::serve_api(&api, put_sendgrid_settings).await
}
