//! Lambda behind `PUT /api/v1/jobs/{jobId}`: replaces a job.

use shared::api::jobs::{DynamoJobsApi, update_job};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DynamoJobsApi::new).await?;
    lambda::serve_api(&api, update_job).await
}
