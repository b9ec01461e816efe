//! BatchGetItem over any number of keys: 100 a call, the unprocessed ones asked
//! again (batches.rs).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use super::batches::in_batches;
use super::{ErrorKind, StorageError};

/// BatchGetItem's limit on keys per call.
const PER_CALL: usize = 100;

pub type Item = HashMap<String, AttributeValue>;

/// The items of `keys` in `table` that exist, in no particular order; `what`
/// names the table in errors.
pub async fn batch_get(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
    what: &'static str,
) -> Result<Vec<Item>, StorageError> {
    in_batches(keys, PER_CALL, what, |pending| async move {
        let request = KeysAndAttributes::builder()
            .set_keys(Some(pending))
            .build()
            .map_err(|e| StorageError::caused(ErrorKind::Other, "a BatchGetItem request does not build", e))?;
        let output = client
            .batch_get_item()
            .request_items(table, request)
            .send()
            .await
            .map_err(|e| StorageError::sdk(what, e))?;
        let found = output.responses.unwrap_or_default().remove(table).unwrap_or_default();
        let left = output
            .unprocessed_keys
            .unwrap_or_default()
            .remove(table)
            .map(|k| k.keys)
            .unwrap_or_default();
        Ok((left, found))
    })
    .await
}
