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
