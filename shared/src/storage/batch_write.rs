//! BatchWriteItem over any number of requests: 25 a call, the unprocessed ones
//! sent again with a short backoff.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::WriteRequest;

use super::{ErrorKind, StorageError};

/// BatchWriteItem's limit on requests per call.
const PER_CALL: usize = 25;
/// Calls per chunk before what is left unprocessed is an error.
const ATTEMPTS: usize = 5;

/// Writes `requests` to `table`; `what` names the table in errors.
pub async fn batch_write(
    client: &Client,
    table: &str,
    requests: Vec<WriteRequest>,
    what: &'static str,
) -> Result<(), StorageError> {
    for chunk in requests.chunks(PER_CALL) {
        let mut pending = chunk.to_vec();
        for attempt in 0..ATTEMPTS {
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
            let output = client
                .batch_write_item()
                .request_items(table, std::mem::take(&mut pending))
                .send()
                .await
                .map_err(|e| StorageError::sdk(what, e))?;
            pending = output
                .unprocessed_items
                .unwrap_or_default()
                .remove(table)
                .unwrap_or_default();
        }
        if !pending.is_empty() {
            return Err(StorageError::new(
                ErrorKind::Throttled,
                format!("{what}: {} writes left undone after retries", pending.len()),
                None,
            ));
        }
    }
    Ok(())
}
