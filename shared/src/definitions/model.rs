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

    /// The fields this definition marks `isPsiData` that `next` would not
    /// mask in events stored after it: no longer marked (the flag dropped, the
    /// field removed or renamed), or all of them when `next` deactivates it
    /// (events of an inactive definition are stored unstamped, so unmasked).
    pub fn unmasked_by(&self, next: &EventDefinition) -> Vec<String> {
        let still_masked = if self.active && !next.active {
            Vec::new()
        } else {
            next.psi_fields()
        };
        self.psi_fields()
            .into_iter()
            .filter(|name| !still_masked.contains(name))
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

    fn definition(psi: &[&str], active: bool) -> EventDefinition {
        let field = |name: &str, is_psi_data| FieldSpec {
            name: name.to_owned(),
            field_type: FieldType::String,
            is_required: false,
            is_unique_key_field: false,
            is_psi_data,
        };
        EventDefinition {
            event_name: "purchaseEvent".into(),
            actions: vec![Action::EmfConsumer],
            description: None,
            fields: ["phone", "email", "amount"]
                .into_iter()
                .map(|name| field(name, psi.contains(&name)))
                .collect(),
            add_customer_if_not_exists: false,
            identifier_type: IdentifierType {
                value: IdentifierKind::Email,
                value_type: None,
            },
            active,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_change_that_stops_masking_names_the_fields() {
        let current = definition(&["phone", "email"], true);
        // Dropping a flag, or deactivating, unmasks; adding one or keeping them does not
        assert_eq!(current.unmasked_by(&definition(&["email"], true)), ["phone"]);
        assert_eq!(
            current.unmasked_by(&definition(&["phone", "email"], false)),
            ["phone", "email"]
        );
        assert!(
            current
                .unmasked_by(&definition(&["phone", "email", "amount"], true))
                .is_empty()
        );
        // A field removed from the definition is unmasked as well
        let mut without_phone = current.clone();
        without_phone.fields.retain(|f| f.name != "phone");
        assert_eq!(current.unmasked_by(&without_phone), ["phone"]);
        // An inactive definition masks nothing: reactivating it as it was unmasks nothing, dropping a flag still counts
        let inactive = definition(&["phone"], false);
        assert!(inactive.unmasked_by(&definition(&["phone"], true)).is_empty());
        assert_eq!(inactive.unmasked_by(&definition(&[], false)), ["phone"]);
    }
}
