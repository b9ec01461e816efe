//! What a customer event offers to the rules: its kind, name space, campaign,
//! attributes, amount and items, read from seed 003's bodies as the typed
//! endpoints store them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::model::RuleSet;

/// The kinds of event rules are assessed against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OccasionKind {
    Action,
    Order,
    Transaction,
    Basket,
}

impl OccasionKind {
    /// Whether rules of `set` are assessed against this kind (SPEND: orders and
    /// transactions, as seed 003 says).
    pub fn takes(self, set: RuleSet) -> bool {
        matches!(
            (self, set),
            (Self::Action, RuleSet::Action)
                | (Self::Order, RuleSet::Order | RuleSet::Spend)
                | (Self::Transaction, RuleSet::Transaction | RuleSet::Spend)
                | (Self::Basket, RuleSet::Basket)
        )
    }

    /// The body's block that holds amounts and items (`action`, `order`, …).
    fn block(self) -> &'static str {
        match self {
            Self::Action => "action",
            Self::Order => "order",
            Self::Transaction => "transaction",
            Self::Basket => "basket",
        }
    }
}

/// One line of an order or basket, with what item conditions look at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line {
    pub quantity: f64,
    /// What the line costs in all.
    pub total: f64,
    pub product_ids: Vec<String>,
    pub skus: Vec<String>,
    pub vendors: Vec<String>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Occasion {
    pub kind: OccasionKind,
    pub at: DateTime<Utc>,
    pub name_space: Option<String>,
    pub campaign: Option<String>,
    pub attributes: BTreeMap<String, String>,
    /// `action.amount`; an order's or transaction's `rewardsEligibleTotal`, else its
    /// `total`; a basket's `rewardsEligibleTotal`, else its `basketTotal`.
    pub amount: Option<f64>,
    pub lines: Vec<Line>,
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

impl Occasion {
    /// The occasion a typed event's body describes, at `at`.
    pub fn from_body(kind: OccasionKind, body: &Value, at: DateTime<Utc>) -> Self {
        let block = &body[kind.block()];
        let attributes = body["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| Some((text(&a["key"])?, text(&a["value"])?)))
            .collect();
        let amount = match kind {
            OccasionKind::Action => block["amount"].as_f64(),
            OccasionKind::Order | OccasionKind::Transaction => block["rewardsEligibleTotal"]
                .as_f64()
                .or_else(|| block["total"].as_f64()),
            OccasionKind::Basket => block["rewardsEligibleTotal"]
                .as_f64()
                .or_else(|| block["basketTotal"].as_f64()),
        };
        let items = match kind {
            OccasionKind::Order => &block["orderItems"],
            OccasionKind::Basket => &block["basketItems"],
            _ => &Value::Null,
        };
        Self {
            kind,
            at,
            name_space: text(&body["nameSpace"]),
            campaign: text(&body["campaign"]),
            attributes,
            amount,
            lines: items.as_array().into_iter().flatten().map(line).collect(),
        }
    }
}

/// A line, with its basket parts' identities and tags (an item condition that a
/// part meets counts the line).
fn line(item: &Value) -> Line {
    let quantity = item["quantity"].as_f64().unwrap_or(1.0);
    let total = item["totalPrice"]
        .as_f64()
        .unwrap_or_else(|| item["itemPrice"].as_f64().unwrap_or(0.0) * quantity);
    let mut line = Line {
        quantity,
        total,
        ..Line::default()
    };
    let parts = item["basketItemParts"].as_array().into_iter().flatten();
    for source in std::iter::once(item).chain(parts) {
        line.product_ids.extend(text(&source["productId"]));
        line.skus.extend(text(&source["sku"]));
        line.vendors.extend(text(&source["vendor"]));
        line.tags
            .extend(source["tags"].as_array().into_iter().flatten().filter_map(text));
    }
    line
}
