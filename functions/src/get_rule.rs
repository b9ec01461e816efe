//! Lambda behind `GET /api/v1/rules/{ruleId}`: reads one rule.

use shared::api::rules::{DynamoRulesApi, get_rule};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DynamoRulesApi::new).await?;
    lambda::serve_api(&api, get_rule).await
}
