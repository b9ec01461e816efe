//! Lambda behind `PUT /api/v1/rules/{ruleId}`: replaces a rule.

use shared::api::rules::{DynamoRulesApi, update_rule};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DynamoRulesApi::new).await?;
    lambda::serve_api(&api, update_rule).await
}
