//! Lambda behind `GET /api/v1/jobs/{jobId}`: reads one job.

use shared::api::jobs::{DynamoJobsApi, get_job};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(DynamoJobsApi::new).await?;
    lambda::serve_api(&api, get_job).await
}
