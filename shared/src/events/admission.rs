//! Storing an accepted event with what its definition asks for besides: a
//! unique key to claim, a customer to add.

use chrono::{DateTime, Utc};

use super::customer::NewCustomer;
use super::model::Event;
use super::store::{EventStore, EventStoreError, PutOutcome};
use crate::tenant::TenantId;

/// An event that passed validation, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    pub event: Event,
    /// No other event may hold it; see `EventStore::put_new`.
    pub unique_key: Option<String>,
    /// Added (with one CUSTOMER event) if the tenant does not know it.
    pub customer: Option<NewCustomer>,
}

impl Admission {
    /// An event nothing else is asked for.
    pub fn plain(event: Event) -> Self {
        Self {
            event,
            unique_key: None,
            customer: None,
        }
    }

    /// Stores the event, then, once it is stored (now or before), makes its
    /// customer known. In that order so a refused event adds nobody, and a
    /// request retried after failing in between still adds the customer.
    pub async fn store<S: EventStore>(
        self,
        store: &S,
        tenant: &TenantId,
        now: DateTime<Utc>,
    ) -> Result<PutOutcome, EventStoreError> {
        let outcome = store.put_new(tenant, self.event, self.unique_key.as_deref()).await?;
        if let PutOutcome::Created(event) | PutOutcome::Replayed(event) = &outcome {
            make_customer_known(self.customer.as_ref(), store, tenant, &event.id, now).await?;
        }
        Ok(outcome)
    }
}

/// Adds `customer` (with one CUSTOMER event, caused by `event_id`) unless the
/// tenant knows it already.
pub async fn make_customer_known<S: EventStore>(
    customer: Option<&NewCustomer>,
    store: &S,
    tenant: &TenantId,
    event_id: &str,
    now: DateTime<Utc>,
) -> Result<(), EventStoreError> {
    let Some(customer) = customer else { return Ok(()) };
    let created = customer.created_event(event_id, now);
    let id = created.id.clone();
    if store.add_customer(tenant, customer, created).await? {
        tracing::info!(tenant = %tenant, event_id = %id, "added a customer on its first event");
    }
    Ok(())
}
