//! Lambda behind `DELETE /api/v1/jobs/{jobId}`: soft-deletes a job.

use shared::api::jobs::{DynamoJobsApi, delete_job};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(DynamoJobsApi::new).await?;
    lambda::serve_api(&api, delete_job).await
}
