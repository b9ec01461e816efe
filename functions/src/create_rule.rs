//! Lambda behind `POST /api/v1/rules`: creates a loyalty rule.

use shared::api::rules::{DynamoRulesApi, create_rule};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DynamoRulesApi::new).await?;
    lambda::serve_api(&api, create_rule).await
}
