//! Lambda behind `POST /api/v1/rules/{ruleId}/deactivate`: deactivates a rule.

use shared::api::rules::{DynamoRulesApi, deactivate_rule};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(DynamoRulesApi::new).await?;
    lambda::serve_api(&api, deactivate_rule).await
}
