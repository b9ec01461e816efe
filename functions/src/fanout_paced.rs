//! Lambda on the paced queue: each rate-limited subscription's deliveries, in
//! the order they arrived, at no more than its rate.

use aws_lambda_events::event::sqs::SqsEvent;
use shared::fanout::Fanout;
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let fanout = lambda::build(Fanout::new).await?;
    lambda::serve_batch(&fanout, |fanout, batch: SqsEvent| async move {
        fanout.paced_batch(&batch.records).await
    })
    .await
}
