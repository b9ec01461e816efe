//! Lambda behind `GET /api/v1/jobs/{jobId}/runs`: a job's latest runs.

use shared::api::runs::{JobRunsApi, list_job_runs};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(JobRunsApi::new).await?;
    lambda::serve_api(&api, list_job_runs).await
}
