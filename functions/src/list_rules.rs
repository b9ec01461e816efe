//! Lambda behind `GET /api/v1/rules`: a page of the tenant's rules.

use shared::api::rules::{DynamoRulesApi, list_rules};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DynamoRulesApi::new).await?;
    lambda::serve_api(&api, list_rules).await
}
