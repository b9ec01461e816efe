//! Lambda behind `GET /api/v1/jobs/{jobId}`: reads one job.

use shared::api::jobs::{DynamoJobsApi, get_job};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DynamoJobsApi::new).await?;
    lambda::serve_api(&api, get_job).await
}
