//! Lambda behind `DELETE /api/v1/settings/sendgrid`: forgets the tenant's SendGrid key.

use shared::api::senders::{SecretsManagerSettingsApi, delete_sendgrid_settings};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(SecretsManagerSettingsApi::new).await?;
    lambda::serve_api(&api, delete_sendgrid_settings).await
}
