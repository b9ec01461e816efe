//! Lambda behind `GET /api/v1/jobs`: the tenant's jobs.

use shared::api::jobs::{DynamoJobsApi, list_jobs};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(DynamoJobsApi::new).await?;
    lambda::serve_api(&api, list_jobs).await
}
