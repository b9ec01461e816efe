//! What BatchGetItem and BatchWriteItem share: requests sent a chunk a call,
//! and what a call leaves unprocessed sent again with a short backoff.

use std::future::Future;

use futures_util::stream::{self, StreamExt};

use super::{ErrorKind, StorageError};

/// Calls per chunk before what is left is an error.
const ATTEMPTS: usize = 5;

/// Chunks in flight at once: a fan-out batch keeping thousands of dead letters
/// one call after another made every event of the batch wait for all of them.
const CALLS_AT_ONCE: usize = 8;

/// Sends `requests`, `per_call` a call and a few calls at once, with `send`,
/// which answers what it left unprocessed and what it got; returns all it got,
/// in no particular order. `what` names the calls in errors.
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
    let chunks: Vec<Vec<T>> = requests.chunks(per_call).map(<[T]>::to_vec).collect();
    let calls = chunks.into_iter().map(|chunk| one_chunk(chunk, what, &send));
    let answers: Vec<Result<Vec<R>, StorageError>> =
        stream::iter(calls).buffer_unordered(CALLS_AT_ONCE).collect().await;
    let mut got = Vec::new();
    for answer in answers {
        got.extend(answer?);
    }
    Ok(got)
}

/// One chunk, sent until nothing of it is left unprocessed (or `ATTEMPTS` calls).
async fn one_chunk<T, R, F, Fut>(mut pending: Vec<T>, what: &'static str, send: &F) -> Result<Vec<R>, StorageError>
where
    F: Fn(Vec<T>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Vec<R>), StorageError>>,
{
    let mut got = Vec::new();
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
    if pending.is_empty() {
        Ok(got)
    } else {
        Err(StorageError::new(
            ErrorKind::Throttled,
            format!("{what}: {} requests left undone after retries", pending.len()),
            None,
        ))
    }
}
