//! What BatchGetItem and BatchWriteItem share: requests sent a chunk a call,
//! and what a call leaves unprocessed sent again with a short backoff.

use std::future::Future;

use super::{ErrorKind, StorageError};

/// Calls per chunk before what is left is an error.
const ATTEMPTS: usize = 5;

/// Sends `requests`, `per_call` a call, with `send`, which answers what it left
/// unprocessed and what it got; returns all it got. `what` names the calls in errors.
pub(super) async fn in_batches<T, R, F, Fut>(
    requests: Vec<T>,
    per_call: usize,
    what: &'static str,
    send: F,
) -> Result<Vec<R>, StorageError>
where
    T: Clone,
    F: Fn(Vec<T>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Vec<R>), StorageError>>,
{
    let mut got = Vec::new();
    for chunk in requests.chunks(per_call) {
        let mut pending = chunk.to_vec();
        for attempt in 0..ATTEMPTS {
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
            let (left, items) = send(std::mem::take(&mut pending)).await?;
            got.extend(items);
            pending = left;
        }
        if !pending.is_empty() {
            return Err(StorageError::new(
                ErrorKind::Throttled,
                format!("{what}: {} requests left undone after retries", pending.len()),
                None,
            ));
        }
    }
    Ok(got)
}
