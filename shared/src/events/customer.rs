//! Customers added on their first event: an unknown customer identifier makes
//! one CUSTOMER CREATE event, decided by a conditional write on a claim of that
//! identifier (so concurrent first events still make only one).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SubsecRound, Utc};
use serde_json::json;

use super::model::{Event, EventPayload, EventSource, EventType, Operation};
use crate::ids;

/// Entity name of the events that announce a new customer.
pub const CUSTOMER_ENTITY: &str = "CUSTOMER";

/// Id prefix of those events, reserved: a client's event under such an id would
/// keep the customer it names from ever being announced.
pub const CUSTOMER_EVENT_PREFIX: &str = "cus_";

/// A customer to add if the tenant does not know it yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCustomer {
    /// `email`, `mobile`, … (seed 001), or `customerId` for the typed endpoints.
    pub identifier_type: String,
    pub identifier: String,
}

impl NewCustomer {
    /// Stable per identifier: the claim's key and the CUSTOMER event's id.
    pub fn digest(&self) -> String {
        ids::digest(&[&self.identifier_type, &self.identifier])
    }

    /// The CUSTOMER CREATE event announcing it, caused by `source_event_id`.
    pub fn created_event(&self, source_event_id: &str, now: DateTime<Utc>) -> Event {
        let payload = json!({"identifierType": self.identifier_type, "identifierValue": self.identifier});
        Event {
            id: format!("{CUSTOMER_EVENT_PREFIX}{}", self.digest()),
            entity_id: self.identifier.clone(),
            entity_name: CUSTOMER_ENTITY.to_owned(),
            event_source: EventSource::System,
            event_type: EventType::EntityEvent,
            event_payload: EventPayload {
                operation: Operation::Create,
                entity_id: None,
                key_attributes: [
                    ("identifier_type".to_owned(), self.identifier_type.clone()),
                    ("source_event_id".to_owned(), source_event_id.to_owned()),
                ]
                .into(),
                base64_encoded_payload_json: Some(STANDARD.encode(payload.to_string())),
                base64_encoded_fault_json: None,
            },
            created_at: now.trunc_subsecs(3),
            definition: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::decode_json;

    #[test]
    fn one_identifier_one_event_id() {
        let ana = NewCustomer {
            identifier_type: "email".into(),
            identifier: "ana@example.com".into(),
        };
        let first = ana.created_event("e1", Utc::now());
        let again = ana.created_event("e2", Utc::now());
        assert_eq!(first.id, again.id);
        assert!(crate::ids::validate_client_id("id", &first.id).is_ok());
        let other_kind = NewCustomer {
            identifier_type: "userId".into(),
            ..ana
        };
        assert_ne!(other_kind.digest(), first.id["cus_".len()..]);
        let payload = first
            .event_payload
            .base64_encoded_payload_json
            .as_deref()
            .expect("payload");
        assert_eq!(
            decode_json(payload).expect("json")["identifierValue"],
            "ana@example.com"
        );
    }
}
