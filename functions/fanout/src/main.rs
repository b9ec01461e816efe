//! Lambda on the events table's stream: sends each new event to every matching
//! subscription and to the stack's event bus.

use aws_lambda_events::event::dynamodb::Event;
use shared::fanout::Fanout;
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let fanout = lambda::build(Fanout::new).await?;
    lambda::serve_batch(&fanout, |fanout, batch: Event| async move {
        fanout.stream_batch(&batch.records).await
    })
    .await
}
