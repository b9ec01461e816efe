//! Lambda behind `PUT /api/v1/jobs/{jobId}`: replaces a job.

use shared::api::jobs::{DynamoJobsApi, update_job};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(DynamoJobsApi::new).await?;
    lambda::serve_api(&api, update_job).await
}
