//! The message every destination receives for an event (after seed 002), carrying
//! the event id for consumer dedupe: as it is for SQS and SNS, and in seed 004's
//! form for EventBridge (`bus_detail`, applied when the entry is put).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::error::FieldError;
use crate::events::{Event, EventSource, EventType, Operation, TRACEPARENT, decode_json_text, masked_members};
use crate::util::raw_json::{RawObject, is_null};

/// EventBridge `Source` of every entry unless the stack sets another
/// (`EVENT_BUS_SOURCE`).
pub const EVENT_SOURCE: &str = "event-collector";

/// What SNS and EventBridge accept per message/entry (SQS takes more).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// The most an event's envelope may take: what every destination accepts, less
/// room for the message attributes and, on the retry and dead-letter queues, the
/// parked delivery's metadata.
pub const MAX_ENVELOPE_BYTES: usize = MAX_MESSAGE_BYTES - 8 * 1024;

/// The longest subscription id an envelope can carry (client-chosen ids are at
/// most 128 characters).
const LONGEST_SUBSCRIPTION_ID: &str = concat!(
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
);

/// Checks, before an event is stored, that its envelope fits every destination
/// for any subscription: the payload goes in as sent, but masking can lengthen
/// short values. `field` is what the error names.
pub fn check_deliverable(tenant: &str, event: &Event, field: &str) -> Result<(), FieldError> {
    let envelope = Envelope::revealing(tenant, event, Some(LONGEST_SUBSCRIPTION_ID));
    // A masked value is `"****"`; the shortest it replaces is one byte.
    let masking = event.definition.as_ref().map_or(0, |d| d.psi_fields.len()) * (MASKED.len() + 2);
    let size = serde_json::to_vec(&envelope).map_or(usize::MAX, |body| body.len()) + masking;
    if size > MAX_ENVELOPE_BYTES {
        return Err(FieldError::new(
            field,
            format!(
                "the event's message to subscribers would be {size} bytes; SQS, SNS and EventBridge take at most \
                 {MAX_ENVELOPE_BYTES} here (payloads are delivered as sent, decoded from base64)"
            ),
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<'a> {
    /// `<entity_name>.<operation>`, e.g. `ORDER.CREATE`.
    pub event_name: String,
    pub event_id: &'a str,
    pub tenant: &'a str,
    pub entity_name: &'a str,
    pub entity_id: &'a str,
    pub operation: Operation,
    pub event_source: EventSource,
    pub event_type: EventType,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub key_attributes: &'a BTreeMap<String, String>,
    /// The decoded `base64_encoded_payload_json`, or null: its text as sent, so
    /// numbers keep every digit (no `f64` rounding).
    pub data: Box<RawValue>,
    /// The decoded `base64_encoded_fault_json`, or null, as sent.
    pub fault: Box<RawValue>,
    /// The subscription it was delivered for; null on the EventBridge bus entry.
    pub subscription_id: Option<&'a str>,
    /// The replay that sent it again (absent on a first delivery).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_id: Option<&'a str>,
    /// The W3C trace the event was stored in (events stored before traces
    /// were kept have none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<&'a str>,
}

/// What a masked sensitive (PSI) value reads in a message: as a masked secret does.
pub const MASKED: &str = crate::secrets::MASK;

impl<'a> Envelope<'a> {
    /// The envelope of a stored event, its sensitive fields masked. Its base64
    /// fields were validated at ingest; one that no longer decodes is delivered
    /// as null, not dropped.
    pub fn new(tenant: &'a str, event: &'a Event, subscription_id: Option<&'a str>) -> Self {
        let mut envelope = Self::revealing(tenant, event, subscription_id);
        mask(&mut envelope.data, event.definition.iter().flat_map(|d| &d.psi_fields));
        envelope
    }

    /// The envelope with sensitive fields as stored: only for subscriptions
    /// that opted in (`includePsi`).
    pub fn revealing(tenant: &'a str, event: &'a Event, subscription_id: Option<&'a str>) -> Self {
        let decode = |field: &Option<String>| {
            field
                .as_deref()
                .and_then(|b| decode_json_text(b).ok())
                .unwrap_or_else(|| RawValue::NULL.to_owned())
        };
        let operation = event.event_payload.operation;
        Self {
            event_name: format!("{}.{}", event.entity_name, operation_name(operation)),
            event_id: &event.id,
            tenant,
            entity_name: &event.entity_name,
            entity_id: &event.entity_id,
            operation,
            event_source: event.event_source,
            event_type: event.event_type,
            created_at: event.created_at.timestamp_millis(),
            key_attributes: &event.event_payload.key_attributes,
            data: decode(&event.event_payload.base64_encoded_payload_json),
            fault: decode(&event.event_payload.base64_encoded_fault_json),
            subscription_id,
            replay_id: None,
            traceparent: event.traceparent.as_deref(),
        }
    }

    /// The envelope as replay `replay_id` sends it again.
    #[must_use]
    pub fn replayed(self, replay_id: &'a str) -> Self {
        Self {
            replay_id: Some(replay_id),
            ..self
        }
    }

    /// `<entity_name>/<operation>` in lower case: an EventBridge entry's
    /// `DetailType` after the stack's source and a `/`.
    pub fn detail_type(&self) -> String {
        detail_type(self.entity_name, operation_name(self.operation))
    }

    /// SQS/SNS message attributes, so SNS filter policies can select messages
    /// (and a replayed message names its replay).
    pub fn attributes(&self) -> Vec<(String, String)> {
        let mut attributes = attributes(
            &self.event_name,
            self.entity_name,
            operation_name(self.operation),
            self.tenant,
        );
        if let Some(replay_id) = self.replay_id {
            attributes.push(("replayId".into(), replay_id.to_owned()));
        }
        if let Some(traceparent) = self.traceparent {
            attributes.push((TRACEPARENT.into(), traceparent.to_owned()));
        }
        attributes
    }
}

/// Replaces the (non-null) values of `fields` in the payload `data` as answers
/// mask them; the rest of it stays as sent (untouched when nothing is masked).
fn mask<'a>(data: &mut Box<RawValue>, fields: impl IntoIterator<Item = &'a String>) {
    if let Some(masked) = masked_members(data, fields) {
        *data = masked;
    }
}

/// A serialised envelope with `fields` of its `data` masked (a retried message
/// whose subscription no longer includes sensitive fields). Unchanged if it is
/// not an envelope or nothing is to be masked.
pub fn masked_body(body: &str, fields: &[String]) -> String {
    if fields.is_empty() {
        return body.to_owned();
    }
    let Some(mut envelope) = RawObject::parse(body) else {
        return body.to_owned();
    };
    let Some(data) = envelope.get_mut("data") else {
        return body.to_owned();
    };
    mask(data, fields);
    envelope.to_raw().get().to_owned()
}

pub(super) fn detail_type(entity_name: &str, operation: &str) -> String {
    format!("{entity_name}/{operation}").to_ascii_lowercase()
}

/// The EventBridge form of an envelope (seed 004's): `{id, timestamp (epoch ms),
/// payload}`, `fault` beside the payload when there is one, and the fields rules
/// route on. `None` when `body` is not an envelope (it is then put as it is).
/// The payload and fault go in as they are in `body`: as sent.
pub fn bus_detail(body: &str) -> Option<String> {
    let mut envelope = RawObject::parse(body)?;
    let mut take = |field: &str| envelope.remove(field).unwrap_or_else(|| RawValue::NULL.to_owned());
    let (id, timestamp) = (take("eventId"), take("createdAt"));
    let is_number = |v: &RawValue| serde_json::from_str::<serde_json::Number>(v.get()).is_ok();
    if !id.get().starts_with('"') || !is_number(&timestamp) {
        return None;
    }
    let mut detail = RawObject::default();
    detail.set("id", id);
    detail.set("timestamp", timestamp);
    detail.set("payload", take("data"));
    let fault = take("fault");
    if !is_null(&fault) {
        detail.set("fault", fault);
    }
    for field in [
        "tenant",
        "entityName",
        "entityId",
        "operation",
        "eventType",
        "keyAttributes",
        "subscriptionId",
    ] {
        detail.set(field, take(field));
    }
    Some(detail.to_raw().get().to_owned())
}

pub(super) fn attributes(event_name: &str, entity_name: &str, operation: &str, tenant: &str) -> Vec<(String, String)> {
    vec![
        ("eventName".into(), event_name.to_owned()),
        ("entityName".into(), entity_name.to_owned()),
        ("operation".into(), operation.to_owned()),
        ("tenant".into(), tenant.to_owned()),
    ]
}

fn operation_name(operation: Operation) -> &'static str {
    match operation {
        Operation::Create => "CREATE",
        Operation::Update => "UPDATE",
        Operation::Delete => "DELETE",
        Operation::Read => "READ",
        Operation::BulkCreate => "BULK_CREATE",
        Operation::BulkUpdate => "BULK_UPDATE",
        Operation::BulkDelete => "BULK_DELETE",
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use chrono::{DateTime, Utc};
    use serde_json::{Value, json};

    use super::*;
    use crate::events::{DefinitionStamp, EventPayload, EventRequest};
    use crate::http::MAX_BODY_BYTES;

    fn event(payload: Option<String>, fault: Option<String>) -> Event {
        Event {
            id: "evt-1".into(),
            entity_id: "ORD-1".into(),
            entity_name: "ORDER_ENTRY".into(),
            event_source: EventSource::Application,
            event_type: EventType::FaultEvent,
            event_payload: EventPayload {
                operation: Operation::BulkUpdate,
                entity_id: None,
                key_attributes: BTreeMap::from([("correlation_id".into(), "c-1".into())]),
                base64_encoded_payload_json: payload,
                base64_encoded_fault_json: fault,
            },
            created_at: DateTime::parse_from_rfc3339("2026-11-26T06:30:05.123Z")
                .expect("time")
                .with_timezone(&Utc),
            definition: None,
            traceparent: None,
        }
    }

    #[test]
    fn sensitive_fields_are_masked_unless_revealed() {
        let mut e = event(
            Some(STANDARD.encode(r#"{"phone": "+15550100", "email": null, "total": 42}"#)),
            None,
        );
        e.definition = Some(DefinitionStamp {
            version: 2,
            psi_fields: vec!["phone".into(), "email".into(), "absent".into()],
        });
        let masked = Envelope::new("acme", &e, Some("sub-1"));
        assert_eq!(
            parsed(&masked.data),
            json!({"phone": MASKED, "email": null, "total": 42})
        );
        let revealed = Envelope::revealing("acme", &e, Some("sub-1"));
        assert_eq!(parsed(&revealed.data)["phone"], "+15550100");
        let remasked = masked_body(&serde_json::to_string(&revealed).expect("json"), &["phone".to_owned()]);
        let remasked: Value = serde_json::from_str(&remasked).expect("json");
        assert_eq!(remasked["data"], parsed(&masked.data));
    }

    fn parsed(raw: &RawValue) -> Value {
        serde_json::from_str(raw.get()).expect("JSON")
    }

    /// Numbers no f64 holds: a 24-digit id and a 20-decimal amount.
    const EXACT: &str = r#"{"id":123456789012345678901234,"amt":0.12345678901234567890,"phone":"+15550100"}"#;

    #[test]
    fn payload_numbers_reach_every_destination_as_sent() {
        // GIVEN an event whose payload and fault carry numbers no f64 holds, one field sensitive
        let mut e = event(Some(STANDARD.encode(EXACT)), Some(STANDARD.encode(r#"{"code":1.50}"#)));
        e.definition = Some(DefinitionStamp {
            version: 1,
            psi_fields: vec!["phone".into()],
        });
        // WHEN it is put in an envelope, revealed or masked, re-masked on retry and put on a bus
        let revealed = serde_json::to_string(&Envelope::revealing("acme", &e, Some("sub-1"))).expect("json");
        let masked = serde_json::to_string(&Envelope::new("acme", &e, Some("sub-1"))).expect("json");
        let remasked = masked_body(&revealed, &["phone".to_owned()]);
        let detail = bus_detail(&masked).expect("an envelope");
        // THEN every message has the digits as sent
        assert!(
            revealed.contains(&format!(r#""data":{EXACT},"fault":{{"code":1.50}}"#)),
            "{revealed}"
        );
        let masked_data =
            format!(r#"{{"id":123456789012345678901234,"amt":0.12345678901234567890,"phone":"{MASKED}"}}"#);
        for message in [&masked, &remasked, &detail] {
            assert!(message.contains(&masked_data), "{message}");
            assert!(message.contains(r#"{"code":1.50}"#), "{message}");
        }
    }

    #[test]
    fn carries_the_seed_002_fields() {
        let e = event(Some(STANDARD.encode(r#"{"total": 42}"#)), None);
        let envelope = Envelope::new("acme", &e, Some("sub-1"));
        assert_eq!(
            serde_json::to_value(&envelope).expect("json"),
            json!({
                "eventName": "ORDER_ENTRY.BULK_UPDATE",
                "eventId": "evt-1",
                "tenant": "acme",
                "entityName": "ORDER_ENTRY",
                "entityId": "ORD-1",
                "operation": "BULK_UPDATE",
                "eventSource": "APPLICATION",
                "eventType": "FAULT_EVENT",
                "createdAt": 1_795_674_605_123_i64,
                "keyAttributes": {"correlation_id": "c-1"},
                "data": {"total": 42},
                "fault": null,
                "subscriptionId": "sub-1"
            })
        );
        assert_eq!(envelope.detail_type(), "order_entry/bulk_update");
        assert_eq!(
            envelope.attributes()[0],
            ("eventName".to_owned(), "ORDER_ENTRY.BULK_UPDATE".to_owned())
        );
    }

    #[test]
    fn any_event_the_api_accepts_fits_one_message() {
        // The largest body: payload and fault sharing the limit, as base64 of JSON strings.
        let half = (MAX_BODY_BYTES / 2 - 512) / 4 * 3;
        let blob = STANDARD.encode(format!("\"{}\"", "x".repeat(half - 2)));
        let body = json!({
            "id": "evt-max", "entity_id": "E", "entity_name": "ORDER", "event_source": "SYSTEM",
            "event_type": "FAULT", "event_payload": {
                "operation": "CREATE",
                "base64_encoded_payload_json": blob,
                "base64_encoded_fault_json": blob,
            }
        });
        assert!(
            body.to_string().len() <= MAX_BODY_BYTES,
            "the test event is itself acceptable"
        );
        let request: EventRequest = serde_json::from_value(body).expect("request");
        let accepted = request.into_event(Utc::now()).expect("valid");
        let message = serde_json::to_vec(&Envelope::new("a-long-tenant-name", &accepted, Some("sub-1"))).expect("json");
        assert!(message.len() < MAX_MESSAGE_BYTES, "{} bytes", message.len());
    }

    #[test]
    fn a_bus_gets_seed_004s_detail_with_the_fault_beside_the_payload() {
        let envelope = serde_json::json!({
            "eventName": "ORDER.CREATE", "eventId": "e-1", "tenant": "acme", "entityName": "ORDER",
            "entityId": "O-1", "operation": "CREATE", "eventSource": "APPLICATION", "eventType": "FAULT_EVENT",
            "createdAt": 5, "keyAttributes": {}, "data": {"a": 1}, "fault": {"code": 7}, "subscriptionId": null
        });
        let detail: Value =
            serde_json::from_str(&bus_detail(&envelope.to_string()).expect("an envelope")).expect("JSON");
        assert_eq!(
            detail,
            serde_json::json!({"id": "e-1", "timestamp": 5, "payload": {"a": 1}, "fault": {"code": 7},
                "tenant": "acme", "entityName": "ORDER", "entityId": "O-1", "operation": "CREATE",
                "eventType": "FAULT_EVENT", "keyAttributes": {}, "subscriptionId": null})
        );
        assert_eq!(bus_detail(r#"{"other": true}"#), None, "not an envelope: put as it is");
    }
}
