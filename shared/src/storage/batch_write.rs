//! BatchWriteItem over any number of requests: 25 a call, the unprocessed ones
//! sent again (batches.rs).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::WriteRequest;

use super::StorageError;
use super::batches::in_batches;

/// BatchWriteItem's limit on requests per call.
pub const WRITES_PER_CALL: usize = 25;

/// Writes `requests` to `table`; `what` names the table in errors.
pub async fn batch_write(
    client: &Client,
    table: &str,
    requests: Vec<WriteRequest>,
    what: &'static str,
) -> Result<(), StorageError> {
    in_batches(requests, WRITES_PER_CALL, what, |pending| async move {
        let output = client
            .batch_write_item()
            .request_items(table, pending)
            .send()
            .await
            .map_err(|e| StorageError::sdk(what, e))?;
        let left = output
            .unprocessed_items
            .unwrap_or_default()
            .remove(table)
            .unwrap_or_default();
        Ok((left, Vec::<()>::new()))
    })
    .await
    .map(|_| ())
}
