//! A subscription's items in the deliveries table
//! (`pk = T#<tenant>#S#<subscription>`): its dead letters, recent attempts and
//! replays; the `…_in` methods reach the table's other partitions (an event's
//! attempts, a tenant's event counts). Each expires (`expires_at`, the
//! table's TTL); reads leave out the expired ones TTL has not deleted yet (it
//! lags by up to days).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use chrono::{DateTime, Duration, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::storage::{ErrorKind, StorageError, batch_write};
use crate::tenant::TenantId;

/// The partition of a subscription's items.
pub(crate) fn subscription_partition(tenant: &TenantId, subscription_id: &str) -> AttributeValue {
    AttributeValue::S(format!("T#{tenant}#S#{subscription_id}"))
}

/// An item as stored: its value and when it expires.
#[derive(Deserialize)]
struct Expiring<T> {
    #[serde(flatten)]
    value: T,
    expires_at: i64,
}

fn unbuildable(e: aws_sdk_dynamodb::error::BuildError) -> StorageError {
    StorageError::caused(ErrorKind::Other, "a deliveries-table request does not build", e)
}

pub struct SubscriptionItems {
    client: Client,
    table: String,
    /// How long new items are kept; `None` where they are only read and removed.
    retention: Option<Duration>,
}

impl SubscriptionItems {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            retention: None,
        }
    }

    /// The same items, new ones kept for `retention`.
    #[must_use]
    pub fn keeping_for(self, retention: Duration) -> Self {
        Self {
            retention: Some(retention),
            ..self
        }
    }

    /// The write of `value`, made `at`, under the subscription at `sort_key`.
    pub fn put<T: Serialize>(
        &self,
        (tenant, subscription_id): (&TenantId, &str),
        sort_key: String,
        value: &T,
        at: DateTime<Utc>,
    ) -> Result<WriteRequest, StorageError> {
        self.put_in(subscription_partition(tenant, subscription_id), sort_key, value, at)
    }

    /// `put`, under any partition of the table (an event's attempts).
    pub fn put_in<T: Serialize>(
        &self,
        partition: AttributeValue,
        sort_key: String,
        value: &T,
        at: DateTime<Utc>,
    ) -> Result<WriteRequest, StorageError> {
        let expires_at = at
            + self
                .retention
                .ok_or_else(|| StorageError::other("this function keeps nothing in the deliveries table"))?;
        let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(value)
            .map_err(|e| StorageError::caused(ErrorKind::Other, "a deliveries-table item does not encode", e))?;
        item.insert("pk".into(), partition);
        item.insert("sk".into(), AttributeValue::S(sort_key));
        item.insert(
            "expires_at".into(),
            AttributeValue::N(expires_at.timestamp().to_string()),
        );
        let put = PutRequest::builder()
            .set_item(Some(item))
            .build()
            .map_err(unbuildable)?;
        Ok(WriteRequest::builder().put_request(put).build())
    }

    /// The removal of the subscription's item at `sort_key`.
    pub fn delete(
        &self,
        (tenant, subscription_id): (&TenantId, &str),
        sort_key: String,
    ) -> Result<WriteRequest, StorageError> {
        let delete = DeleteRequest::builder()
            .key("pk", subscription_partition(tenant, subscription_id))
            .key("sk", AttributeValue::S(sort_key))
            .build()
            .map_err(unbuildable)?;
        Ok(WriteRequest::builder().delete_request(delete).build())
    }

    /// Adds `counts` (attribute, amount) to the subscription's item at
    /// `sort_key`, made `at` (created when missing).
    pub async fn add(
        &self,
        (tenant, subscription_id): (&TenantId, &str),
        sort_key: String,
        counts: &[(&str, u64)],
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.add_in(subscription_partition(tenant, subscription_id), sort_key, counts, at)
            .await
    }

    /// `add`, under any partition of the table (the tenant's event counts).
    pub async fn add_in(
        &self,
        partition: AttributeValue,
        sort_key: String,
        counts: &[(&str, u64)],
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let expires_at = at
            + self
                .retention
                .ok_or_else(|| StorageError::other("this function keeps nothing in the deliveries table"))?;
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", partition)
            .key("sk", AttributeValue::S(sort_key))
            .expression_attribute_values(":expires", AttributeValue::N(expires_at.timestamp().to_string()));
        let mut adds = Vec::new();
        for (i, (name, amount)) in counts.iter().enumerate() {
            adds.push(format!("#c{i} :c{i}"));
            update = update
                .expression_attribute_names(format!("#c{i}"), *name)
                .expression_attribute_values(format!(":c{i}"), AttributeValue::N(amount.to_string()));
        }
        update
            .update_expression(format!("ADD {} SET expires_at = :expires", adds.join(", ")))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| StorageError::sdk("UpdateItem on the deliveries table (counts)", e))
    }

    /// Writes `requests`, 25 a call.
    pub async fn write(&self, requests: Vec<WriteRequest>) -> Result<(), StorageError> {
        batch_write(
            &self.client,
            &self.table,
            requests,
            "BatchWriteItem on the deliveries table",
        )
        .await
    }

    /// The subscription's items whose sort keys start with `prefix`, oldest
    /// first or newest first, `limit` after `cursor` (a sort key this returned);
    /// the cursor of the next page, if any.
    pub async fn page<T: DeserializeOwned>(
        &self,
        (tenant, subscription_id): (&TenantId, &str),
        prefix: &str,
        newest_first: bool,
        (limit, cursor): (usize, Option<&str>),
    ) -> Result<(Vec<T>, Option<String>), StorageError> {
        self.page_in(
            subscription_partition(tenant, subscription_id),
            prefix,
            newest_first,
            (limit, cursor),
        )
        .await
    }

    /// `page`, under any partition of the table.
    pub async fn page_in<T: DeserializeOwned>(
        &self,
        pk: AttributeValue,
        prefix: &str,
        newest_first: bool,
        (limit, cursor): (usize, Option<&str>),
    ) -> Result<(Vec<T>, Option<String>), StorageError> {
        let start = cursor.map(|sk| {
            HashMap::from([
                ("pk".to_owned(), pk.clone()),
                ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
            ])
        });
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", pk)
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
            .scan_index_forward(!newest_first)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| StorageError::sdk("Query on the deliveries table", e))?;
        let now = Utc::now().timestamp();
        let mut values = Vec::new();
        for item in page.items.unwrap_or_default() {
            let stored: Expiring<T> = serde_dynamo::from_item(item)
                .map_err(|e| StorageError::caused(ErrorKind::Other, "a deliveries-table item does not decode", e))?;
            if stored.expires_at > now {
                values.push(stored.value);
            }
        }
        let next = page
            .last_evaluated_key
            .and_then(|key| key.get("sk").and_then(|v| v.as_s().ok()).cloned());
        Ok((values, next))
    }
}
