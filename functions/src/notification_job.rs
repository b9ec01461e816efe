//! Lambda invoked by EventBridge Scheduler: one run of a notification job
//! (`{tenant, jobId, scheduledTime, executionId}`), answered with its outcome.

use shared::config::FunctionConfig;
use shared::notifications::{Invocation, NotificationConfig, NotificationRunner};
use shared::{aws, lambda};

pub async fn run() -> Result<(), lambda_http::Error> {
    let runner = NotificationRunner::build(&aws::sdk_config().await, NotificationConfig::from_env()?).await?;
    lambda::serve_event(&runner, |runner, invocation: Invocation| async move {
        Ok(runner.run(invocation).await?.answer())
    })
    .await
}
