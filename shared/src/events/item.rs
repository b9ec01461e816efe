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
            gsi2pk: Some(time_key(tenant, &event.entity_name, time_shard(&event.id))),
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

/// The `by_time` partition key of a tenant's events of one entity name, in
/// one shard: a replay reads only its subscription's entity.
pub fn time_key(tenant: &TenantId, entity_name: &str, shard: u8) -> String {
    format!("T#{tenant}#N#{entity_name}#S#{shard}")
}

/// The tenant-wide `by_time` partition key events were written under before
/// they were kept by entity; read until the last of them expires.
fn tenant_time_key(tenant: &TenantId, shard: u8) -> String {
    format!("T#{tenant}#S#{shard}")
}

/// The `by_time` partitions a replay of `entity_name` reads, one a step's
/// `shard`: the entity's shards, then the tenant-wide ones of older events.
pub const REPLAY_PARTITIONS: u8 = 2 * TIME_SHARDS;

/// Partition `index` (below `REPLAY_PARTITIONS`) of a replay of `entity_name`.
pub fn replay_partition(tenant: &TenantId, entity_name: &str, index: u8) -> String {
    if index < TIME_SHARDS {
        time_key(tenant, entity_name, index)
    } else {
        tenant_time_key(tenant, index - TIME_SHARDS)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_reads_its_entitys_partitions_then_the_tenant_wide_ones_of_older_events() {
        let acme = TenantId::parse("acme").expect("tenant");
        let partitions: Vec<String> = (0..REPLAY_PARTITIONS)
            .map(|i| replay_partition(&acme, "ORDER", i))
            .collect();
        assert_eq!(partitions[0], "T#acme#N#ORDER#S#0");
        assert_eq!(partitions[7], "T#acme#N#ORDER#S#7");
        assert_eq!(partitions[8], "T#acme#S#0");
        assert_eq!(partitions[15], "T#acme#S#7");
        // AND a new event is indexed under its entity's partition
        let shard = time_shard("evt-1");
        assert_eq!(time_key(&acme, "ORDER", shard), partitions[usize::from(shard)]);
    }
}
