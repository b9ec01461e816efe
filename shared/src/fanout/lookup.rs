//! Each tenant's subscriptions for fan-out: one strongly consistent Query per
//! tenant per batch, never kept across batches. So every event accepted after a
//! subscription create, update or deactivate has returned is routed by that
//! change (a subscriber that subscribes and posts at once gets the message).
//! Only active subscriptions are kept; the Query reads at most a tenant's quota.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures_util::{StreamExt, stream};

use super::plan::SubscriptionsByTenant;
use crate::storage::{RecordError, Records};
use crate::subscriptions::Subscription;
use crate::tenant::TenantId;

/// Tenants' subscriptions read at once.
const READS_AT_ONCE: usize = 16;

/// Subscriptions read per Query page; a tenant rarely has more than one page.
const PAGE: usize = 1000;

pub struct SubscriptionLookup<R> {
    records: R,
}

impl<R: Records<Subscription>> SubscriptionLookup<R> {
    pub fn new(records: R) -> Self {
        Self { records }
    }

    /// The subscriptions of every tenant in `tenants` (all reads at once), and the
    /// tenants whose subscriptions could not be read.
    pub async fn for_tenants(
        &self,
        tenants: BTreeSet<TenantId>,
    ) -> (SubscriptionsByTenant, Vec<(TenantId, RecordError)>) {
        // A bounded number at once: a batch may hold a hundred tenants' events.
        let reads: Vec<_> = stream::iter(tenants)
            .map(|tenant| async move {
                let result = self.read(&tenant).await;
                (tenant, result)
            })
            .buffer_unordered(READS_AT_ONCE)
            .collect()
            .await;
        let mut found = SubscriptionsByTenant::new();
        let mut failures = Vec::new();
        for (tenant, result) in reads {
            match result {
                Ok(subscriptions) => {
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
            // Deactivated ones route nothing and drop their retries: not kept. One
            // disabled for failing is kept: its retries become its dead letters.
            all.extend(
                page.items
                    .into_iter()
                    .map(|record| record.value)
                    .filter(|s| s.active || s.delivery.disabled_at.is_some()),
            );
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
    async fn every_batch_sees_the_subscriptions_as_they_are_now() {
        // GIVEN acme with one subscription, looked up for a batch
        let records = InMemoryRecords::default();
        let acme = TenantId::parse("acme").expect("tenant");
        records.create(&acme, "s1", subscription("s1")).await.expect("create");
        let lookup = SubscriptionLookup::new(records);
        let (first, failures) = lookup.for_tenants(BTreeSet::from([acme.clone()])).await;
        assert!(failures.is_empty());
        assert_eq!(first[&acme].len(), 1);
        // WHEN a second subscription is created
        lookup
            .records
            .create(&acme, "s2", subscription("s2"))
            .await
            .expect("create");
        // THEN the next batch routes to it
        let (second, _) = lookup.for_tenants(BTreeSet::from([acme.clone()])).await;
        assert_eq!(second[&acme].len(), 2);
        // AND an inactive one is not kept
        let inactive = Subscription {
            active: false,
            ..subscription("s3")
        };
        lookup.records.create(&acme, "s3", inactive).await.expect("create");
        let (third, _) = lookup.for_tenants(BTreeSet::from([acme.clone()])).await;
        assert_eq!(third[&acme].len(), 2);
    }
}
