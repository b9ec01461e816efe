//! A rule as stored and answered (camelCase, as seed 003's bodies).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::util::rfc3339_millis;

/// Which events a rule is assessed against. SPEND rules apply to orders and
/// transactions alike (seed 003).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleSet {
    Action,
    Order,
    Transaction,
    Spend,
    Basket,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub rule_set: RuleSet,
    pub active: bool,
    /// Lower first; ties by id.
    pub priority: i32,
    #[serde(with = "rfc3339_millis::option")]
    pub valid_from: Option<DateTime<Utc>>,
    #[serde(with = "rfc3339_millis::option")]
    pub valid_to: Option<DateTime<Utc>>,
    pub conditions: Conditions,
    pub fulfilment: Fulfilment,
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339_millis")]
    pub updated_at: DateTime<Utc>,
}

/// Every condition set must hold; an empty list or a null holds for anything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conditions {
    pub name_spaces: Vec<String>,
    pub campaigns: Vec<String>,
    pub min_amount: Option<f64>,
    /// The event's `attributes[]` must hold each of these keys with this value.
    pub attributes: std::collections::BTreeMap<String, String>,
    /// Not for ACTION rules (actions have no items).
    pub items: Option<ItemConditions>,
    /// Fulfilments of this rule one customer may have at most.
    pub max_per_customer: Option<u32>,
}

/// Which items count: any of the tags, skus, product ids or vendors (each list
/// empty: any item), and at least `minQuantity` of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemConditions {
    pub tags: Vec<String>,
    pub skus: Vec<String>,
    pub product_ids: Vec<String>,
    pub vendors: Vec<String>,
    pub min_quantity: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fulfilment {
    pub points: Option<Points>,
    pub points_expire_after_days: Option<u32>,
    pub reward: Option<Reward>,
    /// A matching exclusive rule stops the rules after it.
    pub exclusive: bool,
}

/// `{"fixed": N}`, or `{"perCurrencyUnit": R}`: floor(amount × R), of the
/// matching items' total when the rule has item conditions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Points {
    Fixed(u64),
    PerCurrencyUnit(f64),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reward {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}
