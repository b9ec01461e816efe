//! Lambda on the events table's stream (beside fan-out): keeps the wishlists and
//! product states that notification jobs read.

use aws_lambda_events::event::dynamodb::Event;
use shared::lambda;
use shared::projections::Projector;

pub async fn run() -> Result<(), lambda_http::Error> {
    let projector = lambda::build(Projector::new).await?;
    lambda::serve_batch(&projector, |projector, batch: Event| async move {
        projector.stream_batch(&batch.records).await
    })
    .await
}
