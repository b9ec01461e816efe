//! The projector: the events table's stream into the projections. It runs as its
//! own consumer of the stream rather than inside fan-out, so that a projection
//! write that fails is retried without re-sending anything to subscribers, and a
//! subscriber outage never delays the projections (or the other way round).

use aws_lambda_events::event::dynamodb::EventRecord;

use super::payload::{ProjectionEvent, Timed, projection_event};
use super::product::{Price, ProductState};
use super::store::{ProjectionStore, StoreError};
use super::wishlist::Wishlist;
use crate::config::{self, ConfigError};
use crate::events::inserted_event;
use crate::tenant::TenantId;

pub struct Projector {
    store: ProjectionStore,
}

impl Projector {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = crate::aws::sdk_config().await;
        Ok(Self::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            config::required("PROJECTIONS_TABLE")?,
        ))
    }

    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            store: ProjectionStore::new(client, table),
        }
    }

    pub fn store(&self) -> &ProjectionStore {
        &self.store
    }

    /// Projects a stream batch in order; returns the sequence number to report
    /// as failed (Lambda retries from there) when the store could not be written.
    /// Events whose payload does not follow the documented schema are logged and
    /// skipped: no retry can make them readable.
    pub async fn stream_batch(&self, records: &[EventRecord]) -> Vec<String> {
        for record in records {
            let streamed = match inserted_event(record) {
                Ok(Some(streamed)) => streamed,
                Ok(None) => continue,
                Err(err) => {
                    tracing::error!(event_id = %record.event_id, error = %err, "undecodable stream record; not projected");
                    continue;
                }
            };
            let timed = match projection_event(&streamed.event) {
                Ok(Some(timed)) => timed,
                Ok(None) => continue,
                Err(err) => {
                    tracing::warn!(tenant = %streamed.tenant, event_id = %streamed.event.id, error = %err, "payload not as documented; not projected");
                    continue;
                }
            };
            if let Err(err) = self.apply(&streamed.tenant, timed).await {
                tracing::error!(tenant = %streamed.tenant, event_id = %streamed.event.id, error = %err, "projection not written; will be retried");
                return record.change.sequence_number.clone().into_iter().collect();
            }
        }
        Vec::new()
    }

    async fn apply(&self, tenant: &TenantId, Timed { at, event }: Timed) -> Result<(), StoreError> {
        match event {
            ProjectionEvent::Wishlist { shopper, items } => {
                let id = shopper.id.clone();
                self.store
                    .update_wishlist(tenant, &id, |stored| {
                        let new = stored.is_none();
                        let mut wishlist = stored.unwrap_or_else(|| Wishlist::new(at, shopper.clone()));
                        let changed = wishlist.replace(at, shopper.clone(), items.clone());
                        (changed || new).then_some(wishlist)
                    })
                    .await
            }
            ProjectionEvent::WishlistItem { shopper, item, removed } => {
                let id = shopper.id.clone();
                let key = item.product().encoded();
                self.store
                    .update_wishlist(tenant, &id, |stored| {
                        let new = stored.is_none();
                        let mut wishlist = stored.unwrap_or_else(|| Wishlist::new(at, shopper.clone()));
                        let value = (!removed).then(|| item.clone());
                        let changed = wishlist.set_item(at, shopper.clone(), key.clone(), value);
                        (changed || new).then_some(wishlist)
                    })
                    .await
            }
            ProjectionEvent::Product {
                product,
                details,
                quantity,
                price,
            } => {
                let price = price.map(|(amount, currency)| Price { amount, currency });
                self.store
                    .update_product(tenant, &product, |stored| {
                        let mut state = stored.unwrap_or_else(|| ProductState::new(product.clone()));
                        // Recorded now, at each attempt: what jobs compare their runs with.
                        state
                            .apply(at, chrono::Utc::now(), details.clone(), quantity, price.clone())
                            .then_some(state)
                    })
                    .await
            }
        }
    }
}
