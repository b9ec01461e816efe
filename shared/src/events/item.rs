//! How an event is laid out in the events table.
//!
//! `pk` = `T#<tenant>#E#<id>`: the tenant leads (isolation by construction) and the
//! id spreads a busy tenant over partitions. The `by_entity` index has
//! `gsi1pk` = `T#<tenant>#N#<entity_name>#I#<entity_id>` and `gsi1sk` =
//! `<created_at>#<id>`, so one Query returns an entity's events in time order.
//!
//! The claims table (`pk` only) holds what must be claimed by one event at most:
//! a definition's unique key (`T#<tenant>#U#<digest>`, expiring with its event)
//! and a known customer (`T#<tenant>#C#<digest>`). It is separate so the events
//! stream carries events only.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::customer::NewCustomer;
use super::model::Event;
use crate::ids;
use crate::tenant::TenantId;
use crate::util::rfc3339_millis;

pub const BY_ENTITY_INDEX: &str = crate::storage::schema::EVENTS.indexes[0].name;
pub const BY_TIME_INDEX: &str = crate::storage::schema::EVENTS.indexes[1].name;

/// Partition keys a tenant's events are spread over in `by_time`: a partition
/// takes 1,000 writes a second, so a tenant may store 8,000 events a second.
pub const TIME_SHARDS: u8 = 8;

#[derive(Debug, Serialize, Deserialize)]
pub struct EventItem {
    pub pk: String,
    pub gsi1pk: String,
    pub gsi1sk: String,
    /// `by_time`: `T#<tenant>#S#<shard>` and `<created_at>#<id>`. Absent on
    /// events stored before the index (they cannot be replayed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2sk: Option<String>,
    pub tenant: String,
    /// Epoch seconds; the table's TTL attribute.
    pub expires_at: i64,
    #[serde(flatten)]
    pub event: Event,
}

impl EventItem {
    pub fn new(tenant: &TenantId, event: Event, retention: Duration) -> Self {
        Self {
            pk: event_key(tenant, &event.id),
            gsi1pk: entity_key(tenant, &event.entity_name, &event.entity_id),
            gsi1sk: entity_sort_key(&event.created_at, &event.id),
            gsi2pk: Some(time_key(tenant, time_shard(&event.id))),
            gsi2sk: Some(entity_sort_key(&event.created_at, &event.id)),
            tenant: tenant.to_string(),
            expires_at: (event.created_at + retention).timestamp(),
            event,
        }
    }
}

/// Key in the claims table of a unique key some event holds (expires with it).
pub fn unique_claim_key(tenant: &TenantId, unique_key: &str) -> String {
    format!("T#{tenant}#U#{}", ids::digest(&[unique_key]))
}

/// Key in the claims table of a customer the tenant knows (never expires).
pub fn customer_claim_key(tenant: &TenantId, customer: &NewCustomer) -> String {
    format!("T#{tenant}#C#{}", customer.digest())
}

pub fn event_key(tenant: &TenantId, id: &str) -> String {
    format!("T#{tenant}#E#{id}")
}

pub fn entity_key(tenant: &TenantId, entity_name: &str, entity_id: &str) -> String {
    format!("T#{tenant}#N#{entity_name}#I#{entity_id}")
}

/// The `by_time` partition key of a tenant's shard.
pub fn time_key(tenant: &TenantId, shard: u8) -> String {
    format!("T#{tenant}#S#{shard}")
}

/// Which of the tenant's `by_time` shards an event id is in.
pub fn time_shard(id: &str) -> u8 {
    let digest = ids::digest(&[id]);
    u8::from_str_radix(&digest[..2], 16).unwrap_or(0) % TIME_SHARDS
}

pub fn entity_sort_key(created_at: &DateTime<Utc>, id: &str) -> String {
    format!("{}#{id}", rfc3339_millis::format(created_at))
}

/// The event id inside a sort key this API wrote: an exact `rfc3339_millis`
/// timestamp, `#`, a valid id. Anything else never reaches DynamoDB, which would
/// refuse a start key it did not issue.
pub fn id_from_sort_key(sort_key: &str) -> Option<&str> {
    let (at, id) = sort_key.split_once('#')?;
    let timestamp = chrono::DateTime::parse_from_rfc3339(at).ok()?;
    let canonical = rfc3339_millis::format(&timestamp.with_timezone(&Utc)) == at;
    (canonical && ids::validate_client_id("id", id).is_ok()).then_some(id)
}
