//! Lambda behind `GET /api/v1/rules/{ruleId}`: reads one rule.

use shared::api::rules::{DynamoRulesApi, get_rule};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(DynamoRulesApi::new).await?;
    lambda::serve_api(&api, get_rule).await
}
