//! The projector: the events table's stream into the projections. It runs as its
//! own consumer of the stream rather than inside fan-out, so that a projection
//! write that fails is retried without re-sending anything to subscribers, and a
//! subscriber outage never delays the projections (or the other way round).

use aws_lambda_events::event::dynamodb::EventRecord;

use super::payload::{ProjectionEvent, Timed, projection_event};
use super::port::Projections;
use super::product::{Price, ProductState};
use super::store::ProjectionStore;
use super::wishlist::Wishlist;
use crate::config::{ConfigError, Environment, FunctionConfig};
use crate::events::inserted_event;
use crate::storage::schema::PROJECTIONS;
use crate::storage::{ErrorKind, StorageError};
use crate::stream_failures::{FAILURE_QUEUE_URL, FailureQueue, Parking, retry_from};
use crate::tenant::TenantId;
use crate::util::error_chain::ErrorChain;

/// The projector, over any projections store and parking place (DynamoDB and
/// SQS when deployed).
pub struct Projector<P = ProjectionStore, F = FailureQueue> {
    store: P,
    failures: F,
}

#[derive(Debug, Clone)]
pub struct ProjectorConfig {
    pub projections_table: String,
    /// Where records that can never be projected are parked.
    pub failure_queue_url: String,
}

impl FunctionConfig for ProjectorConfig {
    const VARIABLES: &'static [&'static str] = &[PROJECTIONS.env_var, FAILURE_QUEUE_URL];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            projections_table: env.required(PROJECTIONS.env_var)?,
            failure_queue_url: env.required(FAILURE_QUEUE_URL)?,
        })
    }
}

impl Projector {
    pub fn new(sdk: &aws_config::SdkConfig, config: ProjectorConfig) -> Self {
        Self::with(
            ProjectionStore::new(aws_sdk_dynamodb::Client::new(sdk), config.projections_table),
            FailureQueue::new(aws_sdk_sqs::Client::new(sdk), config.failure_queue_url, "projector"),
        )
    }
}

impl<P: Projections, F: Parking> Projector<P, F> {
    pub fn with(store: P, failures: F) -> Self {
        Self { store, failures }
    }

    pub fn store(&self) -> &P {
        &self.store
    }

    pub fn failures(&self) -> &F {
        &self.failures
    }

    /// Projects a stream batch in order; returns the sequence number to report
    /// as failed (Lambda retries from there) when the store was unavailable.
    /// A record that can never be projected (undecodable, a payload not as
    /// documented, a write DynamoDB refuses) is parked on the failure queue with
    /// the reason, and the rest of the batch goes on.
    pub async fn stream_batch(&self, records: &[EventRecord]) -> Vec<String> {
        for record in records {
            let streamed = match inserted_event(record) {
                Ok(Some(streamed)) => streamed,
                Ok(None) => continue,
                Err(err) => {
                    if !self.failures.park(record, None, &format!("undecodable: {err}")).await {
                        return retry_from(record);
                    }
                    continue;
                }
            };
            let subject = Some((&streamed.tenant, streamed.event.id.as_str()));
            let outcome = match projection_event(&streamed.event) {
                Ok(Some(timed)) => self.apply(&streamed.tenant, timed).await,
                Ok(None) => continue,
                Err(err) => Err(StorageError::caused(ErrorKind::Other, "payload not as documented", err)),
            };
            match outcome {
                Ok(()) => {}
                Err(err) if err.may_pass() => {
                    tracing::warn!(tenant = %streamed.tenant, event_id = %streamed.event.id, error = %ErrorChain(&err), "projection not written; will be retried");
                    return retry_from(record);
                }
                Err(err) => {
                    let reason = ErrorChain(&err).to_string();
                    if !self.failures.park(record, subject, &reason).await {
                        return retry_from(record);
                    }
                }
            }
        }
        Vec::new()
    }

    async fn apply(&self, tenant: &TenantId, Timed { at, event }: Timed) -> Result<(), StorageError> {
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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::projections::{InMemoryProjections, ProductKey};
    use crate::stream_failures::ParkedInMemory;
    use crate::testing::{event, inserted, tenant};

    type MemoryProjector = Projector<InMemoryProjections, ParkedInMemory>;

    fn projector() -> MemoryProjector {
        Projector::with(InMemoryProjections::default(), ParkedInMemory::default())
    }

    fn shopper(id: &str) -> Value {
        json!({"id": id, "email": format!("{id}@example.com")})
    }

    fn item(product: &str) -> Value {
        json!({"product_id": product, "name": product, "url": format!("https://shop.example/{product}")})
    }

    /// The events stream's records of these (entity, operation, payload), in order.
    fn records(events: &[(&str, &str, Value)]) -> Vec<EventRecord> {
        events
            .iter()
            .enumerate()
            .map(|(i, (entity, operation, payload))| {
                let id = format!("evt-{i}");
                inserted(
                    &tenant("acme"),
                    event(&id, entity, operation, payload.clone()),
                    &i.to_string(),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn wishlists_and_stock_are_projected_in_the_order_of_the_batch() {
        // GIVEN wishlist events for A and B and P2 going out of stock and back
        let projector = projector();
        let batch = records(&[
            (
                "WISHLIST",
                "CREATE",
                json!({"shopper": shopper("A"), "items": [item("P1"), item("P2")]}),
            ),
            (
                "WISHLIST_ITEM",
                "CREATE",
                json!({"shopper": shopper("B"), "item": item("P2")}),
            ),
            (
                "INVENTORY_LEVEL",
                "UPDATE",
                json!({"product_id": "P2", "quantity": 0, "occurred_at": "2026-11-20T08:00:00Z"}),
            ),
            (
                "INVENTORY_LEVEL",
                "UPDATE",
                json!({"product_id": "P2", "quantity": 5, "occurred_at": "2026-11-20T09:00:00Z"}),
            ),
            ("ORDER", "CREATE", json!({"total": 1})),
        ]);
        // WHEN the batch is projected
        let failed = projector.stream_batch(&batch).await;
        // THEN nothing failed or was parked, and the projections show it
        assert!(failed.is_empty(), "{failed:?}");
        assert!(projector.failures().parked().is_empty());
        let (store, acme, p2) = (projector.store(), tenant("acme"), ProductKey::new("P2", None));
        assert_eq!(store.shoppers_wishing(&acme, &p2).await.expect("read"), ["A", "B"]);
        let state = store.product(&acme, &p2).await.expect("read").expect("P2");
        assert_eq!(state.stock.current(), Some(&5));
        assert!(state.last_restock_at.is_some());
        assert!(store.wishlist(&tenant("other"), "A").await.expect("read").is_none());
    }

    #[tokio::test]
    async fn a_payload_not_as_documented_is_parked_and_the_batch_goes_on() {
        // GIVEN a WISHLIST event without its shopper, then a good one
        let projector = projector();
        let batch = records(&[
            ("WISHLIST", "CREATE", json!({"items": []})),
            (
                "WISHLIST_ITEM",
                "CREATE",
                json!({"shopper": shopper("B"), "item": item("P2")}),
            ),
        ]);
        // WHEN projected
        let failed = projector.stream_batch(&batch).await;
        // THEN the first is parked with its tenant, event and reason; the second is projected
        assert!(failed.is_empty(), "{failed:?}");
        let parked = projector.failures().parked();
        assert_eq!(parked.len(), 1);
        assert_eq!(parked[0].tenant.as_deref(), Some("acme"));
        assert_eq!(parked[0].id.as_deref(), Some("evt-0"));
        assert!(
            parked[0].reason.starts_with("payload not as documented"),
            "{}",
            parked[0].reason
        );
        let (acme, p2) = (tenant("acme"), ProductKey::new("P2", None));
        let wishing = projector.store().shoppers_wishing(&acme, &p2).await.expect("read");
        assert_eq!(wishing, ["B"]);
    }

    #[tokio::test]
    async fn a_store_that_may_pass_later_has_lambda_retry_from_the_record() {
        // GIVEN a throttled projections table
        let projector = projector();
        projector.store().failing(Some(ErrorKind::Throttled));
        let batch = records(&[
            ("ORDER", "CREATE", json!({"total": 1})),
            (
                "WISHLIST_ITEM",
                "CREATE",
                json!({"shopper": shopper("B"), "item": item("P2")}),
            ),
            (
                "WISHLIST_ITEM",
                "CREATE",
                json!({"shopper": shopper("C"), "item": item("P2")}),
            ),
        ]);
        // WHEN projected
        let failed = projector.stream_batch(&batch).await;
        // THEN Lambda retries from the first record that needed the table; nothing is parked
        assert_eq!(failed, ["1"]);
        assert!(projector.failures().parked().is_empty());
    }

    #[tokio::test]
    async fn a_write_the_table_refuses_is_parked_not_retried() {
        // GIVEN a table that refuses the write for good (too large, malformed)
        let projector = projector();
        projector.store().failing(Some(ErrorKind::Other));
        let batch = records(&[(
            "WISHLIST_ITEM",
            "CREATE",
            json!({"shopper": shopper("B"), "item": item("P2")}),
        )]);
        // WHEN projected THEN it is parked, and the batch reports no failure
        assert!(projector.stream_batch(&batch).await.is_empty());
        assert_eq!(projector.failures().parked().len(), 1);
    }

    #[tokio::test]
    async fn a_record_that_cannot_be_parked_is_retried_never_lost() {
        // GIVEN a failure queue that takes nothing
        let projector = projector();
        projector
            .failures()
            .refuse
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let batch = records(&[
            ("ORDER", "CREATE", json!({"total": 1})),
            ("WISHLIST", "CREATE", json!({"items": []})),
        ]);
        // WHEN a record must be parked THEN Lambda retries from it
        assert_eq!(projector.stream_batch(&batch).await, ["1"]);
    }
}
