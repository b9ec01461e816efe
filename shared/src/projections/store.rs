//! The projections in DynamoDB. Each wishlist and each product state is one item
//! changed by read, apply, and a put conditional on the version read: two
//! events for the same shopper or product never overwrite each other.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::payload::ProductKey;
use super::port::{Projections, bounded};
use super::product::ProductState;
use super::wishlist::Wishlist;
use crate::storage::{ErrorKind, StorageError};
use crate::tenant::TenantId;
use crate::util::rfc3339_millis;

/// Tries of one read-apply-put before the record is left to a retry.
const ATTEMPTS: usize = 5;

fn build(err: aws_sdk_dynamodb::error::BuildError) -> StorageError {
    StorageError::caused(ErrorKind::Other, "a projection request does not build", err)
}

fn backend<E>(err: SdkError<E, HttpResponse>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    StorageError::sdk("a call to the projections table", err)
}

fn uncodable(err: serde_dynamo::Error) -> StorageError {
    StorageError::caused(ErrorKind::Other, "a projection does not encode or decode", err)
}

pub struct ProjectionStore {
    client: Client,
    table: String,
}

/// Where an item lives and how the index lists it.
struct Keys {
    pk: String,
    sk: &'static str,
    gsi1pk: String,
    gsi1sk: IndexSort,
}

/// The item's sort key in the index.
enum IndexSort {
    Fixed(String),
    /// `<time of the write>#<suffix>`, taken at each attempt, so that a job listing
    /// what was written since its last run never misses a slow write.
    WrittenAt(String),
}

impl ProjectionStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StorageError> {
        crate::storage::batch_write(
            &self.client,
            &self.table,
            requests,
            "BatchWriteItem on the projections table",
        )
        .await
    }

    /// BatchGetItem over `keys`, 100 keys a call, unprocessed keys asked again.
    async fn batch_read<T: DeserializeOwned>(
        &self,
        keys: Vec<(String, &'static str)>,
        attribute: &str,
    ) -> Result<Vec<T>, StorageError> {
        let keys = keys
            .into_iter()
            .map(|(pk, sk)| {
                std::collections::HashMap::from([
                    ("pk".to_owned(), AttributeValue::S(pk)),
                    ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
                ])
            })
            .collect();
        let items =
            crate::storage::batch_get(&self.client, &self.table, keys, "BatchGetItem on the projections table").await?;
        items
            .into_iter()
            .map(|mut item| {
                let value = item
                    .remove(attribute)
                    .ok_or_else(|| StorageError::other(format!("an item has no {attribute}")))?;
                serde_dynamo::from_attribute_value(value).map_err(uncodable)
            })
            .collect()
    }

    /// Items of the `by_kind` index under `partition` (after `after`, when given).
    async fn by_kind<T: DeserializeOwned>(
        &self,
        partition: &str,
        after: Option<&str>,
        attribute: &str,
    ) -> Result<Vec<T>, StorageError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("by_kind")
                .expression_attribute_values(":pk", AttributeValue::S(partition.to_owned()))
                .set_exclusive_start_key(start);
            query = match after {
                Some(after) => query
                    .key_condition_expression("gsi1pk = :pk AND gsi1sk > :after")
                    .expression_attribute_values(":after", AttributeValue::S(after.to_owned())),
                None => query.key_condition_expression("gsi1pk = :pk"),
            };
            let page = query.send().await.map_err(backend)?;
            for item in page.items() {
                let value = item
                    .get(attribute)
                    .cloned()
                    .ok_or_else(|| StorageError::other(format!("an index item has no {attribute}")))?;
                found.push(serde_dynamo::from_attribute_value(value).map_err(uncodable)?);
            }
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(found),
            }
        }
    }

    async fn read<T: DeserializeOwned>(
        &self,
        pk: &str,
        sk: &str,
        attribute: &str,
    ) -> Result<Option<(u64, T)>, StorageError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        let Some(item) = output.item else { return Ok(None) };
        let version = item
            .get("version")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or_default();
        let value = item
            .get(attribute)
            .cloned()
            .ok_or_else(|| StorageError::other(format!("{pk}/{sk} has no {attribute}")))?;
        let value = serde_dynamo::from_attribute_value(value).map_err(uncodable)?;
        Ok(Some((version, value)))
    }

    /// Reads, applies and puts on the version read, again while someone else
    /// wrote in between. Returns the value now stored (changed or not), if any.
    async fn read_apply_put<T: Serialize + DeserializeOwned + Clone>(
        &self,
        keys: &Keys,
        attribute: &str,
        apply: impl Fn(Option<T>) -> Option<T> + Send + Sync,
    ) -> Result<Option<T>, StorageError> {
        for _ in 0..ATTEMPTS {
            let stored = self.read::<T>(&keys.pk, keys.sk, attribute).await?;
            let (version, before) = match stored {
                Some((version, value)) => (Some(version), Some(value)),
                None => (None, None),
            };
            let Some(after) = apply(before.clone()) else {
                return Ok(before);
            };
            let value = bounded(attribute, &after)?;
            let gsi1sk = match &keys.gsi1sk {
                IndexSort::Fixed(sort) => sort.clone(),
                IndexSort::WrittenAt(suffix) => format!("{}#{suffix}", rfc3339_millis::format(&chrono::Utc::now())),
            };
            let request = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", AttributeValue::S(keys.pk.clone()))
                .item("sk", AttributeValue::S(keys.sk.to_owned()))
                .item("gsi1pk", AttributeValue::S(keys.gsi1pk.clone()))
                .item("gsi1sk", AttributeValue::S(gsi1sk))
                .item("version", AttributeValue::N((version.unwrap_or(0) + 1).to_string()))
                .item(attribute, value);
            let request = match version {
                Some(version) => request
                    .condition_expression("version = :read")
                    .expression_attribute_values(":read", AttributeValue::N(version.to_string())),
                None => request.condition_expression("attribute_not_exists(pk)"),
            };
            match request.send().await {
                Ok(_) => return Ok(Some(after)),
                Err(SdkError::ServiceError(e))
                    if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) => {}
                Err(other) => return Err(backend(other)),
            }
        }
        Err(StorageError::new(
            ErrorKind::Conflict,
            format!("{}/{} kept changing; left for a retry", keys.pk, keys.sk),
            None,
        ))
    }
}

impl Projections for ProjectionStore {
    /// Changes a shopper's wishlist with `apply` (given the stored one, or `None`;
    /// false when nothing changed), then keeps the product → shopper entries in step.
    async fn update_wishlist(
        &self,
        tenant: &TenantId,
        shopper_id: &str,
        apply: impl Fn(Option<Wishlist>) -> Option<Wishlist> + Send + Sync,
    ) -> Result<(), StorageError> {
        let keys = Keys {
            pk: format!("T#{tenant}#S#{shopper_id}"),
            sk: "WISHLIST",
            gsi1pk: format!("T#{tenant}#WISHLISTS"),
            gsi1sk: IndexSort::Fixed(shopper_id.to_owned()),
        };
        // Unchanged too (e.g. a retried event whose wishlist write had landed): the
        // entries below may still be missing, so they are written regardless.
        let Some(current) = self.read_apply_put(&keys, "wishlist", apply).await? else {
            return Ok(());
        };
        let entries = current
            .items
            .iter()
            .map(|(product, item)| {
                let key = HashMap::from([
                    ("pk".to_owned(), AttributeValue::S(product_pk(tenant, product))),
                    ("sk".to_owned(), AttributeValue::S(format!("S#{shopper_id}"))),
                ]);
                let request = match item.value {
                    Some(_) => WriteRequest::builder()
                        .put_request(PutRequest::builder().set_item(Some(key)).build().map_err(build)?),
                    None => WriteRequest::builder()
                        .delete_request(DeleteRequest::builder().set_key(Some(key)).build().map_err(build)?),
                };
                Ok(request.build())
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        self.batch_write(entries).await
    }

    /// Changes a product's state with `apply` (given the stored one, or `None`;
    /// `None` back when nothing changed).
    async fn update_product(
        &self,
        tenant: &TenantId,
        product: &ProductKey,
        apply: impl Fn(Option<ProductState>) -> Option<ProductState> + Send + Sync,
    ) -> Result<(), StorageError> {
        let encoded = product.encoded();
        // Listed by the time it was written, so a job finds what changed since its last run.
        let keys = Keys {
            pk: product_pk(tenant, &encoded),
            sk: "STATE",
            gsi1pk: format!("T#{tenant}#PRODUCTS"),
            gsi1sk: IndexSort::WrittenAt(encoded.clone()),
        };
        self.read_apply_put(&keys, "state", apply).await.map(|_| ())
    }

    async fn wishlist(&self, tenant: &TenantId, shopper_id: &str) -> Result<Option<Wishlist>, StorageError> {
        Ok(self
            .read::<Wishlist>(&format!("T#{tenant}#S#{shopper_id}"), "WISHLIST", "wishlist")
            .await?
            .map(|(_, w)| w))
    }

    async fn product(&self, tenant: &TenantId, product: &ProductKey) -> Result<Option<ProductState>, StorageError> {
        Ok(self
            .read::<ProductState>(&product_pk(tenant, &product.encoded()), "STATE", "state")
            .await?
            .map(|(_, p)| p))
    }

    /// The shoppers with `product` on their wishlist.
    async fn shoppers_wishing(&self, tenant: &TenantId, product: &ProductKey) -> Result<Vec<String>, StorageError> {
        let mut shoppers = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :shopper)")
                .expression_attribute_values(":pk", AttributeValue::S(product_pk(tenant, &product.encoded())))
                .expression_attribute_values(":shopper", AttributeValue::S("S#".into()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            shoppers.extend(
                page.items()
                    .iter()
                    .filter_map(|item| item.get("sk")?.as_s().ok()?.strip_prefix("S#").map(str::to_owned)),
            );
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(shoppers),
            }
        }
    }

    /// The wishlists of `shopper_ids` that exist, read 100 at a time.
    async fn wishlists(&self, tenant: &TenantId, shopper_ids: &[String]) -> Result<Vec<Wishlist>, StorageError> {
        let keys = shopper_ids
            .iter()
            .map(|id| (format!("T#{tenant}#S#{id}"), "WISHLIST"))
            .collect();
        self.batch_read(keys, "wishlist").await
    }

    /// The states of `products` that exist, read 100 at a time.
    async fn products(&self, tenant: &TenantId, products: &[ProductKey]) -> Result<Vec<ProductState>, StorageError> {
        let keys = products
            .iter()
            .map(|p| (product_pk(tenant, &p.encoded()), "STATE"))
            .collect();
        self.batch_read(keys, "state").await
    }

    /// Every wishlist of the tenant.
    async fn all_wishlists(&self, tenant: &TenantId) -> Result<Vec<Wishlist>, StorageError> {
        self.by_kind(&format!("T#{tenant}#WISHLISTS"), None, "wishlist").await
    }

    /// The product states written since `since` (what a job must look at).
    async fn products_changed_since(
        &self,
        tenant: &TenantId,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<ProductState>, StorageError> {
        let after = rfc3339_millis::format(&since);
        self.by_kind(&format!("T#{tenant}#PRODUCTS"), Some(&after), "state")
            .await
    }
}

fn product_pk(tenant: &TenantId, encoded_product: &str) -> String {
    format!("T#{tenant}#P#{encoded_product}")
}
