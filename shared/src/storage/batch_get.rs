//! BatchGetItem over any number of keys: 100 a call, the unprocessed ones asked
//! again with a short backoff.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use super::{ErrorKind, StorageError};

/// BatchGetItem's limit on keys per call.
const PER_CALL: usize = 100;
/// Calls per chunk before what is left unread is an error.
const ATTEMPTS: usize = 5;

pub type Item = HashMap<String, AttributeValue>;

/// The items of `keys` in `table` that exist, in no particular order; `what`
/// names the table in errors.
pub async fn batch_get(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
    what: &'static str,
) -> Result<Vec<Item>, StorageError> {
    let mut found = Vec::new();
    for chunk in keys.chunks(PER_CALL) {
        let mut pending = chunk.to_vec();
        for attempt in 0..ATTEMPTS {
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .build()
                .map_err(|e| StorageError::caused(ErrorKind::Other, "a BatchGetItem request does not build", e))?;
            let output = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(|e| StorageError::sdk(what, e))?;
            found.extend(output.responses.unwrap_or_default().remove(table).unwrap_or_default());
            pending = output
                .unprocessed_keys
                .unwrap_or_default()
                .remove(table)
                .map(|k| k.keys)
                .unwrap_or_default();
        }
        if !pending.is_empty() {
            return Err(StorageError::new(
                ErrorKind::Throttled,
                format!("{what}: {} keys left unread after retries", pending.len()),
                None,
            ));
        }
    }
    Ok(found)
}
