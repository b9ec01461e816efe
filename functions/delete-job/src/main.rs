//! Lambda behind `DELETE /api/v1/jobs/{jobId}`: soft-deletes a job.

use shared::api::jobs::{DynamoJobsApi, delete_job};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(DynamoJobsApi::new).await?;
    lambda::serve_api(&api, delete_job).await
}
