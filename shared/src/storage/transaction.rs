//! One DynamoDB transaction, and which of its conditions refused it: what the
//! stores that write several items at once (runs, counted records) all need.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use super::StorageError;

/// How a transaction ended: committed, or refused by the condition of item
/// `index`, which held `item` (empty unless that item asked for its old values).
pub enum Written {
    Committed,
    Refused {
        index: usize,
        item: HashMap<String, AttributeValue>,
    },
}

/// Runs `items` as one transaction; `what` names it in errors.
pub async fn transact(
    client: &Client,
    items: Vec<TransactWriteItem>,
    what: &'static str,
) -> Result<Written, StorageError> {
    let written = client
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await;
    match written {
        Ok(_) => Ok(Written::Committed),
        Err(SdkError::ServiceError(e)) => match e.err() {
            TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                match cancelled
                    .cancellation_reasons()
                    .iter()
                    .enumerate()
                    .find(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                {
                    Some((index, reason)) => Ok(Written::Refused {
                        index,
                        item: reason.item().cloned().unwrap_or_default(),
                    }),
                    None => Err(StorageError::sdk(what, SdkError::ServiceError(e))),
                }
            }
            _ => Err(StorageError::sdk(what, SdkError::ServiceError(e))),
        },
        Err(other) => Err(StorageError::sdk(what, other)),
    }
}
