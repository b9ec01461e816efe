//! Lambda behind `GET /api/v1/rules`: a page of the tenant's rules.

use shared::api::rules::{DynamoRulesApi, list_rules};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(DynamoRulesApi::new).await?;
    lambda::serve_api(&api, list_rules).await
}
