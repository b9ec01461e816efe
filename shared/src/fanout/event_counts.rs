//! Each tenant's events per entity type and hour (the console's sparkline): the
//! fan-out adds each stream batch's events, by the hour they were accepted, to
//! `pk = T#<tenant>#N#<entity>`, `sk = HOUR#<yyyy-mm-ddThh>` in the deliveries
//! table: one update per tenant, type and hour in the batch, after its
//! deliveries. A stream batch Lambda hands over again counts its events again:
//! the counts are for a picture, not for billing.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::subscription_items::SubscriptionItems;
use crate::events::StreamedEvent;
use crate::storage::StorageError;
use crate::tenant::TenantId;

const HOUR_KEYS: &str = "HOUR#";

fn partition(tenant: &TenantId, entity_name: &str) -> AttributeValue {
    AttributeValue::S(format!("T#{tenant}#N#{entity_name}"))
}

/// Events of one type in one hour (UTC, `yyyy-mm-ddThh`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventHour {
    /// Read from the item's sort key (`HOUR#…`, the prefix then cut).
    #[serde(rename(deserialize = "sk"))]
    pub hour: String,
    #[serde(default)]
    pub events: u64,
}

/// The batch's events per (tenant, entity type, hour).
pub fn event_counts(events: &[StreamedEvent]) -> BTreeMap<(TenantId, String, String), u64> {
    let mut counts = BTreeMap::new();
    for streamed in events {
        let hour = streamed.event.created_at.format("%Y-%m-%dT%H").to_string();
        let key = (streamed.tenant.clone(), streamed.event.entity_name.clone(), hour);
        *counts.entry(key).or_default() += 1;
    }
    counts
}

pub struct EventCounts(SubscriptionItems);

impl EventCounts {
    pub fn new(items: SubscriptionItems) -> Self {
        Self(items)
    }

    /// Adds `counts` (made `at`); a failure is logged, not returned.
    pub async fn add(&self, counts: BTreeMap<(TenantId, String, String), u64>, at: DateTime<Utc>) {
        let updates = counts
            .into_iter()
            .map(|((tenant, entity_name, hour), events)| async move {
                let counts = [("events", events)];
                self.0
                    .add_in(
                        partition(&tenant, &entity_name),
                        format!("{HOUR_KEYS}{hour}"),
                        &counts,
                        at,
                    )
                    .await
            });
        for result in futures_util::future::join_all(updates).await {
            if let Err(err) = result {
                tracing::warn!(error = %err, "event counts not recorded");
            }
        }
    }

    /// The tenant's events of `entity_name` in the last `hours` hours that had any, newest first.
    pub async fn hours(
        &self,
        tenant: &TenantId,
        entity_name: &str,
        hours: usize,
    ) -> Result<Vec<EventHour>, StorageError> {
        let (mut counts, _): (Vec<EventHour>, _) = self
            .0
            .page_in(partition(tenant, entity_name), HOUR_KEYS, true, (hours, None))
            .await?;
        for count in &mut counts {
            count.hour = count.hour.trim_start_matches(HOUR_KEYS).to_owned();
        }
        Ok(counts)
    }
}
