//! `Records` in a DynamoDB table keyed `pk = T#<tenant>`, `sk = <KIND>#<id>`: one
//! partition per tenant, so listing a tenant's records is a single Query.

use std::collections::HashMap;
use std::marker::PhantomData;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::counted::Counted;
use super::records::{RecordError, RecordPage, Records, Versioned};
use super::{ErrorKind, StorageError, query_page, transact};
use crate::ids;
use crate::tenant::TenantId;

pub struct DynamoRecords<T> {
    client: Client,
    table: String,
    /// Sort-key prefix naming the kind of record: `SUB`, `JOB`.
    kind: &'static str,
    _value: PhantomData<fn() -> T>,
}

impl<T> DynamoRecords<T> {
    pub fn new(client: Client, table: impl Into<String>, kind: &'static str) -> Self {
        Self {
            client,
            table: table.into(),
            kind,
            _value: PhantomData,
        }
    }

    fn key(&self, tenant: &TenantId, id: &str) -> (String, String) {
        record_key(tenant, self.kind, id)
    }
}

/// The partition key of everything a tenant keeps in a records table.
pub fn partition(tenant: &TenantId) -> String {
    format!("T#{tenant}")
}

/// `(pk, sk)` of record `id` of `kind` (`SUB`, `JOB`, …): for code that writes
/// a record in a transaction `DynamoRecords` does not run.
pub fn record_key(tenant: &TenantId, kind: &str, id: &str) -> (String, String) {
    (partition(tenant), format!("{kind}#{id}"))
}

#[derive(Serialize, serde::Deserialize)]
struct Item<R> {
    pk: String,
    sk: String,
    tenant: String,
    #[serde(flatten)]
    record: R,
}

fn decode<T: DeserializeOwned>(item: HashMap<String, AttributeValue>) -> Result<Versioned<T>, RecordError> {
    serde_dynamo::from_item::<_, Item<Versioned<T>>>(item)
        .map(|item| item.record)
        .map_err(|e| StorageError::caused(ErrorKind::Other, "a stored record does not decode", e).into())
}

impl<T> DynamoRecords<T>
where
    T: Serialize + DeserializeOwned + Send + Sync,
{
    /// One conditional PutItem. On a failed condition the stored item (if any)
    /// tells a missing record from a newer version.
    async fn put(
        &self,
        tenant: &TenantId,
        id: &str,
        record: Versioned<T>,
        condition: Condition,
    ) -> Result<Versioned<T>, RecordError> {
        // The same write a transaction makes, made alone.
        let put = self.put_request(tenant, id, &record, condition)?;
        let request = self
            .client
            .put_item()
            .table_name(put.table_name)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_values(put.expression_attribute_values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        match request.send().await {
            Ok(_) => Ok(record),
            Err(SdkError::ServiceError(failure)) => match failure.into_err() {
                PutItemError::ConditionalCheckFailedException(failed) => {
                    Err(refused::<T>(condition, failed.item.unwrap_or_default()))
                }
                other => Err(StorageError::service(self.call("PutItem"), other).into()),
            },
            Err(other) => Err(StorageError::sdk(self.call("PutItem"), other).into()),
        }
    }

    fn encode(
        &self,
        tenant: &TenantId,
        id: &str,
        record: &Versioned<T>,
    ) -> Result<HashMap<String, AttributeValue>, RecordError> {
        let (pk, sk) = self.key(tenant, id);
        let item = Item {
            pk,
            sk,
            tenant: tenant.to_string(),
            record,
        };
        serde_dynamo::to_item(&item)
            .map_err(|e| StorageError::caused(ErrorKind::Other, "a record does not encode", e).into())
    }
}

/// Why a write's condition failed, from the item it found (empty: none).
fn refused<T: DeserializeOwned>(condition: Condition, found: HashMap<String, AttributeValue>) -> RecordError {
    match (condition, found.is_empty()) {
        (Condition::New, _) => RecordError::AlreadyExists,
        (Condition::Version(_), true) => RecordError::NotFound,
        (Condition::Version(_), false) => match decode::<T>(found) {
            Ok(current) => RecordError::VersionConflict {
                current: current.version,
            },
            Err(err) => err,
        },
    }
}

impl<T> DynamoRecords<T> {
    /// Names a call for its error: `"PutItem on <table>"`.
    fn call(&self, operation: &str) -> String {
        format!("{operation} on {}", self.table)
    }

    /// Updates server-maintained attributes of a record in place, leaving its
    /// version alone: clients' optimistic concurrency is about what they wrote.
    /// `update` adds the expressions; false when its condition did not hold.
    pub async fn patch(
        &self,
        tenant: &TenantId,
        id: &str,
        update: impl FnOnce(UpdateItemFluentBuilder) -> UpdateItemFluentBuilder,
    ) -> Result<bool, RecordError> {
        let (pk, sk) = self.key(tenant, id);
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
            .key("sk", AttributeValue::S(sk));
        match update(request).send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(failure)) => match failure.into_err() {
                UpdateItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(StorageError::service(self.call("UpdateItem"), other).into()),
            },
            Err(other) => Err(StorageError::sdk(self.call("UpdateItem"), other).into()),
        }
    }
}

/// What the count's transaction needs: the record's Put, and the count's key.
impl<T> DynamoRecords<T>
where
    T: Serialize + DeserializeOwned + Send + Sync,
{
    fn put_request(
        &self,
        tenant: &TenantId,
        id: &str,
        record: &Versioned<T>,
        condition: Condition,
    ) -> Result<Put, RecordError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.encode(tenant, id, record)?))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let put = match condition {
            Condition::New => put.condition_expression("attribute_not_exists(pk)"),
            Condition::Version(expected) => put
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", AttributeValue::N(expected.to_string())),
        };
        put.build()
            .map_err(|e| StorageError::caused(ErrorKind::Other, "a record request does not build", e).into())
    }

    fn count_key(&self, tenant: &TenantId) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(partition(tenant))),
            ("sk".to_owned(), AttributeValue::S(format!("COUNT#{}", self.kind))),
        ])
    }

    /// The record's Put and the count's Update, at once; the refusal of the
    /// Put is read as `put` reads it.
    async fn write_counted(
        &self,
        tenant: &TenantId,
        id: &str,
        record: Versioned<T>,
        condition: Condition,
        count: Update,
    ) -> Result<Result<Versioned<T>, HashMap<String, AttributeValue>>, RecordError> {
        let items = vec![
            TransactWriteItem::builder()
                .put(self.put_request(tenant, id, &record, condition)?)
                .build(),
            TransactWriteItem::builder().update(count).build(),
        ];
        match transact(&self.client, items, "TransactWriteItems (a counted record)")
            .await?
            .first_refused()
        {
            None => Ok(Ok(record)),
            Some((0, item)) => Err(refused::<T>(condition, item)),
            // The count refused: the caller says what that means.
            Some((_, count)) => Ok(Err(count)),
        }
    }
}

impl<T> Counted<T> for DynamoRecords<T>
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync,
{
    async fn held(&self, tenant: &TenantId) -> Result<Option<u64>, RecordError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(self.count_key(tenant)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StorageError::sdk(self.call("GetItem"), e))?;
        Ok(output.item.as_ref().and_then(held_in))
    }

    async fn create_counted(
        &self,
        tenant: &TenantId,
        id: &str,
        value: T,
        max: u64,
        counted: u64,
    ) -> Result<Versioned<T>, RecordError> {
        // A count not kept yet starts at what the caller counted (the caller
        // checked that one more fits); a kept one must have room.
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(self.count_key(tenant)))
            .update_expression("SET held = if_not_exists(held, :counted) + :one")
            .condition_expression("attribute_not_exists(held) OR held < :max")
            .expression_attribute_values(":counted", AttributeValue::N(counted.to_string()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":max", AttributeValue::N(max.to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StorageError::caused(ErrorKind::Other, "a count request does not build", e))?;
        let record = Versioned { version: 1, value };
        match self.write_counted(tenant, id, record, Condition::New, count).await? {
            Ok(stored) => Ok(stored),
            Err(count) => Err(RecordError::OverQuota {
                held: held_in(&count).unwrap_or(max),
            }),
        }
    }

    async fn replace_uncounted(
        &self,
        tenant: &TenantId,
        id: &str,
        value: T,
        expected: u64,
    ) -> Result<Versioned<T>, RecordError> {
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(self.count_key(tenant)))
            .update_expression("SET held = held - :one")
            .condition_expression("held > :zero")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .build()
            .map_err(|e| StorageError::caused(ErrorKind::Other, "a count request does not build", e))?;
        let record = Versioned {
            version: expected + 1,
            value: value.clone(),
        };
        match self
            .write_counted(tenant, id, record, Condition::Version(expected), count)
            .await?
        {
            Ok(stored) => Ok(stored),
            // No count kept yet: the first counted create counts what is left.
            Err(_) => self.replace(tenant, id, value, expected).await,
        }
    }
}

/// The `held` number of a count item.
fn held_in(item: &HashMap<String, AttributeValue>) -> Option<u64> {
    item.get("held")?.as_n().ok()?.parse().ok()
}

#[derive(Clone, Copy)]
enum Condition {
    New,
    Version(u64),
}

impl<T> Records<T> for DynamoRecords<T>
where
    T: Serialize + DeserializeOwned + Send + Sync,
{
    async fn create(&self, tenant: &TenantId, id: &str, value: T) -> Result<Versioned<T>, RecordError> {
        self.put(tenant, id, Versioned { version: 1, value }, Condition::New)
            .await
    }

    async fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<Versioned<T>>, RecordError> {
        let (pk, sk) = self.key(tenant, id);
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
            .key("sk", AttributeValue::S(sk))
            // Read-your-writes: a read after a write that returned (an API PUT, a
            // run's end) sees it.
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StorageError::sdk(self.call("GetItem"), e))?;
        output.item.map(decode).transpose()
    }

    async fn replace(&self, tenant: &TenantId, id: &str, value: T, expected: u64) -> Result<Versioned<T>, RecordError> {
        let record = Versioned {
            version: expected + 1,
            value,
        };
        self.put(tenant, id, record, Condition::Version(expected)).await
    }

    async fn list(&self, tenant: &TenantId, limit: usize, cursor: Option<&str>) -> Result<RecordPage<T>, RecordError> {
        let prefix = format!("{}#", self.kind);
        // The cursor is a sort key of this kind; the partition always comes from
        // the caller's tenant, so a cursor cannot reach another tenant.
        let start = cursor
            .map(|sk| {
                let id = sk.strip_prefix(&prefix).ok_or(RecordError::InvalidCursor)?;
                ids::validate_client_id("id", id).map_err(|_| RecordError::InvalidCursor)?;
                Ok::<_, RecordError>(HashMap::from([
                    ("pk".to_owned(), AttributeValue::S(partition(tenant))),
                    ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
                ]))
            })
            .transpose()?;
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :kind)")
            .expression_attribute_values(":pk", AttributeValue::S(partition(tenant)))
            .expression_attribute_values(":kind", AttributeValue::S(prefix))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            // Read-your-writes: a listing (and fan-out's routing) sees every write
            // that has returned.
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StorageError::sdk(self.call("Query"), e))?;
        let (items, cursor) = query_page(output, "sk", decode)?;
        Ok(RecordPage { items, cursor })
    }
}
