//! Create/update bodies, validated into a `Rule` with every invalid field named.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::model::{Conditions, Fulfilment, ItemConditions, Points, Reward, Rule, RuleSet};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::ids;

const MAX_NAME_LEN: usize = 128;
const MAX_LIST_LEN: usize = 100;
const MAX_VALUE_LEN: usize = 256;
const MAX_ATTRIBUTES: usize = 50;
const MAX_FIXED_POINTS: i64 = 1_000_000_000;
const MAX_PER_CURRENCY_UNIT: f64 = 1_000_000.0;
const MAX_AMOUNT: f64 = 1_000_000_000_000.0;
/// The smallest non-zero amount or rate: DynamoDB numbers stop at 1E-130, and
/// nothing finer means anything in money.
const MIN_NON_ZERO: f64 = 0.000_001;
/// A hundred years.
const MAX_EXPIRY_DAYS: i64 = 36_500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleRequest {
    id: Option<String>,
    name: Option<String>,
    rule_set: Option<RuleSet>,
    active: Option<bool>,
    priority: Option<i64>,
    // Strict RFC 3339 (chrono's own parser also takes relaxed spellings).
    #[serde(default, with = "crate::util::rfc3339_millis::option")]
    valid_from: Option<DateTime<Utc>>,
    #[serde(default, with = "crate::util::rfc3339_millis::option")]
    valid_to: Option<DateTime<Utc>>,
    conditions: Option<ConditionsRequest>,
    fulfilment: Option<FulfilmentRequest>,
    /// Optional on update: the version the client read.
    pub version: Option<u64>,
    // Server-set; accepted and ignored so a response can be sent back as is.
    #[serde(default, rename = "createdAt")]
    _created_at: Option<IgnoredAny>,
    #[serde(default, rename = "updatedAt")]
    _updated_at: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ConditionsRequest {
    name_spaces: Option<Vec<String>>,
    campaigns: Option<Vec<String>>,
    min_amount: Option<f64>,
    attributes: Option<BTreeMap<String, String>>,
    items: Option<ItemsRequest>,
    max_per_customer: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ItemsRequest {
    tags: Option<Vec<String>>,
    skus: Option<Vec<String>>,
    product_ids: Option<Vec<String>>,
    vendors: Option<Vec<String>>,
    min_quantity: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FulfilmentRequest {
    points: Option<PointsRequest>,
    points_expire_after_days: Option<i64>,
    reward: Option<RewardRequest>,
    exclusive: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PointsRequest {
    fixed: Option<i64>,
    per_currency_unit: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RewardRequest {
    code: Option<String>,
    description: Option<String>,
}

impl RuleRequest {
    /// A 400 naming the first nested block that is not an object (serde would
    /// also read a struct from an array).
    pub fn check_blocks(body: &serde_json::Value) -> Result<(), ApiError> {
        const BLOCKS: [&str; 5] = [
            "/conditions",
            "/conditions/items",
            "/fulfilment",
            "/fulfilment/points",
            "/fulfilment/reward",
        ];
        for pointer in BLOCKS {
            if body.pointer(pointer).is_some_and(|v| !v.is_null() && !v.is_object()) {
                let field = pointer.trim_start_matches('/').replace('/', ".");
                return Err(ApiError::invalid_field(field, "must be an object"));
            }
        }
        Ok(())
    }

    /// The body's id, if it names one.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The rule `id` this body describes; `previous` keeps what the server owns.
    pub fn into_rule(self, id: String, now: DateTime<Utc>, previous: Option<&Rule>) -> Result<Rule, ApiError> {
        let mut errors = FieldErrors::default();
        if let Some(body_id) = &self.id {
            errors.check(ids::validate_client_id("id", body_id));
        }
        let name = errors
            .required("name", self.name)
            .and_then(|name| errors.check(text("name", name, MAX_NAME_LEN)));
        let rule_set = errors.required("ruleSet", self.rule_set);
        let priority = match self.priority {
            None => Some(0),
            Some(p) => errors.check(
                i32::try_from(p)
                    .ok()
                    .filter(|p| (0..=1_000_000).contains(p))
                    .ok_or_else(|| FieldError::new("priority", "must be a whole number from 0 to 1000000")),
            ),
        };
        for (field, at) in [("validFrom", self.valid_from), ("validTo", self.valid_to)] {
            // Years past 9999 (after converting to UTC) do not read back as RFC 3339.
            if at.is_some_and(|at| !(0..=9999).contains(&at.year())) {
                errors.push(field, "must be a time in the years 0000-9999 (UTC)");
            }
        }
        if let (Some(from), Some(to)) = (self.valid_from, self.valid_to)
            && to < from
        {
            errors.push("validTo", "is before validFrom");
        }
        let conditions = conditions(&mut errors, self.conditions.unwrap_or_default(), rule_set);
        let fulfilment = fulfilment(&mut errors, self.fulfilment.unwrap_or_default());
        let rule = match (name, rule_set, priority) {
            (Some(name), Some(rule_set), Some(priority)) => Some(Rule {
                id,
                name,
                rule_set,
                active: self.active.unwrap_or(previous.is_none_or(|p| p.active)),
                priority,
                valid_from: self.valid_from,
                valid_to: self.valid_to,
                conditions,
                fulfilment,
                created_at: previous.map_or(now, |p| p.created_at),
                updated_at: now,
            }),
            _ => None,
        };
        errors.finish(rule)
    }
}

/// 1 to `max` characters, none of them a control character (openapi.yaml
/// states the same rule as a pattern).
fn text(field: &str, value: String, max: usize) -> Result<String, FieldError> {
    let length = value.chars().count();
    if length == 0 || length > max || value.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            format!("must be 1-{max} characters, without control characters"),
        ));
    }
    Ok(value)
}

fn list(errors: &mut FieldErrors, field: &str, values: Option<Vec<String>>) -> Vec<String> {
    let values = values.unwrap_or_default();
    if values.len() > MAX_LIST_LEN {
        errors.push(field, format!("may hold at most {MAX_LIST_LEN} values"));
        return Vec::new();
    }
    values
        .into_iter()
        .enumerate()
        .filter_map(|(i, v)| errors.check(text(&format!("{field}[{i}]"), v, MAX_VALUE_LEN)))
        .collect()
}

fn at_least_one(errors: &mut FieldErrors, field: &str, value: Option<i64>) -> Option<u32> {
    let value = value?;
    let checked = u32::try_from(value)
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| FieldError::new(field, "must be a whole number of at least 1"));
    errors.check(checked)
}

/// 0, or a number from `MIN_NON_ZERO` to `max`.
fn amount(field: &str, value: f64, max: f64) -> Result<f64, FieldError> {
    if value == 0.0 || (MIN_NON_ZERO..=max).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(
            field,
            format!("must be 0 or a number from {MIN_NON_ZERO} to {max}"),
        ))
    }
}

fn conditions(errors: &mut FieldErrors, request: ConditionsRequest, rule_set: Option<RuleSet>) -> Conditions {
    let min_amount = request
        .min_amount
        .and_then(|min| errors.check(amount("conditions.minAmount", min, MAX_AMOUNT)));
    let attributes = request.attributes.unwrap_or_default();
    if attributes.len() > MAX_ATTRIBUTES {
        errors.push(
            "conditions.attributes",
            format!("may hold at most {MAX_ATTRIBUTES} keys"),
        );
    }
    for (key, value) in &attributes {
        let field = format!("conditions.attributes.{key}");
        errors.check(text(&field, key.clone(), MAX_VALUE_LEN));
        // A value may be empty (an event's attribute may be), never a control character.
        if value.chars().count() > MAX_VALUE_LEN || value.chars().any(char::is_control) {
            errors.push(
                field,
                format!("must be at most {MAX_VALUE_LEN} characters, without control characters"),
            );
        }
    }
    let items = request.items.map(|items| {
        if matches!(rule_set, Some(RuleSet::Action | RuleSet::Transaction)) {
            errors.push(
                "conditions.items",
                "does not apply to ACTION or TRANSACTION rules: actions and transactions have no items",
            );
        }
        ItemConditions {
            tags: list(errors, "conditions.items.tags", items.tags),
            skus: list(errors, "conditions.items.skus", items.skus),
            product_ids: list(errors, "conditions.items.productIds", items.product_ids),
            vendors: list(errors, "conditions.items.vendors", items.vendors),
            min_quantity: at_least_one(errors, "conditions.items.minQuantity", items.min_quantity),
        }
    });
    Conditions {
        name_spaces: list(errors, "conditions.nameSpaces", request.name_spaces),
        campaigns: list(errors, "conditions.campaigns", request.campaigns),
        min_amount,
        attributes,
        items,
        max_per_customer: at_least_one(errors, "conditions.maxPerCustomer", request.max_per_customer),
    }
}

fn fulfilment(errors: &mut FieldErrors, request: FulfilmentRequest) -> Fulfilment {
    let points = request
        .points
        .and_then(|points| match (points.fixed, points.per_currency_unit) {
            (Some(fixed), None) => errors.check(
                u64::try_from(fixed)
                    .ok()
                    .filter(|_| fixed <= MAX_FIXED_POINTS)
                    .map(Points::Fixed)
                    .ok_or_else(|| {
                        FieldError::new(
                            "fulfilment.points.fixed",
                            format!("must be a whole number from 0 to {MAX_FIXED_POINTS}"),
                        )
                    }),
            ),
            (None, Some(rate)) => errors.check(
                amount("fulfilment.points.perCurrencyUnit", rate, MAX_PER_CURRENCY_UNIT).map(Points::PerCurrencyUnit),
            ),
            _ => {
                errors.push(
                    "fulfilment.points",
                    "must be {\"fixed\": N} or {\"perCurrencyUnit\": R}",
                );
                None
            }
        });
    let reward = request.reward.and_then(|reward| {
        let code = errors
            .required("fulfilment.reward.code", reward.code)
            .and_then(|code| errors.check(text("fulfilment.reward.code", code, MAX_NAME_LEN)))?;
        let description = match reward.description {
            Some(d) => Some(errors.check(text("fulfilment.reward.description", d, MAX_VALUE_LEN))?),
            None => None,
        };
        Some(Reward { code, description })
    });
    Fulfilment {
        points,
        points_expire_after_days: request.points_expire_after_days.and_then(|days| {
            errors.check(
                u32::try_from(days)
                    .ok()
                    .filter(|d| (1..=MAX_EXPIRY_DAYS).contains(&i64::from(*d)))
                    .ok_or_else(|| {
                        FieldError::new(
                            "fulfilment.pointsExpireAfterDays",
                            format!("must be a whole number from 1 to {MAX_EXPIRY_DAYS}"),
                        )
                    }),
            )
        }),
        reward,
        exclusive: request.exclusive.unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn registration_bonus() -> Value {
        json!({"name": "Registration bonus", "ruleSet": "ACTION", "active": true, "priority": 10,
               "validFrom": null, "validTo": null,
               "conditions": {"nameSpaces": ["Customer.Registration"], "campaigns": [], "minAmount": null,
                              "attributes": {"channel": "web"}, "maxPerCustomer": 1},
               "fulfilment": {"points": {"fixed": 100}, "pointsExpireAfterDays": 365,
                              "reward": {"code": "WELCOME10", "description": "10% off"}, "exclusive": false}})
    }

    fn rule(body: Value) -> Result<Rule, ApiError> {
        serde_json::from_value::<RuleRequest>(body)
            .expect("shape")
            .into_rule("rul_1".into(), Utc::now(), None)
    }

    fn fields(body: Value) -> Vec<String> {
        match rule(body) {
            Err(ApiError::Invalid { errors, .. }) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn the_issues_example_is_a_rule() {
        let rule = rule(registration_bonus()).expect("valid");
        assert_eq!((rule.rule_set, rule.priority), (RuleSet::Action, 10));
        assert_eq!(rule.fulfilment.points, Some(Points::Fixed(100)));
        assert_eq!(rule.conditions.max_per_customer, Some(1));
        assert_eq!(rule.conditions.attributes["channel"], "web");
    }

    #[test]
    fn every_invalid_field_is_named() {
        let mut body = registration_bonus();
        body["fulfilment"]["points"] = json!({"fixed": -1});
        body["validFrom"] = json!("2026-12-01T00:00:00Z");
        body["validTo"] = json!("2026-11-01T00:00:00Z");
        body["conditions"]["items"] = json!({"tags": ["shoes"]});
        assert_eq!(fields(body), ["validTo", "conditions.items", "fulfilment.points.fixed"]);
        let mut both = registration_bonus();
        both["fulfilment"]["points"] = json!({"fixed": 1, "perCurrencyUnit": 2.0});
        both["name"] = json!("");
        assert_eq!(fields(both), ["name", "fulfilment.points"]);
    }

    #[test]
    fn numbers_and_times_dynamodb_or_rfc_3339_could_not_hold_are_refused() {
        let mut body = registration_bonus();
        body["conditions"]["minAmount"] = json!(1e200);
        body["fulfilment"]["pointsExpireAfterDays"] = json!(36_501);
        body["validTo"] = json!("9999-12-31T23:00:00-05:00");
        assert_eq!(
            fields(body),
            ["validTo", "conditions.minAmount", "fulfilment.pointsExpireAfterDays"]
        );
        let mut tiny = registration_bonus();
        tiny["fulfilment"]["points"] = json!({"perCurrencyUnit": 1e-200});
        assert_eq!(fields(tiny), ["fulfilment.points.perCurrencyUnit"]);
        // chrono's relaxed spellings are not RFC 3339.
        let mut relaxed = registration_bonus();
        relaxed["validFrom"] = json!("2026-1-1 0:0:0 UTC");
        assert!(serde_json::from_value::<RuleRequest>(relaxed).is_err());
    }

    #[test]
    fn attributes_need_keys_and_transactions_take_no_item_conditions() {
        let mut body = registration_bonus();
        body["conditions"]["attributes"] = json!({"": "web"});
        assert_eq!(fields(body), ["conditions.attributes."]);
        let mut transaction = registration_bonus();
        transaction["ruleSet"] = json!("TRANSACTION");
        transaction["conditions"]["items"] = json!({"tags": ["shoes"]});
        assert_eq!(fields(transaction), ["conditions.items"]);
    }

    #[test]
    fn a_block_sent_as_an_array_is_refused_by_name() {
        let mut body = registration_bonus();
        body["fulfilment"]["points"] = json!([5, null]);
        let refused = RuleRequest::check_blocks(&body).expect_err("an array");
        assert!(refused.to_string().contains("fulfilment.points"), "{refused}");
        assert!(RuleRequest::check_blocks(&registration_bonus()).is_ok());
    }

    #[test]
    fn an_unknown_rule_set_is_refused_by_name() {
        let mut body = registration_bonus();
        body["ruleSet"] = json!("LOTTERY");
        let err = serde_json::from_value::<RuleRequest>(body).expect_err("unknown variant");
        assert!(err.to_string().contains("LOTTERY"));
    }
}
