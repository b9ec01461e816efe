//! Lambda on the events table's stream: sends each new event to every matching
//! subscription and to the stack's event bus.

use aws_lambda_events::event::dynamodb::Event;
use shared::fanout::Fanout;
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let fanout = lambda::build(Fanout::new).await?;
    lambda::serve_batch(&fanout, |fanout, batch: Event| async move {
        fanout.stream_batch(&batch.records).await
    })
    .await
}
