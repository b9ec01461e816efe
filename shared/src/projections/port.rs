//! The projections port: what the projector writes and notification jobs read.
//! `ProjectionStore` keeps them in DynamoDB, `InMemoryProjections` in memory
//! (unit tests); local/tests/ports.rs holds both to the same contract.

use std::future::Future;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::payload::ProductKey;
use super::product::ProductState;
use super::wishlist::Wishlist;
use crate::storage::{ErrorKind, StorageError, attribute_size};
use crate::tenant::TenantId;

/// The most one projection's value may take as DynamoDB counts it, well within
/// its 400 KB item (the keys and the index attributes take the rest).
pub const MAX_PROJECTION_BYTES: usize = 350_000;

pub trait Projections: Send + Sync {
    /// Changes a shopper's wishlist with `apply` (given the stored one, or
    /// `None`; `None` back when nothing changed). Two changes never overwrite
    /// each other: `apply` runs again on what the other stored.
    fn update_wishlist(
        &self,
        tenant: &TenantId,
        shopper_id: &str,
        apply: impl Fn(Option<Wishlist>) -> Option<Wishlist> + Send + Sync,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Changes a product's state with `apply`, as `update_wishlist` does.
    fn update_product(
        &self,
        tenant: &TenantId,
        product: &ProductKey,
        apply: impl Fn(Option<ProductState>) -> Option<ProductState> + Send + Sync,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    fn wishlist(
        &self,
        tenant: &TenantId,
        shopper_id: &str,
    ) -> impl Future<Output = Result<Option<Wishlist>, StorageError>> + Send;

    fn product(
        &self,
        tenant: &TenantId,
        product: &ProductKey,
    ) -> impl Future<Output = Result<Option<ProductState>, StorageError>> + Send;

    /// The shoppers with `product` on their wishlist, in id order.
    fn shoppers_wishing(
        &self,
        tenant: &TenantId,
        product: &ProductKey,
    ) -> impl Future<Output = Result<Vec<String>, StorageError>> + Send;

    /// The wishlists of `shopper_ids` that exist.
    fn wishlists(
        &self,
        tenant: &TenantId,
        shopper_ids: &[String],
    ) -> impl Future<Output = Result<Vec<Wishlist>, StorageError>> + Send;

    /// The states of `products` that exist.
    fn products(
        &self,
        tenant: &TenantId,
        products: &[ProductKey],
    ) -> impl Future<Output = Result<Vec<ProductState>, StorageError>> + Send;

    /// Every wishlist of the tenant, in shopper id order.
    fn all_wishlists(&self, tenant: &TenantId) -> impl Future<Output = Result<Vec<Wishlist>, StorageError>> + Send;

    /// The product states written after `since` (by the time of the write, not
    /// of the event: what a job must look at since its last run).
    fn products_changed_since(
        &self,
        tenant: &TenantId,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<ProductState>, StorageError>> + Send;
}

/// `value` as DynamoDB stores it, refused when larger than a projection may be.
pub(super) fn bounded<T: Serialize>(attribute: &str, value: &T) -> Result<AttributeValue, StorageError> {
    let value = serde_dynamo::to_attribute_value(value)
        .map_err(|e| StorageError::caused(ErrorKind::Other, "a projection does not encode", e))?;
    let size = attribute_size(&value);
    if size > MAX_PROJECTION_BYTES {
        return Err(StorageError::other(format!(
            "{attribute} would be {size} bytes; a projection takes at most {MAX_PROJECTION_BYTES}"
        )));
    }
    Ok(value)
}
