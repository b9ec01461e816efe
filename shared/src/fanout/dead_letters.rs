//! Each subscription's dead letters: the deliveries the fan-out gave up on,
//! kept under the subscription (`pk = T#<tenant>#S#<subscription>`,
//! `sk = DEAD#<time>#<event>`) for the tenant to list and redrive, expiring after
//! the retention. Deliveries to the stack's own bus have no subscription: they go
//! to the operator's dead-letter queue instead.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Environment};
use crate::storage::{ErrorKind, StorageError, batch_write};
use crate::tenant::TenantId;
use crate::util::rfc3339_millis;

/// Sort-key prefix of dead letters; a page's cursor must start with it.
pub const DEAD_LETTER_KEYS: &str = "DEAD#";

/// Days a subscription's dead letters are kept.
pub const RETENTION_VARIABLE: &str = "DEAD_LETTER_RETENTION_DAYS";

/// `DEAD_LETTER_RETENTION_DAYS`: 1 to 365 days, default 14.
pub fn retention(env: &Environment) -> Result<Duration, ConfigError> {
    let days: i64 = env.parsed_or(RETENTION_VARIABLE, 14)?;
    (1..=365)
        .contains(&days)
        .then(|| Duration::days(days))
        .ok_or_else(|| ConfigError::Invalid {
            name: RETENTION_VARIABLE,
            reason: format!("{days} is not between 1 and 365"),
        })
}

/// A delivery the fan-out gave up on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub event_id: String,
    /// Failed attempts (each an invocation's tries).
    pub failures: u32,
    pub last_error: String,
    /// When it was given up on.
    #[serde(with = "rfc3339_millis")]
    pub at: DateTime<Utc>,
    /// The message as the retry queue carries it: its body (the envelope) and
    /// its `delivery` attribute (where it goes, and how).
    pub body: String,
    pub parked: String,
}

impl DeadLetter {
    fn sort_key(&self) -> String {
        format!(
            "{DEAD_LETTER_KEYS}{}#{}",
            rfc3339_millis::format(&self.at),
            self.event_id
        )
    }
}

/// The dead letters in the deliveries table.
pub struct DeadLetters {
    client: Client,
    table: String,
    retention: Duration,
}

/// The partition of a subscription's deliveries: its dead letters and history.
pub(crate) fn subscription_partition(tenant: &TenantId, subscription_id: &str) -> AttributeValue {
    AttributeValue::S(format!("T#{tenant}#S#{subscription_id}"))
}

fn request_error(e: aws_sdk_dynamodb::error::BuildError) -> StorageError {
    StorageError::caused(ErrorKind::Other, "a dead-letter request does not build", e)
}

impl DeadLetters {
    pub fn new(client: Client, table: impl Into<String>, retention: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            retention,
        }
    }

    /// Keeps each letter under its tenant's subscription.
    pub async fn keep(&self, letters: &[(TenantId, String, DeadLetter)]) -> Result<(), StorageError> {
        let mut requests = Vec::with_capacity(letters.len());
        for (tenant, subscription_id, letter) in letters {
            let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(letter)
                .map_err(|e| StorageError::caused(ErrorKind::Other, "a dead letter does not encode", e))?;
            item.insert("pk".into(), subscription_partition(tenant, subscription_id));
            item.insert("sk".into(), AttributeValue::S(letter.sort_key()));
            let expires_at = (letter.at + self.retention).timestamp();
            item.insert("expires_at".into(), AttributeValue::N(expires_at.to_string()));
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(request_error)?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        batch_write(
            &self.client,
            &self.table,
            requests,
            "BatchWriteItem on the deliveries table",
        )
        .await
    }

    /// A subscription's dead letters, oldest first, `limit` after `cursor` (a
    /// sort key this returned); the cursor of the next page, if any.
    pub async fn page(
        &self,
        tenant: &TenantId,
        subscription_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<DeadLetter>, Option<String>), StorageError> {
        let start = cursor.map(|sk| {
            HashMap::from([
                ("pk".to_owned(), subscription_partition(tenant, subscription_id)),
                ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
            ])
        });
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :dead)")
            .expression_attribute_values(":pk", subscription_partition(tenant, subscription_id))
            .expression_attribute_values(":dead", AttributeValue::S(DEAD_LETTER_KEYS.into()))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| StorageError::sdk("Query on the deliveries table (dead letters)", e))?;
        let now = Utc::now();
        let letters: Vec<DeadLetter> = page
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item(item)
                    .map_err(|e| StorageError::caused(ErrorKind::Other, "a dead letter does not decode", e))
            })
            .collect::<Result<_, _>>()?;
        // TTL deletion lags expiry: an expired letter is already gone.
        let letters = letters
            .into_iter()
            .filter(|letter| letter.at + self.retention > now)
            .collect();
        let next = page
            .last_evaluated_key
            .and_then(|key| key.get("sk").and_then(|v| v.as_s().ok()).cloned());
        Ok((letters, next))
    }

    /// Removes `letters` of the subscription (they were sent again).
    pub async fn remove(
        &self,
        tenant: &TenantId,
        subscription_id: &str,
        letters: &[DeadLetter],
    ) -> Result<(), StorageError> {
        let mut requests = Vec::with_capacity(letters.len());
        for letter in letters {
            let delete = DeleteRequest::builder()
                .key("pk", subscription_partition(tenant, subscription_id))
                .key("sk", AttributeValue::S(letter.sort_key()))
                .build()
                .map_err(request_error)?;
            requests.push(WriteRequest::builder().delete_request(delete).build());
        }
        batch_write(
            &self.client,
            &self.table,
            requests,
            "BatchWriteItem on the deliveries table",
        )
        .await
    }
}
