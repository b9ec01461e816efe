//! Lambda behind `POST /api/v1/events/basket`: 501, there is no rules engine
//! to assess baskets with (see shared::api::basket).

use shared::api::basket::{BasketApi, assess_basket};
use shared::api::config::AuthConfig;
use shared::config::FunctionConfig;
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = BasketApi::new(AuthConfig::from_env()?);
    lambda::serve_api(&api, assess_basket).await
}
