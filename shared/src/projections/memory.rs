//! `Projections` in memory, for unit tests.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};

use super::payload::ProductKey;
use super::port::{Projections, bounded};
use super::product::ProductState;
use super::wishlist::Wishlist;
use crate::storage::{ErrorKind, StorageError};
use crate::tenant::TenantId;

#[derive(Default)]
pub struct InMemoryProjections {
    state: Mutex<State>,
    /// Writes fail with this kind, as a throttled or refusing table would.
    failing: Mutex<Option<ErrorKind>>,
}

#[derive(Default)]
struct State {
    /// By (tenant, shopper id).
    wishlists: BTreeMap<(String, String), Wishlist>,
    /// By (tenant, encoded product): the state, and when it was written.
    products: BTreeMap<(String, String), (ProductState, DateTime<Utc>)>,
}

impl InMemoryProjections {
    /// From now on writes fail with `kind` (`None`: they pass again).
    pub fn failing(&self, kind: Option<ErrorKind>) {
        *self.failing.lock().unwrap_or_else(|p| p.into_inner()) = kind;
    }

    fn write_failure(&self) -> Result<(), StorageError> {
        match *self.failing.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(kind) => Err(StorageError::new(kind, "the projections are failing (test)", None)),
            None => Ok(()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Projections for InMemoryProjections {
    async fn update_wishlist(
        &self,
        tenant: &TenantId,
        shopper_id: &str,
        apply: impl Fn(Option<Wishlist>) -> Option<Wishlist> + Send + Sync,
    ) -> Result<(), StorageError> {
        self.write_failure()?;
        let mut state = self.lock();
        let key = (tenant.to_string(), shopper_id.to_owned());
        if let Some(after) = apply(state.wishlists.get(&key).cloned()) {
            bounded("wishlist", &after)?;
            state.wishlists.insert(key, after);
        }
        Ok(())
    }

    async fn update_product(
        &self,
        tenant: &TenantId,
        product: &ProductKey,
        apply: impl Fn(Option<ProductState>) -> Option<ProductState> + Send + Sync,
    ) -> Result<(), StorageError> {
        self.write_failure()?;
        let mut state = self.lock();
        let key = (tenant.to_string(), product.encoded());
        if let Some(after) = apply(state.products.get(&key).map(|(stored, _)| stored.clone())) {
            bounded("state", &after)?;
            state.products.insert(key, (after, Utc::now()));
        }
        Ok(())
    }

    async fn wishlist(&self, tenant: &TenantId, shopper_id: &str) -> Result<Option<Wishlist>, StorageError> {
        Ok(self
            .lock()
            .wishlists
            .get(&(tenant.to_string(), shopper_id.to_owned()))
            .cloned())
    }

    async fn product(&self, tenant: &TenantId, product: &ProductKey) -> Result<Option<ProductState>, StorageError> {
        Ok(self
            .lock()
            .products
            .get(&(tenant.to_string(), product.encoded()))
            .map(|(state, _)| state.clone()))
    }

    async fn shoppers_wishing(&self, tenant: &TenantId, product: &ProductKey) -> Result<Vec<String>, StorageError> {
        let encoded = product.encoded();
        Ok(self
            .lock()
            .wishlists
            .iter()
            .filter(|((t, _), wishlist)| {
                *t == tenant.as_str() && wishlist.items.get(&encoded).is_some_and(|item| item.value.is_some())
            })
            .map(|((_, shopper), _)| shopper.clone())
            .collect())
    }

    async fn wishlists(&self, tenant: &TenantId, shopper_ids: &[String]) -> Result<Vec<Wishlist>, StorageError> {
        let state = self.lock();
        Ok(shopper_ids
            .iter()
            .filter_map(|id| state.wishlists.get(&(tenant.to_string(), id.clone())).cloned())
            .collect())
    }

    async fn products(&self, tenant: &TenantId, products: &[ProductKey]) -> Result<Vec<ProductState>, StorageError> {
        let state = self.lock();
        Ok(products
            .iter()
            .filter_map(|p| state.products.get(&(tenant.to_string(), p.encoded())))
            .map(|(product, _)| product.clone())
            .collect())
    }

    async fn all_wishlists(&self, tenant: &TenantId) -> Result<Vec<Wishlist>, StorageError> {
        Ok(self
            .lock()
            .wishlists
            .iter()
            .filter(|((t, _), _)| *t == tenant.as_str())
            .map(|(_, wishlist)| wishlist.clone())
            .collect())
    }

    async fn products_changed_since(
        &self,
        tenant: &TenantId,
        since: DateTime<Utc>,
    ) -> Result<Vec<ProductState>, StorageError> {
        let mut changed: Vec<_> = self
            .lock()
            .products
            .iter()
            .filter(|((t, _), (_, written))| *t == tenant.as_str() && *written > since)
            .map(|(_, (state, written))| (*written, state.clone()))
            .collect();
        changed.sort_by_key(|(written, _)| *written);
        Ok(changed.into_iter().map(|(_, state)| state).collect())
    }
}
