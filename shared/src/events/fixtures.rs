//! Events for unit tests.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;

use super::{DefinitionStamp, Event, EventPayload, EventSource, EventType, Operation};

/// A CREATE of `entity_name` (`ORD-1`) with `payload` (JSON text), its defined
/// `psi_fields` marked sensitive.
pub fn event(entity_name: &str, payload: &str, psi_fields: &[&str]) -> Event {
    Event {
        id: "evt-1".into(),
        entity_id: "ORD-1".into(),
        entity_name: entity_name.into(),
        event_source: EventSource::Application,
        event_type: EventType::EntityEvent,
        event_payload: EventPayload {
            operation: Operation::Create,
            entity_id: None,
            key_attributes: Default::default(),
            base64_encoded_payload_json: Some(STANDARD.encode(payload)),
            base64_encoded_fault_json: None,
        },
        created_at: Utc::now(),
        definition: Some(DefinitionStamp {
            version: 1,
            psi_fields: psi_fields.iter().map(|f| (*f).to_owned()).collect(),
        }),
        traceparent: None,
    }
}
