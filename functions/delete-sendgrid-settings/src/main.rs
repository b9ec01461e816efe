//! Lambda behind `DELETE /api/v1/settings/sendgrid`: forgets the tenant's SendGrid key.

use shared::api::senders::{SecretsManagerSettingsApi, delete_sendgrid_settings};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(SecretsManagerSettingsApi::new).await?;
    lambda::serve_api(&api, delete_sendgrid_settings).await
}
