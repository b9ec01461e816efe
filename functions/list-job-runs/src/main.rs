//! Lambda behind `GET /api/v1/jobs/{jobId}/runs`: a job's latest runs.

use shared::api::runs::{JobRunsApi, list_job_runs};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(JobRunsApi::new).await?;
    lambda::serve_api(&api, list_job_runs).await
}
