//! Lambda behind `GET /api/v1/settings/sendgrid`: the tenant's sender, its key masked.

use shared::api::senders::{SecretsManagerSettingsApi, get_sendgrid_settings};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(SecretsManagerSettingsApi::new).await?;
    lambda::serve_api(&api, get_sendgrid_settings).await
}
