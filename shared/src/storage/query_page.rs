//! One DynamoDB Query page as items and an opaque cursor (the last sort key).

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::types::AttributeValue;

/// The page's items decoded with `decode`, and the sort key to resume after.
pub(crate) fn query_page<T, E>(
    output: QueryOutput,
    sort_key: &str,
    decode: impl Fn(HashMap<String, AttributeValue>) -> Result<T, E>,
) -> Result<(Vec<T>, Option<String>), E> {
    let items = output
        .items
        .unwrap_or_default()
        .into_iter()
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
    let cursor = output
        .last_evaluated_key
        .and_then(|mut key| key.remove(sort_key))
        .and_then(|value| value.as_s().ok().cloned());
    Ok((items, cursor))
}
