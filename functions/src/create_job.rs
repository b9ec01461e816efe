//! Lambda behind `POST /api/v1/jobs`: creates a notification job.

use shared::api::jobs::{DynamoJobsApi, create_job};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DynamoJobsApi::new).await?;
    lambda::serve_api(&api, create_job).await
}
