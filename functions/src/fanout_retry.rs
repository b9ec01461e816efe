//! Lambda on the fan-out retry queue: sends failed deliveries again, with
//! backoff, until they succeed or go to the dead-letter queue.

use aws_lambda_events::event::sqs::SqsEvent;
use shared::fanout::Fanout;
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let fanout = lambda::build(Fanout::new).await?;
    lambda::serve_batch(&fanout, |fanout, batch: SqsEvent| async move {
        fanout.retry_batch(&batch.records).await
    })
    .await
}
