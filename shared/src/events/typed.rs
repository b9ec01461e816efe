//! The typed event endpoints of seed 003 (`/api/v1/events/actions`, `/orders`,
//! `/transactions`, `/redemptions`, `/basket`): each body becomes one canonical
//! event, so it is stored, fanned out and queryable like any other.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

use super::model::{Event, EventPayload, EventSource, EventType, Operation};
use crate::error::{ApiError, FieldErrors};
use crate::util::raw_json::{RawObject, raw};

/// The key attribute of a typed event that holds its customer.
pub const CUSTOMER_ID_ATTRIBUTE: &str = "customer_id";

/// Which typed endpoint; names the body's block and the canonical entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypedKind {
    Action,
    Order,
    Transaction,
    Redemption,
    /// Assessed as it is stored (the answer says what it would earn).
    Basket,
}

impl TypedKind {
    /// The body's block holding the type's own fields.
    pub fn block(self) -> &'static str {
        match self {
            Self::Action => "action",
            Self::Order => "order",
            Self::Transaction => "transaction",
            Self::Redemption => "redemption",
            Self::Basket => "basket",
        }
    }

    pub fn entity_name(self) -> &'static str {
        match self {
            Self::Action => "ACTION",
            Self::Order => "ORDER",
            Self::Transaction => "TRANSACTION",
            Self::Redemption => "REDEMPTION",
            Self::Basket => "BASKET",
        }
    }
}

/// A typed endpoint's body: read as JSON, stored as sent (so that its numbers
/// keep every digit).
#[derive(Debug, Clone)]
pub struct TypedBody {
    /// For reading: numbers as `u64`/`i64`/`f64`.
    pub json: Value,
    /// The text as sent: what the stored event's payload is made of.
    sent: Box<RawValue>,
}

/// A body the service itself makes (its text is the value's).
impl From<Value> for TypedBody {
    fn from(json: Value) -> Self {
        let sent = raw(&json);
        Self { json, sent }
    }
}

/// A request's body.
impl<'de> Deserialize<'de> for TypedBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let sent = Box::<RawValue>::deserialize(deserializer)?;
        let json = serde_json::from_str(sent.get()).map_err(serde::de::Error::custom)?;
        Ok(Self { json, sent })
    }
}

/// The fields every typed body shares (the block is read from the raw JSON).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Common {
    event_id: Option<String>,
    customer_id: Option<String>,
    name_space: Option<String>,
    reference: Option<String>,
    campaign: Option<String>,
    #[serde(default)]
    attributes: Vec<Attribute>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Attribute {
    key: String,
    /// Checked to be a string; kept in the payload, not read here.
    #[serde(rename = "value")]
    _value: String,
}

/// The canonical event for a typed `body`, and the customer it is about.
/// `entity_id` is the order's `orderId` for orders, the customer otherwise (so
/// `GET /api/v1/events?entity_name=ACTION&entity_id=<customer>` lists a
/// customer's actions); the payload is the body as sent.
pub fn typed_event(
    kind: TypedKind,
    body: impl Into<TypedBody>,
    now: DateTime<Utc>,
) -> Result<(Event, String), ApiError> {
    let mut errors = FieldErrors::default();
    let TypedBody { json: body, sent } = body.into();
    let (Value::Object(_), Some(mut payload)) = (&body, RawObject::parse(sent.get())) else {
        return Err(ApiError::invalid_field("body", "must be a JSON object"));
    };
    let common: Common =
        serde_json::from_value(body.clone()).map_err(|e| ApiError::invalid_field("body", e.to_string()))?;
    // Any spelling the seed's clients send (upper case, braces, `urn:uuid:`) is
    // stored as the one canonical form, so a resend in another spelling is the
    // same event and every id reads back as stored.
    let uuid = |errors: &mut FieldErrors, field: &str, value: Option<String>| {
        let value = errors.required(field, value)?;
        match uuid::Uuid::parse_str(&value) {
            Ok(parsed) => Some(parsed.hyphenated().to_string()),
            Err(_) => {
                errors.push(field, "must be a GUID/UUID (00000000-0000-0000-0000-000000000000)");
                None
            }
        }
    };
    let event_id = uuid(&mut errors, "eventId", common.event_id);
    let customer_id = uuid(&mut errors, "customerId", common.customer_id);
    for (field, canonical) in [("eventId", &event_id), ("customerId", &customer_id)] {
        if let Some(canonical) = canonical {
            payload.set(field, raw(canonical));
        }
    }
    let block = body.get(kind.block());
    if !block.is_some_and(Value::is_object) {
        errors.push(kind.block(), "is required and must be an object");
    }
    let order_id = match kind {
        TypedKind::Order => {
            let id = block
                .and_then(|b| b.get("orderId"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            match id {
                None => errors.push("order.orderId", "is required"),
                // It becomes the event's entity id: held to the same rules.
                Some(id) => {
                    errors.check(super::request::entity_id("order.orderId", id));
                }
            }
            id.map(str::to_owned)
        }
        TypedKind::Basket => {
            let field = |name: &str| block.and_then(|b| b.get(name)).unwrap_or(&Value::Null);
            if !field("basketId")
                .as_str()
                .is_some_and(|s| !s.is_empty() && s.len() <= 256)
            {
                errors.push("basket.basketId", "is required: a string of 1-256 bytes");
            }
            // What assessment reads must be what it expects.
            for total in ["basketTotal", "rewardsEligibleTotal"] {
                if !(field(total).is_null() || field(total).is_number()) {
                    errors.push(format!("basket.{total}"), "must be a number");
                }
            }
            let items = field("basketItems");
            if !(items.is_null() || items.as_array().is_some_and(|items| items.iter().all(Value::is_object))) {
                errors.push("basket.basketItems", "must be an array of objects");
            }
            None
        }
        _ => None,
    };
    let mut key_attributes = BTreeMap::new();
    for (name, value) in [
        ("name_space", common.name_space),
        ("reference", common.reference),
        ("campaign", common.campaign),
    ] {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            key_attributes.insert(name.to_owned(), value);
        }
    }
    if common.attributes.iter().any(|a| a.key.is_empty()) {
        errors.push("attributes", "every attribute needs a key");
    }
    let (Some(event_id), Some(customer_id)) = (event_id, customer_id) else {
        return errors.finish(None);
    };
    key_attributes.insert(CUSTOMER_ID_ATTRIBUTE.to_owned(), customer_id.clone());
    let event = Event {
        id: event_id,
        entity_id: order_id.clone().unwrap_or_else(|| customer_id.clone()),
        entity_name: kind.entity_name().to_owned(),
        event_source: EventSource::Application,
        event_type: EventType::EntityEvent,
        event_payload: EventPayload {
            operation: Operation::Create,
            entity_id: order_id,
            key_attributes,
            // The body as sent, its ids canonical: a resend of the same body is the
            // same event (one sent otherwise is answered as the first body).
            base64_encoded_payload_json: Some(STANDARD.encode(payload.to_raw().get())),
            base64_encoded_fault_json: None,
        },
        created_at: chrono::SubsecRound::trunc_subsecs(now, 3),
        definition: None,
        traceparent: None,
    };
    errors.finish(Some((event, customer_id)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(kind: &str, block: Value) -> Value {
        json!({
            kind: block,
            "eventId": "0d9b2c4e-1f3a-4e5b-8c7d-6a5b4c3d2e1f",
            "customerId": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "nameSpace": "Customer.Registration", "reference": "REF-1", "campaign": "",
            "attributes": [{"key": "channel", "value": "web"}]
        })
    }

    #[test]
    fn a_typed_body_becomes_one_canonical_event() {
        let (event, customer) = typed_event(
            TypedKind::Order,
            body("order", json!({"orderId": "ORD-1", "total": 10})),
            Utc::now(),
        )
        .expect("valid");
        assert_eq!(customer, "3fa85f64-5717-4562-b3fc-2c963f66afa6");
        assert_eq!(
            (event.entity_name.as_str(), event.entity_id.as_str()),
            ("ORDER", "ORD-1")
        );
        assert_eq!(event.id, "0d9b2c4e-1f3a-4e5b-8c7d-6a5b4c3d2e1f");
        assert_eq!(event.event_payload.operation, Operation::Create);
        assert_eq!(
            event.event_payload.key_attributes["name_space"],
            "Customer.Registration"
        );
        assert!(
            !event.event_payload.key_attributes.contains_key("campaign"),
            "empty values are left out"
        );
        let (action, _) = typed_event(
            TypedKind::Action,
            body("action", json!({"amount": 1, "count": 2})),
            Utc::now(),
        )
        .expect("valid");
        assert_eq!(action.entity_id, "3fa85f64-5717-4562-b3fc-2c963f66afa6", "the customer");
    }

    #[test]
    fn bad_bodies_name_their_fields() {
        let mut missing = body("action", json!({"amount": 1}));
        missing["eventId"] = json!("not-a-uuid");
        missing.as_object_mut().expect("object").remove("action");
        let err = typed_event(TypedKind::Action, missing, Utc::now()).expect_err("invalid");
        let text = format!("{err:?}");
        assert!(text.contains("eventId") && text.contains("action"), "{text}");
        let no_order_id = body("order", json!({"total": 1}));
        let err = typed_event(TypedKind::Order, no_order_id, Utc::now()).expect_err("invalid");
        assert!(format!("{err:?}").contains("order.orderId"));
    }

    #[test]
    fn uuids_are_stored_canonical_whatever_their_spelling() {
        let canonical = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
        let spellings = [
            canonical.to_owned(),
            canonical.to_uppercase(),
            format!("{{{canonical}}}"),
            format!("urn:uuid:{canonical}"),
            canonical.replace('-', ""),
        ];
        let events: Vec<Event> = spellings
            .iter()
            .map(|spelling| {
                let mut sent = body("action", json!({"amount": 1}));
                sent["eventId"] = json!(spelling);
                sent["customerId"] = json!(spelling.to_lowercase());
                typed_event(TypedKind::Action, sent, Utc::now()).expect("valid").0
            })
            .collect();
        for event in &events {
            assert_eq!((event.id.as_str(), event.entity_id.as_str()), (canonical, canonical));
            assert!(event.same_content(&events[0]), "one event, whatever the spelling");
        }
    }

    #[test]
    fn a_typed_payload_is_the_body_as_sent_with_canonical_ids() {
        // GIVEN an order body with numbers no f64 holds and an upper-case event id
        let sent = r#"{"eventId":"0D9B2C4E-1F3A-4E5B-8C7D-6A5B4C3D2E1F","customerId":"3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "order": {"orderId": "ORD-1", "total": 0.12345678901234567890, "ref": 123456789012345678901234}}"#;
        let body: TypedBody = serde_json::from_str(sent).expect("a body");
        // WHEN it becomes an event
        let (event, _) = typed_event(TypedKind::Order, body, Utc::now()).expect("valid");
        // THEN its payload has the numbers as sent, and the id canonical
        let payload = event.event_payload.base64_encoded_payload_json.expect("a payload");
        let payload = String::from_utf8(STANDARD.decode(payload).expect("base64")).expect("text");
        assert_eq!(
            payload,
            r#"{"eventId":"0d9b2c4e-1f3a-4e5b-8c7d-6a5b4c3d2e1f","customerId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","order":{"orderId": "ORD-1", "total": 0.12345678901234567890, "ref": 123456789012345678901234}}"#
        );
    }

    #[test]
    fn an_order_id_follows_the_entity_id_rules() {
        for bad in ["x".repeat(3000), "a\u{0}b".into(), "   ".into()] {
            let err =
                typed_event(TypedKind::Order, body("order", json!({"orderId": bad})), Utc::now()).expect_err("invalid");
            assert!(format!("{err:?}").contains("order.orderId"));
        }
    }

    #[test]
    fn a_body_that_is_not_an_object_is_a_400() {
        let id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
        for body in [json!([id, id, null, null, null, []]), json!("x"), json!(null)] {
            let err = typed_event(TypedKind::Action, body, Utc::now()).expect_err("invalid");
            assert!(format!("{err:?}").contains("body"));
        }
    }
}
