//! Lambda behind `GET /api/v1/jobs`: the tenant's jobs.

use shared::api::jobs::{DynamoJobsApi, list_jobs};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DynamoJobsApi::new).await?;
    lambda::serve_api(&api, list_jobs).await
}
