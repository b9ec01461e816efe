//! Lambda behind `POST /api/v1/rules`: creates a loyalty rule.

use shared::api::rules::{DynamoRulesApi, create_rule};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(DynamoRulesApi::new).await?;
    lambda::serve_api(&api, create_rule).await
}
