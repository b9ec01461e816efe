//! `POST /api/v1/events` body: parsed leniently into options, then validated so
//! that one response lists every problem with its field name.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chrono::{DateTime, SubsecRound, Utc};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::model::{Event, EventPayload, EventSource, EventType, Operation};
use crate::error::{ApiError, FieldError};
use crate::ids;

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
        let mut errors = Vec::new();
        let id = match self.id {
            Some(id) => {
                note(&mut errors, ids::validate_client_id("id", &id));
                id
            }
            None => ids::generate("evt"),
        };
        let entity_id = required(&mut errors, "entity_id", self.entity_id)
            .map(|v| check_entity_id(&mut errors, "entity_id", v));
        let entity_name = required(&mut errors, "entity_name", self.entity_name).and_then(|v| {
            entity_name("entity_name", &v)
                .map_err(|e| errors.push(e))
                .ok()
        });
        let event_source = required(&mut errors, "event_source", self.event_source);
        let event_type = required(&mut errors, "event_type", self.event_type);
        let event_payload = required(&mut errors, "event_payload", self.event_payload)
            .and_then(|p| p.validate(&mut errors));

        match (
            entity_id,
            entity_name,
            event_source,
            event_type,
            event_payload,
        ) {
            (
                Some(entity_id),
                Some(entity_name),
                Some(event_source),
                Some(event_type),
                Some(event_payload),
            ) if errors.is_empty() => Ok(Event {
                id,
                entity_id,
                entity_name,
                event_source,
                event_type,
                event_payload,
                created_at: now.trunc_subsecs(3),
            }),
            _ => Err(ApiError::invalid(errors)),
        }
    }
}

impl PayloadRequest {
    fn validate(self, errors: &mut Vec<FieldError>) -> Option<EventPayload> {
        let operation = required(errors, "event_payload.operation", self.operation);
        let entity_id = self
            .entity_id
            .map(|v| check_entity_id(errors, "event_payload.entity_id", v));
        let key_attributes = self.key_attributes.unwrap_or_default();
        check_key_attributes(errors, &key_attributes);
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
                note(
                    errors,
                    decode_json(encoded)
                        .map(drop)
                        .map_err(|m| ApiError::invalid_field(field, m)),
                );
            }
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
pub fn decode_json(encoded: &str) -> Result<serde_json::Value, String> {
    let bytes = STANDARD
        .decode(encoded)
        .or_else(|_| URL_SAFE.decode(encoded))
        .map_err(|e| format!("is not valid base64 ({e})"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("does not decode to JSON ({e})"))
}

fn required<T>(errors: &mut Vec<FieldError>, field: &str, value: Option<T>) -> Option<T> {
    if value.is_none() {
        errors.push(FieldError::new(field, "is required"));
    }
    value
}

fn note(errors: &mut Vec<FieldError>, result: Result<(), ApiError>) {
    if let Err(ApiError::Invalid { errors: found, .. }) = result {
        errors.extend(found);
    }
}

fn check_entity_id(errors: &mut Vec<FieldError>, field: &str, value: String) -> String {
    if let Err(e) = entity_id(field, &value) {
        errors.push(e);
    }
    value
}

pub(crate) fn entity_id(field: &str, value: &str) -> Result<(), FieldError> {
    if value.trim().is_empty()
        || value.len() > MAX_ENTITY_ID_LEN
        || value.chars().any(char::is_control)
    {
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

fn check_key_attributes(errors: &mut Vec<FieldError>, attributes: &BTreeMap<String, String>) {
    if attributes.len() > MAX_KEY_ATTRIBUTES {
        errors.push(FieldError::new(
            "event_payload.key_attributes",
            format!("at most {MAX_KEY_ATTRIBUTES} attributes"),
        ));
    }
    for (key, value) in attributes {
        if key.is_empty()
            || key.len() > MAX_KEY_ATTRIBUTE_LEN
            || value.len() > MAX_KEY_ATTRIBUTE_LEN
        {
            errors.push(FieldError::new(
                format!("event_payload.key_attributes.{key}"),
                format!(
                    "keys must be non-empty; keys and values at most {MAX_KEY_ATTRIBUTE_LEN} bytes"
                ),
            ));
        }
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
    fn accepts_url_safe_and_unpadded_base64() {
        assert_eq!(decode_json("eyJhIjoxfQ").ok(), Some(json!({"a": 1})));
        assert_eq!(decode_json("WyI-PiJd").ok(), Some(json!([">>"])));
    }

    #[test]
    fn rejects_bad_entity_names_and_ids() {
        let mut body = valid_body();
        body["entity_name"] = json!("9lives");
        body["id"] = json!("a/b");
        assert_eq!(
            fields(parse(body).expect_err("invalid")),
            ["id", "entity_name"]
        );
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
