//! Definitions as ingest reads them: by tenant and name, kept for a short while
//! (including "there is none", the common case), so most events cost no read.
//! A definition created or changed applies to events within the time to live.

use std::sync::Arc;
use std::time::Duration;

use super::model::EventDefinition;
use crate::storage::{RecordError, Records, Versioned};
use crate::tenant::TenantId;
use crate::util::ttl_map::TtlMap;

type Found = Option<Arc<Versioned<EventDefinition>>>;

pub struct DefinitionCache<R> {
    records: R,
    entries: TtlMap<(TenantId, String), Found>,
}

impl<R: Records<EventDefinition>> DefinitionCache<R> {
    pub fn new(records: R, ttl: Duration) -> Self {
        Self {
            records,
            entries: TtlMap::new(ttl),
        }
    }

    /// The same cache (emptied), keeping what it reads for `ttl`.
    #[must_use]
    pub fn with_ttl(self, ttl: Duration) -> Self {
        Self::new(self.records, ttl)
    }

    /// The stored definition with id `id` (see `definition_id`), active or not.
    /// An event's `entity_name` is such an id: both are the name upper-cased.
    pub async fn get(&self, tenant: &TenantId, id: &str) -> Result<Found, RecordError> {
        let key = (tenant.clone(), id.to_owned());
        if let Some(found) = self.entries.fresh(&key) {
            return Ok(found);
        }
        let found = self.records.get(tenant, id).await?.map(Arc::new);
        self.entries.insert(key, found.clone());
        Ok(found)
    }
}
