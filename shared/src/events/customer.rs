//! Customers added on their first event: an unknown customer identifier makes
//! one CUSTOMER CREATE event, decided by a conditional write on a claim of that
//! identifier (so concurrent first events still make only one).

use chrono::{DateTime, Utc};
use serde_json::json;

use super::model::Event;
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
    /// Its payload is seed 002's `customerAdded` notification, with the
    /// identifier as given besides (`identifierType`, `identifierValue`).
    pub fn created_event(&self, source_event_id: &str, now: DateTime<Utc>) -> Event {
        let id = format!("{CUSTOMER_EVENT_PREFIX}{}", self.digest());
        // Seed 002 names the customer id (the typed endpoints' identifier) at the
        // top, other identifiers in `instore`.
        let identifiers = if self.identifier_type == "customerId" {
            json!({"customerId": self.identifier})
        } else {
            json!({"instore": {&self.identifier_type: self.identifier}})
        };
        let payload = json!({
            "eventName": "customerAdded", "eventId": id, "createdAt": now.timestamp_millis(),
            "data": {"customerIdentifiers": identifiers, "enteredAt": now.timestamp_millis()},
            "identifierType": self.identifier_type, "identifierValue": self.identifier,
        });
        let key_attributes = [
            ("identifier_type".to_owned(), self.identifier_type.clone()),
            ("source_event_id".to_owned(), source_event_id.to_owned()),
        ];
        Event::created_by_service(
            id,
            CUSTOMER_ENTITY,
            &self.identifier,
            key_attributes.into(),
            &payload,
            now,
        )
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
        let payload = decode_json(payload).expect("json");
        assert_eq!(payload["identifierValue"], "ana@example.com");
        // Seed 002's customerAdded, the event's id as its eventId.
        assert_eq!(
            (&payload["eventName"], &payload["eventId"]),
            (&json!("customerAdded"), &json!(first.id))
        );
        assert_eq!(
            payload["data"]["customerIdentifiers"]["instore"]["email"],
            "ana@example.com"
        );
    }
}
