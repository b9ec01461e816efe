//! The create/update body, parsed leniently so every problem is reported with
//! its field name and, where seed 001 defines one, its error code.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::codes::ErrorCode;
use super::model::{Action, EventDefinition, FieldSpec, FieldType, IdentifierKind, IdentifierType};
use crate::error::{ApiError, FieldError, FieldErrors};

const MAX_NAME_LEN: usize = 64;
const MAX_DESCRIPTION_LEN: usize = 1024;
const MAX_FIELDS: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DefinitionRequest {
    event_name: Option<Value>,
    actions: Option<Value>,
    description: Option<String>,
    fields: Option<Vec<FieldRequest>>,
    add_customer_if_not_exists: Option<bool>,
    identifier_type: Option<Value>,
    /// Defaults to true: a PUT makes the definition active again.
    active: Option<bool>,
    /// Update only: the version the client read; another current version is 409.
    version: Option<u64>,
    /// Server-set; accepted and ignored so a response can be sent back as is.
    #[serde(default, rename = "createdAt")]
    _created_at: Option<IgnoredAny>,
    #[serde(default, rename = "updatedAt")]
    _updated_at: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FieldRequest {
    name: Option<Value>,
    #[serde(rename = "type")]
    field_type: Option<Value>,
    is_required: Option<bool>,
    is_unique_key_field: Option<bool>,
    is_psi_data: Option<bool>,
}

/// A valid request, before the server-set parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionDraft {
    pub event_name: String,
    pub actions: Vec<Action>,
    pub description: Option<String>,
    pub fields: Vec<FieldSpec>,
    pub add_customer_if_not_exists: bool,
    pub identifier_type: IdentifierType,
    pub active: bool,
    pub version: Option<u64>,
}

impl DefinitionDraft {
    /// The definition to store; `previous` keeps its creation time.
    pub fn into_definition(self, now: DateTime<Utc>, previous: Option<&EventDefinition>) -> EventDefinition {
        EventDefinition {
            event_name: self.event_name,
            actions: self.actions,
            description: self.description,
            fields: self.fields,
            add_customer_if_not_exists: self.add_customer_if_not_exists,
            identifier_type: self.identifier_type,
            active: self.active,
            created_at: previous.map_or(now, |p| p.created_at),
            updated_at: now,
        }
    }
}

/// The key of a definition: its name, case folded, as events' `entity_name` is.
/// `None` for a name no definition can have.
pub fn definition_id(name: &str) -> Option<String> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| name.to_ascii_uppercase())
}

fn coded(field: impl Into<String>, message: impl Into<String>, code: ErrorCode) -> FieldError {
    FieldError::new(field, message).with_code(code.value())
}

/// One enum value given as a JSON string, or the error naming the accepted ones.
fn one_of<T: serde::de::DeserializeOwned>(value: &Value, names: &[&str]) -> Result<T, String> {
    value
        .as_str()
        .and_then(|s| serde_json::from_value(Value::String(s.to_owned())).ok())
        .ok_or_else(|| format!("must be one of {}", names.join(", ")))
}

impl DefinitionRequest {
    pub fn into_draft(self) -> Result<DefinitionDraft, ApiError> {
        let mut errors = FieldErrors::default();
        let event_name = match self.event_name.as_ref().and_then(Value::as_str) {
            Some(name) if definition_id(name).is_some() => Some(name.to_owned()),
            _ => {
                errors.push_error(coded(
                    "eventName",
                    format!("is required: 1-{MAX_NAME_LEN} of A-Z, a-z, 0-9 and '_', starting with a letter"),
                    ErrorCode::InvalidName,
                ));
                None
            }
        };
        let actions = errors.check(actions(self.actions));
        if self
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_LEN)
        {
            errors.push("description", format!("at most {MAX_DESCRIPTION_LEN} characters"));
        }
        let fields = fields(self.fields.unwrap_or_default(), &mut errors);
        let identifier_type = match self.identifier_type {
            None => Some(IdentifierType {
                value: IdentifierKind::UserId,
                value_type: None,
            }),
            Some(value) => errors.check(identifier_type(value)),
        };
        let draft = (|| {
            Some(DefinitionDraft {
                event_name: event_name?,
                actions: actions?,
                description: self.description,
                fields: fields?,
                add_customer_if_not_exists: self.add_customer_if_not_exists.unwrap_or(false),
                identifier_type: identifier_type?,
                active: self.active.unwrap_or(true),
                version: self.version,
            })
        })();
        errors.finish(draft)
    }
}

/// A non-empty list of known actions; a single string counts as a list of one.
fn actions(raw: Option<Value>) -> Result<Vec<Action>, FieldError> {
    let invalid = || {
        coded(
            "actions",
            format!("is required: a non-empty list of {}", Action::NAMES.join(", ")),
            ErrorCode::InvalidActions,
        )
    };
    let listed = match raw {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(one @ Value::String(_)) => vec![one],
        _ => return Err(invalid()),
    };
    let mut actions: Vec<Action> = listed
        .iter()
        .map(|item| one_of(item, &Action::NAMES).map_err(|_| invalid()))
        .collect::<Result<_, _>>()?;
    actions.dedup();
    Ok(actions)
}

/// `{"value": …, "valueType": …}`, or the value as a bare string.
fn identifier_type(raw: Value) -> Result<IdentifierType, FieldError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Object {
        value: Value,
        value_type: Option<String>,
    }
    let (value, value_type) = match raw {
        Value::Object(object) => {
            let Object { value, value_type } = serde_json::from_value(Value::Object(object)).map_err(|_| {
                FieldError::new(
                    "identifierType",
                    "must be {\"value\": <identifier type>, \"valueType\": <string>} or a bare identifier type",
                )
            })?;
            (value, value_type)
        }
        bare => (bare, None),
    };
    let field = "identifierType.value";
    let value = one_of(&value, &IdentifierKind::NAMES).map_err(|m| FieldError::new(field, m))?;
    Ok(IdentifierType { value, value_type })
}

/// Every field valid, names unique, exactly one customer identifier.
fn fields(requested: Vec<FieldRequest>, errors: &mut FieldErrors) -> Option<Vec<FieldSpec>> {
    if requested.len() > MAX_FIELDS {
        errors.push("fields", format!("at most {MAX_FIELDS} fields"));
        return None;
    }
    let mut specs = Vec::with_capacity(requested.len());
    for (i, field) in requested.into_iter().enumerate() {
        let at = |member: &str| format!("fields[{i}].{member}");
        let name = match field.name.as_ref().and_then(Value::as_str) {
            Some(name) if is_field_name(name) => Some(name.to_owned()),
            _ => {
                errors.push_error(coded(
                    at("name"),
                    format!("is required: 1-{MAX_NAME_LEN} of A-Z, a-z, 0-9 and '_', not starting with a digit"),
                    ErrorCode::InvalidFieldValue,
                ));
                None
            }
        };
        let field_type = match field
            .field_type
            .as_ref()
            .map(|t| one_of::<FieldType>(t, &FieldType::NAMES))
        {
            Some(Ok(field_type)) => Some(field_type),
            Some(Err(message)) => {
                errors.push_error(coded(at("type"), message, ErrorCode::InvalidFieldType));
                None
            }
            None => {
                errors.push_error(coded(at("type"), "is required", ErrorCode::InvalidFieldType));
                None
            }
        };
        let is_customer = field_type == Some(FieldType::Customer);
        // The customer identifier is always required (seed 001: "mandatory").
        let is_required = field.is_required.unwrap_or(false) || is_customer;
        let is_unique_key_field = field.is_unique_key_field.unwrap_or(false);
        let is_psi_data = field.is_psi_data.unwrap_or(false);
        if is_unique_key_field && !is_required {
            errors.push(at("isRequired"), "must be true for a unique-key field");
        }
        if is_psi_data && is_customer {
            errors.push(at("isPsiData"), "cannot be set on the customer identifier field");
        }
        if let (Some(name), Some(field_type)) = (name, field_type) {
            if specs.iter().any(|s: &FieldSpec| s.name == name) {
                errors.push_error(coded(
                    at("name"),
                    "is used by another field",
                    ErrorCode::InvalidFieldValue,
                ));
            }
            specs.push(FieldSpec {
                name,
                field_type,
                is_required,
                is_unique_key_field,
                is_psi_data,
            });
        }
    }
    let customers = specs.iter().filter(|s| s.field_type == FieldType::Customer).count();
    if customers != 1 {
        errors.push(
            "fields",
            format!("must have exactly one field of type customer (the customer identifier), not {customers}"),
        );
    }
    Some(specs)
}

fn is_field_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn draft(body: Value) -> Result<DefinitionDraft, ApiError> {
        serde_json::from_value::<DefinitionRequest>(body)
            .expect("request shape")
            .into_draft()
    }

    fn errors(body: Value) -> Vec<(String, Option<u16>)> {
        match draft(body).expect_err("invalid") {
            ApiError::Invalid { errors, .. } => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    fn valid() -> Value {
        json!({
            "eventName": "purchaseEvent",
            "actions": ["EMFConsumer"],
            "fields": [
                {"name": "email", "type": "customer"},
                {"name": "billNumber", "type": "string", "isRequired": true, "isUniqueKeyField": true},
                {"name": "phone", "type": "string", "isPsiData": true}
            ],
            "identifierType": {"value": "email"}
        })
    }

    #[test]
    fn a_valid_definition_keeps_its_name_and_requires_the_customer() {
        let draft = draft(valid()).expect("valid");
        assert_eq!(draft.event_name, "purchaseEvent");
        assert!(
            draft.fields[0].is_required,
            "the customer identifier is always required"
        );
        assert_eq!(draft.identifier_type.value, IdentifierKind::Email);
        assert!(draft.active);
    }

    #[test]
    fn names_and_actions_get_their_seed_codes() {
        let mut body = valid();
        body["eventName"] = json!("9 lives");
        body["actions"] = json!(["EMFConsumer", "Nope"]);
        assert_eq!(
            errors(body),
            [("eventName".into(), Some(1811)), ("actions".into(), Some(1810))]
        );
        let mut body = valid();
        body["actions"] = json!([]);
        assert_eq!(errors(body), [("actions".into(), Some(1810))]);
    }

    #[test]
    fn field_types_and_values_get_their_seed_codes() {
        let mut body = valid();
        body["fields"][1]["type"] = json!("tillCod");
        body["fields"][2]["name"] = json!(null);
        assert_eq!(
            errors(body),
            [
                ("fields[1].type".into(), Some(1823)),
                ("fields[2].name".into(), Some(1802))
            ]
        );
    }

    #[test]
    fn unique_keys_must_be_required_and_the_customer_is_never_psi() {
        let mut body = valid();
        body["fields"][0]["isPsiData"] = json!(true);
        body["fields"][1]["isRequired"] = json!(false);
        body["fields"]
            .as_array_mut()
            .expect("fields")
            .push(json!({"name": "email", "type": "customer"}));
        assert_eq!(
            errors(body),
            [
                ("fields[0].isPsiData".into(), None),
                ("fields[1].isRequired".into(), None),
                ("fields[3].name".into(), Some(1802)),
                ("fields".into(), None),
            ]
        );
    }
}
