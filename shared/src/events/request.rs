//! `POST /api/v1/events` body: parsed leniently into options, then validated so
//! that one response lists every problem with its field name.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chrono::{DateTime, SubsecRound, Utc};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::customer::CUSTOMER_EVENT_PREFIX;
use crate::loyalty::POINTS_EVENT_PREFIX;

/// Id prefixes of the events the service creates: no client event may take one.
const RESERVED_PREFIXES: [&str; 2] = [CUSTOMER_EVENT_PREFIX, POINTS_EVENT_PREFIX];
use super::model::{Event, EventPayload, EventSource, EventType, Operation};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::ids;
use crate::util::text::is_invisible;

const MAX_ENTITY_ID_LEN: usize = 256;
const MAX_ENTITY_NAME_LEN: usize = 64;
const MAX_KEY_ATTRIBUTES: usize = 50;
const MAX_KEY_ATTRIBUTE_LEN: usize = 1024;

/// Padding is optional on input: some clients strip it.
const STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    id: Option<String>,
    entity_id: Option<String>,
    entity_name: Option<String>,
    event_source: Option<EventSource>,
    event_type: Option<EventType>,
    event_payload: Option<PayloadRequest>,
    /// Server-set; accepted and ignored so a stored event can be re-sent as is.
    #[serde(default, rename = "created_at")]
    _created_at: Option<IgnoredAny>,
    #[serde(default, rename = "definition")]
    _definition: Option<IgnoredAny>,
    /// The trace comes from the request's `traceparent` header, not the body.
    #[serde(default, rename = "traceparent")]
    _traceparent: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayloadRequest {
    operation: Option<Operation>,
    entity_id: Option<String>,
    key_attributes: Option<BTreeMap<String, String>>,
    base64_encoded_payload_json: Option<String>,
    base64_encoded_fault_json: Option<String>,
}

impl EventRequest {
    /// Validates the request into the event to store, stamped `now`.
    pub fn into_event(self, now: DateTime<Utc>) -> Result<Event, ApiError> {
        let mut errors = FieldErrors::default();
        let id = match self.id {
            Some(id) => {
                errors.check(ids::validate_client_id("id", &id));
                if let Some(prefix) = RESERVED_PREFIXES.iter().find(|prefix| id.starts_with(**prefix)) {
                    errors.push(
                        "id",
                        format!(
                            "the prefix {prefix} is reserved for the CUSTOMER and POINTS events the service creates"
                        ),
                    );
                }
                id
            }
            None => ids::generate("evt"),
        };
        let entity_id = errors
            .required("entity_id", self.entity_id)
            .and_then(|v| errors.check(entity_id("entity_id", &v)).map(|()| v));
        let entity_name = errors
            .required("entity_name", self.entity_name)
            .and_then(|v| errors.check(entity_name("entity_name", &v)));
        let event_source = errors.required("event_source", self.event_source);
        let event_type = errors.required("event_type", self.event_type);
        let event_payload = errors
            .required("event_payload", self.event_payload)
            .and_then(|p| p.validate(&mut errors));
        let event = (|| {
            Some(Event {
                id,
                entity_id: entity_id?,
                entity_name: entity_name?,
                event_source: event_source?,
                event_type: event_type?,
                event_payload: event_payload?,
                created_at: now.trunc_subsecs(3),
                definition: None,
                traceparent: None,
            })
        })();
        errors.finish(event)
    }
}

impl PayloadRequest {
    fn validate(self, errors: &mut FieldErrors) -> Option<EventPayload> {
        let operation = errors.required("event_payload.operation", self.operation);
        let entity_id = match self.entity_id {
            Some(v) => Some(errors.check(entity_id("event_payload.entity_id", &v)).map(|()| v)?),
            None => None,
        };
        let key_attributes = self.key_attributes.unwrap_or_default();
        errors.check(check_key_attributes(&key_attributes));
        for (field, value) in [
            (
                "event_payload.base64_encoded_payload_json",
                &self.base64_encoded_payload_json,
            ),
            (
                "event_payload.base64_encoded_fault_json",
                &self.base64_encoded_fault_json,
            ),
        ] {
            if let Some(encoded) = value {
                errors.check(decode_json(encoded).map_err(|m| FieldError::new(field, m)));
            }
        }
        if let Some(path) = self.base64_encoded_payload_json.as_deref().and_then(repeated_member) {
            // Definitions are checked against, and masking hides, one value per
            // name, but subscribers get the text as sent: another copy of a
            // personal-data field would reach them unchecked and in the clear.
            errors.push(
                format!("event_payload.base64_encoded_payload_json{path}"),
                "is named more than once in one object; each member name may appear once",
            );
        }
        Some(EventPayload {
            operation: operation?,
            entity_id,
            key_attributes,
            base64_encoded_payload_json: self.base64_encoded_payload_json,
            base64_encoded_fault_json: self.base64_encoded_fault_json,
        })
    }
}

/// Decodes a base64 field (standard or URL-safe alphabet, padding optional) that
/// must hold JSON. The error message says which of the two steps failed.
/// Numbers come out as `f64`/`u64`/`i64`: for reading the payload, not passing it on.
pub fn decode_json(encoded: &str) -> Result<serde_json::Value, String> {
    decode_as(encoded)
}

/// The JSON a base64 field holds, as its text: what subscribers are sent, so
/// that its numbers keep every digit.
pub fn decode_json_text(encoded: &str) -> Result<Box<RawValue>, String> {
    decode_as(encoded)
}

fn decode_as<T: serde::de::DeserializeOwned>(encoded: &str) -> Result<T, String> {
    serde_json::from_slice(&decode_base64(encoded)?).map_err(|e| format!("does not decode to JSON ({e})"))
}

fn decode_base64(encoded: &str) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(encoded)
        .or_else(|_| URL_SAFE.decode(encoded))
        .map_err(|e| format!("is not valid base64 ({e})"))
}

/// Where the JSON a base64 field holds first names an object's member a second
/// time, at any depth (`.customer.phone`, `[2].sku`); `None` when no name
/// repeats, or it is not base64 of JSON.
fn repeated_member(encoded: &str) -> Option<String> {
    let bytes = decode_base64(encoded).ok()?;
    let mut json = serde_json::Deserializer::from_slice(&bytes);
    Walk(&Path::Root).deserialize(&mut json).ok().flatten()
}

/// Where a value is in a JSON document, rendered only when a name repeats.
enum Path<'a> {
    Root,
    Member(&'a Path<'a>, &'a str),
    Item(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Root => Ok(()),
            Self::Member(parent, name) => write!(f, "{parent}.{name}"),
            Self::Item(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// Reads a JSON value for the first repeated member name in it; a
/// `serde_json::Value` or `RawObject` cannot say, as one keeps the last copy
/// and the other does not look inside its values.
struct Walk<'a>(&'a Path<'a>);

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        for index in 0.. {
            match items.next_element_seed(Walk(&Path::Item(self.0, index)))? {
                Some(inner) => found = found.or(inner),
                None => break,
            }
        }
        Ok(found)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Self::Value, A::Error> {
        let mut seen = HashSet::new();
        let mut found = None;
        while let Some(name) = members.next_key::<String>()? {
            let repeated = !seen.insert(name.clone());
            let path = Path::Member(self.0, &name);
            if repeated && found.is_none() {
                found = Some(path.to_string());
            }
            let inner = members.next_value_seed(Walk(&path))?;
            found = found.or(inner);
        }
        Ok(found)
    }
}

/// A client value that becomes part of a DynamoDB key (an entity id, a
/// shopper or product id): short enough for any key it is put in.
pub fn key_value(field: &str, value: &str) -> Result<(), FieldError> {
    entity_id(field, value)
}

/// An id a new event may carry: also without characters that hide themselves
/// (bidirectional controls, zero-width ones), which make one id read as another.
pub(crate) fn entity_id(field: &str, value: &str) -> Result<(), FieldError> {
    entity_id_to_find(field, value)?;
    if value.chars().any(is_invisible) {
        return Err(FieldError::new(
            field,
            "must not contain bidirectional controls or zero-width characters",
        ));
    }
    Ok(())
}

/// An id to look events up by: what ids were held to before invisible
/// characters were refused, so events stored earlier stay findable.
pub(crate) fn entity_id_to_find(field: &str, value: &str) -> Result<(), FieldError> {
    if value.trim().is_empty() || value.len() > MAX_ENTITY_ID_LEN || value.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            format!("must be 1-{MAX_ENTITY_ID_LEN} characters without control characters"),
        ));
    }
    Ok(())
}

/// Entity names are case-insensitive on input and stored upper case.
pub(crate) fn entity_name(field: &str, raw: &str) -> Result<String, FieldError> {
    let name = raw.to_ascii_uppercase();
    let valid = name.len() <= MAX_ENTITY_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(name)
    } else {
        Err(FieldError::new(
            field,
            "must be a documented entity name (CUSTOMER, ORDER, PRODUCT, ...) or match ^[A-Z][A-Z0-9_]{0,63}$",
        ))
    }
}

fn check_key_attributes(attributes: &BTreeMap<String, String>) -> Result<(), FieldError> {
    if attributes.len() > MAX_KEY_ATTRIBUTES {
        return Err(FieldError::new(
            "event_payload.key_attributes",
            format!("at most {MAX_KEY_ATTRIBUTES} attributes"),
        ));
    }
    let too_long = |text: &String| text.len() > MAX_KEY_ATTRIBUTE_LEN;
    match attributes
        .iter()
        .find(|(k, v)| k.is_empty() || too_long(k) || too_long(v))
    {
        Some((key, _)) => Err(FieldError::new(
            format!("event_payload.key_attributes.{key}"),
            format!("keys must be non-empty; keys and values at most {MAX_KEY_ATTRIBUTE_LEN} bytes"),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(body: serde_json::Value) -> Result<Event, ApiError> {
        let request: EventRequest = serde_json::from_value(body).expect("request shape");
        request.into_event(Utc::now())
    }

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Invalid { errors, .. } => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    fn valid_body() -> serde_json::Value {
        json!({
            "entity_id": "ORD-1",
            "entity_name": "order",
            "event_source": "APPLICATION",
            "event_type": "ENTITY",
            "event_payload": {
                "operation": "CREATE",
                "key_attributes": {"correlation_id": "c-1"},
                "base64_encoded_payload_json": "eyJ0b3RhbCI6IDQyfQ=="
            }
        })
    }

    #[test]
    fn normalises_names_and_generates_an_id() {
        let event = parse(valid_body()).expect("valid");
        assert_eq!(event.entity_name, "ORDER");
        assert_eq!(event.event_type, EventType::EntityEvent);
        assert!(event.id.starts_with("evt_"));
    }

    #[test]
    fn lists_every_missing_field() {
        let err = parse(json!({"event_payload": {}})).expect_err("invalid");
        assert_eq!(
            fields(err),
            [
                "entity_id",
                "entity_name",
                "event_source",
                "event_type",
                "event_payload.operation"
            ]
        );
    }

    #[test]
    fn rejects_payloads_that_are_not_base64_json() {
        let mut body = valid_body();
        body["event_payload"]["base64_encoded_payload_json"] = json!("not base64!");
        body["event_payload"]["base64_encoded_fault_json"] = json!("bm90IGpzb24="); // "not json"
        assert_eq!(
            fields(parse(body).expect_err("invalid")),
            [
                "event_payload.base64_encoded_payload_json",
                "event_payload.base64_encoded_fault_json"
            ]
        );
    }

    #[test]
    fn a_member_named_twice_is_refused_naming_it() {
        // GIVEN payloads naming a member twice: at the top (the last copy null, so a
        // definition would see none), and inside an array's object
        let refused = |payload: &str| {
            let mut body = valid_body();
            body["event_payload"]["base64_encoded_payload_json"] = json!(STANDARD.encode(payload));
            fields(parse(body).expect_err("refused"))
        };
        // THEN each is a 400 naming where the name repeats
        assert_eq!(
            refused(r#"{"phone":"+44 20 7946 0000","amount":1,"phone":null}"#),
            ["event_payload.base64_encoded_payload_json.phone"]
        );
        assert_eq!(
            refused(r#"{"lines":[{"sku":"A"},{"sku":"B","qty":1,"qty":2}],"lines2":{"a":1,"a":2}}"#),
            ["event_payload.base64_encoded_payload_json.lines[1].qty"]
        );
        assert_eq!(
            refused(r#"[{"a":{"b":1,"b":1}}]"#),
            ["event_payload.base64_encoded_payload_json[0].a.b"]
        );
        // AND the same name in different objects, or a repeated fault member, is fine
        let mut body = valid_body();
        let distinct = r#"{"phone":"1","customer":{"phone":"2"},"lines":[{"phone":"3"},{"phone":"4"}]}"#;
        body["event_payload"]["base64_encoded_payload_json"] = json!(STANDARD.encode(distinct));
        body["event_payload"]["base64_encoded_fault_json"] = json!(STANDARD.encode(r#"{"a":1,"a":2}"#));
        let event = parse(body).expect("valid");
        assert_eq!(
            decode_json_text(
                event
                    .event_payload
                    .base64_encoded_payload_json
                    .as_deref()
                    .unwrap_or_default()
            )
            .map(|raw| raw.get().to_owned()),
            Ok(distinct.to_owned()),
            "kept as sent"
        );
    }

    #[test]
    fn accepts_url_safe_and_unpadded_base64() {
        assert_eq!(decode_json("eyJhIjoxfQ").ok(), Some(json!({"a": 1})));
        assert_eq!(decode_json("WyI-PiJd").ok(), Some(json!([">>"])));
    }

    #[test]
    fn the_payload_text_keeps_every_digit() {
        // GIVEN a payload whose numbers no f64 holds
        let sent = r#"{"id":123456789012345678901234,"amt":0.12345678901234567890}"#;
        let encoded = base64::engine::general_purpose::STANDARD.encode(sent);
        // WHEN it is decoded as text, THEN it reads as sent
        assert_eq!(
            decode_json_text(&encoded).map(|raw| raw.get().to_owned()),
            Ok(sent.to_owned())
        );
        assert!(decode_json_text("bm90IGpzb24=").is_err(), "not JSON");
    }

    #[test]
    fn rejects_bad_entity_names_and_ids() {
        let mut body = valid_body();
        body["entity_name"] = json!("9lives");
        body["id"] = json!("a/b");
        assert_eq!(fields(parse(body).expect_err("invalid")), ["id", "entity_name"]);
    }

    #[test]
    fn entity_ids_may_not_hide_characters_but_old_ones_stay_findable() {
        // GIVEN ids that read as "order-1" but are not
        for id in [
            "order\u{202E}1-",
            "order-\u{200B}1",
            "\u{2066}order-1\u{2069}",
            "order-1\u{FEFF}",
        ] {
            let mut body = valid_body();
            body["entity_id"] = json!(id);
            // THEN a new event with one is refused naming the field
            assert_eq!(fields(parse(body).expect_err(id)), ["entity_id"], "{id:?}");
            // AND a lookup by one is still answered (events stored before the rule)
            assert!(entity_id_to_find("entity_id", id).is_ok(), "{id:?}");
        }
    }

    #[test]
    fn customer_event_ids_are_reserved() {
        let mut body = valid_body();
        body["id"] = json!("cus_0123");
        assert_eq!(fields(parse(body).expect_err("reserved")), ["id"]);
    }

    #[test]
    fn same_content_ignores_the_server_timestamp() {
        let a = parse(valid_body()).expect("valid");
        let mut b = a.clone();
        b.created_at = DateTime::UNIX_EPOCH;
        assert!(a.same_content(&b));
        b.event_payload.key_attributes.clear();
        assert!(!a.same_content(&b));
    }
}
