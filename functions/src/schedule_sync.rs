//! Lambda on the jobs table's stream: keeps one EventBridge Scheduler schedule
//! per job and writes its status back onto the job.

use aws_lambda_events::event::dynamodb::Event;
use shared::lambda;
use shared::schedule_sync::ScheduleSync;

pub async fn run() -> Result<(), lambda_http::Error> {
    let sync = lambda::build(ScheduleSync::new).await?;
    lambda::serve_batch(&sync, |sync, batch: Event| async move {
        sync.stream_batch(&batch.records).await
    })
    .await
}
