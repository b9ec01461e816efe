//! One DynamoDB transaction, and which of its conditions refused it: what every
//! store that writes several items at once (events and their claims, runs,
//! counted records) needs.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use super::{ErrorKind, StorageError};

/// Tries of a transaction cancelled by a concurrent one on the same items.
const ATTEMPTS: u64 = 3;

pub type Item = HashMap<String, AttributeValue>;

/// How a transaction ended.
pub enum Written {
    Committed,
    /// Cancelled for failed conditions: per item, what the item that failed its
    /// condition held (empty unless it asked for its old values), `None` for the others.
    Refused(Vec<Option<Item>>),
}

impl Written {
    /// The first item whose condition failed, and what it held.
    pub fn first_refused(self) -> Option<(usize, Item)> {
        match self {
            Self::Committed => None,
            Self::Refused(items) => items
                .into_iter()
                .enumerate()
                .find_map(|(index, item)| Some((index, item?))),
        }
    }
}

/// Runs `items` as one transaction; `what` names it in errors. A cancellation by
/// a concurrent transaction (`TransactionConflict`: DynamoDB does not retry it)
/// is tried again after a short jittered pause, then is a `Conflict`.
pub async fn transact(
    client: &Client,
    items: Vec<TransactWriteItem>,
    what: &'static str,
) -> Result<Written, StorageError> {
    for attempt in 1..=ATTEMPTS {
        let cancelled = match client
            .transact_write_items()
            .set_transact_items(Some(items.clone()))
            .send()
            .await
        {
            Ok(_) => return Ok(Written::Committed),
            Err(err) => {
                let kind = ErrorKind::of(&err);
                match err.into_service_error() {
                    TransactWriteItemsError::TransactionCanceledException(cancelled) => cancelled,
                    other => return Err(StorageError::caused(kind, what, other)),
                }
            }
        };
        let reasons = cancelled.cancellation_reasons();
        let failed = |code: Option<&str>| code == Some("ConditionalCheckFailed");
        if reasons.iter().any(|r| failed(r.code())) {
            return Ok(Written::Refused(
                reasons
                    .iter()
                    .map(|r| failed(r.code()).then(|| r.item().cloned().unwrap_or_default()))
                    .collect(),
            ));
        }
        if !reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
            let throttled = reasons
                .iter()
                .any(|r| matches!(r.code(), Some("ThrottlingError" | "ProvisionedThroughputExceeded")));
            let kind = if throttled {
                ErrorKind::Throttled
            } else {
                ErrorKind::Other
            };
            return Err(StorageError::caused(kind, what, cancelled));
        }
        tokio::time::sleep(Duration::from_millis(fastrand::u64(10..=40) * attempt)).await;
    }
    Err(StorageError::new(
        ErrorKind::Conflict,
        format!("{what}: cancelled by concurrent writes on every try"),
        None,
    ))
}
