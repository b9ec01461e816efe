//! Each tenant's subscriptions for fan-out: one Query per tenant, then kept for a
//! short while. A deactivated (or changed) subscription can therefore still get
//! events for up to the cache's time to live after the change.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;

use super::plan::SubscriptionsByTenant;
use crate::storage::{RecordError, Records};
use crate::subscriptions::Subscription;
use crate::tenant::TenantId;
use crate::ttl_map::TtlMap;

/// Subscriptions read per Query page; a tenant rarely has more than one page.
const PAGE: usize = 1000;

pub struct SubscriptionCache<R> {
    records: R,
    entries: TtlMap<TenantId, Arc<[Subscription]>>,
}

impl<R: Records<Subscription>> SubscriptionCache<R> {
    pub fn new(records: R, ttl: Duration) -> Self {
        Self {
            records,
            entries: TtlMap::new(ttl),
        }
    }

    /// The subscriptions of every tenant in `tenants` (cached or read now, all
    /// reads at once), and the tenants whose subscriptions could not be read.
    pub async fn for_tenants(
        &self,
        tenants: BTreeSet<TenantId>,
    ) -> (SubscriptionsByTenant, Vec<(TenantId, RecordError)>) {
        let mut found = SubscriptionsByTenant::new();
        let mut missing = Vec::new();
        for tenant in tenants {
            match self.entries.fresh(&tenant) {
                Some(subscriptions) => {
                    found.insert(tenant, subscriptions);
                }
                None => missing.push(tenant),
            }
        }
        let reads = join_all(missing.into_iter().map(|tenant| async move {
            let result = self.read(&tenant).await;
            (tenant, result)
        }))
        .await;
        let mut failures = Vec::new();
        for (tenant, result) in reads {
            match result {
                Ok(subscriptions) => {
                    self.entries.insert(tenant.clone(), subscriptions.clone());
                    found.insert(tenant, subscriptions);
                }
                Err(err) => failures.push((tenant, err)),
            }
        }
        (found, failures)
    }

    async fn read(&self, tenant: &TenantId) -> Result<Arc<[Subscription]>, RecordError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.records.list(tenant, PAGE, cursor.as_deref()).await?;
            all.extend(page.items.into_iter().map(|record| record.value));
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(all.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::InMemoryRecords;
    use crate::subscriptions::fixtures::subscription;

    #[tokio::test]
    async fn reads_each_tenant_once_within_the_time_to_live() {
        // GIVEN acme with one subscription, cached for an hour
        let records = InMemoryRecords::default();
        let acme = TenantId::parse("acme").expect("tenant");
        records.create(&acme, "s1", subscription("s1")).await.expect("create");
        let cache = SubscriptionCache::new(records, Duration::from_secs(3600));
        let (first, failures) = cache.for_tenants(BTreeSet::from([acme.clone()])).await;
        assert!(failures.is_empty());
        assert_eq!(first[&acme].len(), 1);
        // WHEN a second subscription appears within the time to live
        cache
            .records
            .create(&acme, "s2", subscription("s2"))
            .await
            .expect("create");
        let (second, _) = cache.for_tenants(BTreeSet::from([acme.clone()])).await;
        // THEN the cached list is used; a zero time to live would have read it again
        assert_eq!(second[&acme].len(), 1);
        let fresh = SubscriptionCache::new(cache.records, Duration::ZERO);
        let (third, _) = fresh.for_tenants(BTreeSet::from([acme.clone()])).await;
        assert_eq!(third[&acme].len(), 2);
    }
}
