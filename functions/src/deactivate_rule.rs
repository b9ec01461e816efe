//! Lambda behind `POST /api/v1/rules/{ruleId}/deactivate`: deactivates a rule.

use shared::api::rules::{DynamoRulesApi, deactivate_rule};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DynamoRulesApi::new).await?;
    lambda::serve_api(&api, deactivate_rule).await
}
