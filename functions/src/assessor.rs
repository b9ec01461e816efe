//! Lambda on the assessor queue: applies the tenant's loyalty rules to each
//! action, order and transaction the stack's bus routes here, and records what
//! they earn in the customer's ledger.

use aws_lambda_events::event::sqs::SqsEvent;
use shared::lambda;
use shared::loyalty::Assessor;

pub async fn run() -> Result<(), lambda_http::Error> {
    let assessor = lambda::build(Assessor::new).await?;
    lambda::serve_batch(&assessor, |assessor, batch: SqsEvent| async move {
        assessor.queue_batch(&batch.records).await
    })
    .await
}
