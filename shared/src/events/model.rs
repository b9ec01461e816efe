//! The event as stored and returned, with the seed's field names.

use std::collections::BTreeMap;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use crate::util::rfc3339_millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operation {
    Create,
    Update,
    Delete,
    Read,
    BulkCreate,
    BulkUpdate,
    BulkDelete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventSource {
    Application,
    System,
    Connector,
    Serverless,
}

/// Stored in the `_EVENT` form; the bare forms are accepted on input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    #[serde(alias = "ENTITY")]
    EntityEvent,
    #[serde(alias = "SYSTEM")]
    SystemEvent,
    #[serde(alias = "FAULT")]
    FaultEvent,
    #[serde(alias = "WARNING")]
    WarningEvent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPayload {
    pub operation: Operation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    #[serde(default)]
    pub key_attributes: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base64_encoded_payload_json: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base64_encoded_fault_json: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub entity_id: String,
    /// Upper case: `ORDER`, `PRODUCT`, or a retailer's own name.
    pub entity_name: String,
    pub event_source: EventSource,
    pub event_type: EventType,
    pub event_payload: EventPayload,
    /// Set by the server on first acceptance, millisecond precision, UTC.
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
    /// Set by the server when an event definition validated the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<DefinitionStamp>,
    /// Set by the server: the W3C `traceparent` the request came with, or the
    /// one started for it (trace.rs); carried to every delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

/// The event definition version an event was validated against, and which of
/// its payload fields are protected sensitive information (never logged, masked
/// for subscribers that did not opt in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionStamp {
    pub version: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub psi_fields: Vec<String>,
}

impl Event {
    /// A CREATE event the service itself stores (source SYSTEM), stamped `now`.
    pub fn created_by_service(
        id: String,
        entity_name: &str,
        entity_id: &str,
        key_attributes: BTreeMap<String, String>,
        payload: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Self {
        use base64::Engine as _;
        Self {
            id,
            entity_id: entity_id.to_owned(),
            entity_name: entity_name.to_owned(),
            event_source: EventSource::System,
            event_type: EventType::EntityEvent,
            event_payload: EventPayload {
                operation: Operation::Create,
                entity_id: None,
                key_attributes,
                base64_encoded_payload_json: Some(
                    base64::engine::general_purpose::STANDARD.encode(payload.to_string()),
                ),
                base64_encoded_fault_json: None,
            },
            created_at: now.trunc_subsecs(3),
            definition: None,
            traceparent: None,
        }
    }

    /// True when `other` carries what the client sent for this event; the server-set
    /// `created_at` and `definition` are not part of it. Decides replay (200)
    /// versus conflict (409).
    pub fn same_content(&self, other: &Event) -> bool {
        self.id == other.id
            && self.entity_id == other.entity_id
            && self.entity_name == other.entity_name
            && self.event_source == other.event_source
            && self.event_type == other.event_type
            && self.event_payload == other.event_payload
    }
}
