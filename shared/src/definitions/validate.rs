//! Checking an event against its tenant's active definition of the event's
//! name, at ingest. Messages name fields and rules, never values: a value may
//! be sensitive.

use serde_json::{Map, Value};

use super::codes::ErrorCode;
use super::model::{EventDefinition, FieldSpec, FieldType};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::events::{Admission, DefinitionStamp, Event, NewCustomer, decode_json, entity_id};
use crate::storage::Versioned;

const PAYLOAD: &str = "event_payload.base64_encoded_payload_json";

/// `event` ready to store: unchanged without a definition; else validated,
/// stamped with the definition's version, with its unique key and customer.
pub fn admit(mut event: Event, definition: Option<&Versioned<EventDefinition>>) -> Result<Admission, ApiError> {
    let Some(Versioned {
        version,
        value: definition,
    }) = definition.filter(|d| d.value.active)
    else {
        return Ok(Admission::plain(event));
    };
    let named = format!("event definition {} (version {version})", definition.event_name);
    let payload = match event
        .event_payload
        .base64_encoded_payload_json
        .as_deref()
        .map(decode_json)
    {
        Some(Ok(Value::Object(payload))) => payload,
        // Undecodable payloads were refused before; anything else is not an object.
        _ => {
            let message = format!("must be a JSON object with the fields of {named}");
            return Err(FieldError::new(PAYLOAD, message)
                .with_code(ErrorCode::InvalidFieldValue.value())
                .into());
        }
    };
    let mut errors = FieldErrors::default();
    for field in &definition.fields {
        errors.check(check_field(field, &payload, &named));
    }
    errors.finish(Some(()))?;
    let value_of = |field: &FieldSpec| payload.get(&field.name).filter(|v| !v.is_null());
    let customer = definition.customer_field().and_then(value_of).and_then(Value::as_str);
    let unique_fields: Vec<&FieldSpec> = definition.fields.iter().filter(|f| f.is_unique_key_field).collect();
    // Seed 001: the customer identifier and the event name are always part of the key.
    let unique_key = (!unique_fields.is_empty()).then(|| {
        let mut parts = vec![
            Value::from(customer.unwrap_or_default()),
            Value::from(event.entity_name.as_str()),
        ];
        parts.extend(unique_fields.iter().map(|f| value_of(f).cloned().unwrap_or_default()));
        Value::Array(parts).to_string()
    });
    let new_customer = customer
        .filter(|_| definition.add_customer_if_not_exists)
        .map(|identifier| NewCustomer {
            identifier_type: definition.identifier_type.value.name().to_owned(),
            identifier: identifier.to_owned(),
        });
    event.definition = Some(DefinitionStamp {
        version: *version,
        psi_fields: definition.psi_fields(),
    });
    Ok(Admission {
        event,
        unique_key,
        customer: new_customer,
    })
}

/// Present when required; of its declared type when present.
fn check_field(field: &FieldSpec, payload: &Map<String, Value>, named: &str) -> Result<(), FieldError> {
    let error = |message: String| {
        FieldError::new(format!("{PAYLOAD}.{}", field.name), message).with_code(ErrorCode::InvalidFieldValue.value())
    };
    match payload.get(&field.name) {
        None | Some(Value::Null) if field.is_required => Err(error(format!("is required by {named}"))),
        None | Some(Value::Null) => Ok(()),
        Some(Value::Number(_)) if field.field_type == FieldType::Double => Ok(()),
        Some(_) if field.field_type == FieldType::Double => Err(error("must be a number (type double)".into())),
        // The identifier becomes the CUSTOMER event's entity_id: the same rules.
        Some(Value::String(text)) if field.field_type == FieldType::Customer => entity_id(&field.name, text)
            .map_err(|_| error("must be 1-256 bytes without control characters (type customer)".into())),
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(()),
        Some(_) => Err(error(format!(
            "must be a non-empty string (type {})",
            FieldType::NAMES[field.field_type as usize]
        ))),
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use crate::definitions::{DefinitionRequest, IdentifierKind};
    use crate::events::EventRequest;

    fn definition(add_customer: bool) -> Versioned<EventDefinition> {
        let request: DefinitionRequest = serde_json::from_value(json!({
            "eventName": "purchaseEvent",
            "actions": "EMFConsumer",
            "fields": [
                {"name": "email", "type": "customer"},
                {"name": "billNumber", "type": "tillCode", "isRequired": true, "isUniqueKeyField": true},
                {"name": "amount", "type": "double", "isRequired": true},
                {"name": "phone", "type": "string", "isPsiData": true}
            ],
            "addCustomerIfNotExists": add_customer,
            "identifierType": "email"
        }))
        .expect("shape");
        Versioned {
            version: 3,
            value: request.into_draft().expect("valid").into_definition(Utc::now(), None),
        }
    }

    fn event(payload: Value) -> Event {
        let request: EventRequest = serde_json::from_value(json!({
            "entity_id": "B-1", "entity_name": "PURCHASEEVENT", "event_source": "APPLICATION",
            "event_type": "ENTITY", "event_payload": {
                "operation": "CREATE",
                "base64_encoded_payload_json": STANDARD.encode(payload.to_string())
            }
        }))
        .expect("shape");
        request.into_event(Utc::now()).expect("valid")
    }

    fn failures(result: Result<Admission, ApiError>) -> Vec<(String, Option<u16>)> {
        match result.expect_err("refused") {
            ApiError::Invalid { errors, .. } => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_event_is_stamped_keyed_and_names_its_customer() {
        let admitted = admit(
            event(json!({"email": "ana@example.com", "billNumber": "B-1", "amount": 42.5, "phone": "+1555"})),
            Some(&definition(true)),
        )
        .expect("valid");
        let stamp = admitted.event.definition.expect("stamped");
        assert_eq!((stamp.version, stamp.psi_fields), (3, vec!["phone".to_owned()]));
        assert_eq!(
            admitted.unique_key.as_deref(),
            Some(r#"["ana@example.com","PURCHASEEVENT","B-1"]"#)
        );
        let customer = admitted.customer.expect("a customer to add");
        assert_eq!(customer.identifier_type, IdentifierKind::Email.name());
        assert_eq!(customer.identifier, "ana@example.com");
    }

    #[test]
    fn required_fields_and_types_are_1802_and_never_echo_values() {
        let sent = json!({"email": "", "billNumber": 7, "amount": "12.5", "phone": "+15550100"});
        let result = admit(event(sent.clone()), Some(&definition(false)));
        let refused = format!("{:?}", admit(event(sent), Some(&definition(false))));
        assert!(!refused.contains("+15550100") && !refused.contains("12.5"));
        let expected = [
            format!("{PAYLOAD}.email"),
            format!("{PAYLOAD}.billNumber"),
            format!("{PAYLOAD}.amount"),
        ];
        assert_eq!(
            failures(result),
            expected.iter().map(|f| (f.clone(), Some(1802))).collect::<Vec<_>>()
        );
        let missing = failures(admit(event(json!({"email": "a"})), Some(&definition(false))));
        assert_eq!(missing.len(), 2, "billNumber and amount: {missing:?}");
    }

    #[test]
    fn no_customer_is_added_unless_asked_and_inactive_definitions_do_not_apply() {
        let body = json!({"email": "a@b.c", "billNumber": "B-1", "amount": 1});
        assert_eq!(
            admit(event(body.clone()), Some(&definition(false)))
                .expect("valid")
                .customer,
            None
        );
        let mut inactive = definition(true);
        inactive.value.active = false;
        let admitted = admit(event(json!([])), Some(&inactive)).expect("not validated");
        assert_eq!(admitted, Admission::plain(admitted.event.clone()));
    }

    #[test]
    fn a_customer_identifier_follows_the_entity_id_rules() {
        let mut body = json!({"billNumber": "B-1", "amount": 1});
        body["email"] = json!("x".repeat(300));
        assert_eq!(
            failures(admit(event(body), Some(&definition(true)))),
            [(format!("{PAYLOAD}.email"), Some(1802))]
        );
    }

    #[test]
    fn a_payload_that_is_not_an_object_is_refused() {
        assert_eq!(
            failures(admit(event(json!([1, 2])), Some(&definition(false)))),
            [(PAYLOAD.to_owned(), Some(1802))]
        );
    }
}
