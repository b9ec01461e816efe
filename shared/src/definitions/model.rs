//! An event definition as stored and returned, with seed 001's field names.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::util::rfc3339_millis;

/// Which of the seed platform's consumers the event is meant for. Stored and
/// returned for compatibility; here subscriptions decide where events go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    #[serde(rename = "EMFConsumer")]
    EmfConsumer,
    #[serde(rename = "EIConsumer")]
    EiConsumer,
}

impl Action {
    pub const NAMES: [&str; 2] = ["EMFConsumer", "EIConsumer"];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FieldType {
    TillCode,
    CouponCode,
    /// The customer identifier; every definition has exactly one.
    Customer,
    ProductSku,
    ProductBrand,
    ProductCategory,
    String,
    Double,
}

impl FieldType {
    pub const NAMES: [&str; 8] = [
        "tillCode",
        "couponCode",
        "customer",
        "productSku",
        "productBrand",
        "productCategory",
        "string",
        "double",
    ];
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    pub is_required: bool,
    pub is_unique_key_field: bool,
    /// Never logged; masked in what subscribers receive unless they opt in.
    pub is_psi_data: bool,
}

/// How customers are identified (seed 001's list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum IdentifierKind {
    UserId,
    Mobile,
    Email,
    ExternalId,
    Wechat,
    MartjackId,
    Cuid,
    Fbid,
    UnionId,
    FcmToken,
    Line,
    #[serde(rename = "cardnumber")]
    CardNumber,
    CardExternalId,
}

impl IdentifierKind {
    pub const NAMES: [&str; 13] = [
        "userId",
        "mobile",
        "email",
        "externalId",
        "wechat",
        "martjackId",
        "cuid",
        "fbid",
        "unionId",
        "fcmToken",
        "line",
        "cardnumber",
        "cardExternalId",
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// `{"value": "email", "valueType": …}` as seed 001 writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentifierType {
    pub value: IdentifierKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDefinition {
    /// As the client wrote it; unique per tenant regardless of case.
    pub event_name: String,
    pub actions: Vec<Action>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub fields: Vec<FieldSpec>,
    pub add_customer_if_not_exists: bool,
    pub identifier_type: IdentifierType,
    pub active: bool,
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339_millis")]
    pub updated_at: DateTime<Utc>,
}

impl EventDefinition {
    /// The field holding the customer identifier.
    pub fn customer_field(&self) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.field_type == FieldType::Customer)
    }

    /// Names of the fields that are protected sensitive information.
    pub fn psi_fields(&self) -> Vec<String> {
        self.fields
            .iter()
            .filter(|f| f.is_psi_data)
            .map(|f| f.name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_names_follow_the_enum() {
        for (i, name) in IdentifierKind::NAMES.iter().enumerate() {
            let kind: IdentifierKind = serde_json::from_value(serde_json::json!(name)).expect("known");
            assert_eq!(kind as usize, i);
            assert_eq!(kind.name(), *name);
        }
        for name in FieldType::NAMES {
            serde_json::from_value::<FieldType>(serde_json::json!(name)).expect("known field type");
        }
        for name in Action::NAMES {
            serde_json::from_value::<Action>(serde_json::json!(name)).expect("known action");
        }
    }
}
