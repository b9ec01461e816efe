//! Lambda behind `POST /api/v1/jobs`: creates a notification job.

use shared::api::jobs::{DynamoJobsApi, create_job};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(DynamoJobsApi::new).await?;
    lambda::serve_api(&api, create_job).await
}
