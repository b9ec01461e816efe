//! Lambda on the replay queue: sends one page of a replay's events to its
//! subscription, then queues the next page.

use aws_lambda_events::event::sqs::SqsEvent;
use shared::lambda;
use shared::replays::ReplayWorker;

pub async fn run() -> Result<(), lambda_http::Error> {
    let worker = lambda::build(ReplayWorker::new).await?;
    lambda::serve_batch(&worker, |worker, batch: SqsEvent| async move {
        worker.queue_batch(&batch.records).await
    })
    .await
}
