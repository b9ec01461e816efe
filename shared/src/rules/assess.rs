//! Which rules an occasion fulfils, and with what: the one evaluation the
//! assessor (which then applies it) and basket assessment (which only answers it)
//! share. Rules go in priority order (then id); every matching rule fulfils, and
//! an exclusive one stops the rules after it.

use chrono::{DateTime, Duration, Utc};

use super::model::{Conditions, ItemConditions, Points, Reward, Rule};
use super::occasion::{Line, Occasion};

/// The most points one rule gives for one occasion (a rate on a huge amount
/// must not overflow).
const MAX_POINTS: f64 = 1_000_000_000_000.0;

/// What one rule gives for one occasion.
#[derive(Debug, Clone, PartialEq)]
pub struct Fulfilled {
    pub rule_id: String,
    pub name: String,
    pub points: u64,
    pub points_expire_at: Option<DateTime<Utc>>,
    pub reward: Option<Reward>,
}

/// The fulfilments of `rules` for `occasion`; `fulfilled_before(rule id)` is how
/// often the customer already had that rule (for `maxPerCustomer`).
pub fn assess(rules: &[Rule], occasion: &Occasion, fulfilled_before: impl Fn(&str) -> u32) -> Vec<Fulfilled> {
    let mut candidates: Vec<&Rule> = rules
        .iter()
        .filter(|rule| rule.active && occasion.kind.takes(rule.rule_set))
        .filter(|rule| rule.valid_from.is_none_or(|from| from <= occasion.at))
        .filter(|rule| rule.valid_to.is_none_or(|to| occasion.at <= to))
        .collect();
    candidates.sort_by(|a, b| (a.priority, &a.id).cmp(&(b.priority, &b.id)));
    let mut fulfilled = Vec::new();
    for rule in candidates {
        let Some(base) = matched_amount(&rule.conditions, occasion) else {
            continue;
        };
        if let Some(max) = rule.conditions.max_per_customer
            && fulfilled_before(&rule.id) >= max
        {
            continue;
        }
        let points = match rule.fulfilment.points {
            None => 0,
            Some(Points::Fixed(points)) => points,
            Some(Points::PerCurrencyUnit(rate)) => per_currency_unit(base, rate),
        };
        fulfilled.push(Fulfilled {
            rule_id: rule.id.clone(),
            name: rule.name.clone(),
            points,
            points_expire_at: rule
                .fulfilment
                .points_expire_after_days
                .and_then(|days| occasion.at.checked_add_signed(Duration::days(i64::from(days)))),
            reward: rule.fulfilment.reward.clone(),
        });
        if rule.fulfilment.exclusive {
            break;
        }
    }
    fulfilled
}

/// floor(base × rate), snapped to a millionth first (129.90 × 2 is 259.79999… in
/// binary, and must give 259), at most `MAX_POINTS`.
fn per_currency_unit(base: f64, rate: f64) -> u64 {
    let snapped = ((base * rate) * 1e6).round() / 1e6;
    snapped.floor().clamp(0.0, MAX_POINTS) as u64
}

/// The amount `perCurrencyUnit` applies to when `conditions` hold: the matching
/// lines' total under item conditions, else the occasion's amount (0 if it has
/// none); `None` when a condition fails.
fn matched_amount(conditions: &Conditions, occasion: &Occasion) -> Option<f64> {
    let listed = |allowed: &[String], value: &Option<String>| {
        allowed.is_empty() || value.as_ref().is_some_and(|v| allowed.contains(v))
    };
    if !listed(&conditions.name_spaces, &occasion.name_space) || !listed(&conditions.campaigns, &occasion.campaign) {
        return None;
    }
    if conditions
        .attributes
        .iter()
        .any(|(key, value)| occasion.attributes.get(key) != Some(value))
    {
        return None;
    }
    if let Some(min) = conditions.min_amount
        && occasion.amount.is_none_or(|amount| amount < min)
    {
        return None;
    }
    match &conditions.items {
        None => Some(occasion.amount.unwrap_or(0.0)),
        Some(items) => {
            let matching: Vec<&Line> = occasion.lines.iter().filter(|line| meets(items, line)).collect();
            let quantity: f64 = matching.iter().map(|line| line.quantity).sum();
            let needed = items.min_quantity.map_or(1.0, f64::from);
            (!matching.is_empty() && quantity >= needed).then(|| matching.iter().map(|line| line.total).sum())
        }
    }
}

/// A line meets item conditions when, for each list that is not empty, it (or
/// one of its parts) has one of the listed values.
fn meets(items: &ItemConditions, line: &Line) -> bool {
    let any = |allowed: &[String], values: &[String]| allowed.is_empty() || values.iter().any(|v| allowed.contains(v));
    any(&items.tags, &line.tags)
        && any(&items.skus, &line.skus)
        && any(&items.product_ids, &line.product_ids)
        && any(&items.vendors, &line.vendors)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::rules::{OccasionKind, RuleRequest};

    fn rule(id: &str, body: Value) -> Rule {
        serde_json::from_value::<RuleRequest>(body)
            .expect("shape")
            .into_rule(id.into(), Utc::now(), None)
            .expect("valid rule")
    }

    fn registration(id: &str, priority: i64, exclusive: bool) -> Rule {
        rule(
            id,
            json!({"name": id, "ruleSet": "ACTION", "priority": priority,
                   "conditions": {"nameSpaces": ["Customer.Registration"], "attributes": {"channel": "web"}, "maxPerCustomer": 1},
                   "fulfilment": {"points": {"fixed": 100}, "pointsExpireAfterDays": 365, "exclusive": exclusive}}),
        )
    }

    fn action(name_space: &str, channel: &str) -> Occasion {
        let body = json!({"action": {"amount": 0}, "nameSpace": name_space,
                          "attributes": [{"key": "channel", "value": channel}]});
        Occasion::from_body(OccasionKind::Action, &body, Utc::now())
    }

    fn never(_: &str) -> u32 {
        0
    }

    #[test]
    fn a_registration_on_the_web_earns_the_bonus_once_per_customer() {
        let rules = [registration("rul_a", 10, false)];
        let earned = assess(&rules, &action("Customer.Registration", "web"), never);
        assert_eq!(earned.len(), 1);
        assert_eq!(earned[0].points, 100);
        assert!(earned[0].points_expire_at.is_some());
        // Another channel, another name space, or a customer who had it: nothing.
        assert!(assess(&rules, &action("Customer.Registration", "app"), never).is_empty());
        assert!(assess(&rules, &action("Customer.Login", "web"), never).is_empty());
        assert!(assess(&rules, &action("Customer.Registration", "web"), |_| 1).is_empty());
    }

    #[test]
    fn spend_rules_give_points_per_currency_unit_of_orders_and_transactions() {
        let rules = [rule(
            "rul_spend",
            json!({"name": "Spend", "ruleSet": "SPEND", "fulfilment": {"points": {"perCurrencyUnit": 2}}}),
        )];
        let order = json!({"order": {"orderId": "O-1", "total": 129.90}});
        let earned = assess(
            &rules,
            &Occasion::from_body(OccasionKind::Order, &order, Utc::now()),
            never,
        );
        assert_eq!(earned[0].points, 259);
        // rewardsEligibleTotal wins over total.
        let transaction = json!({"transaction": {"total": 100, "rewardsEligibleTotal": 40.5}});
        let occasion = Occasion::from_body(OccasionKind::Transaction, &transaction, Utc::now());
        assert_eq!(assess(&rules, &occasion, never)[0].points, 81);
        // Not an action rule.
        assert!(assess(&rules, &action("x", "web"), never).is_empty());
    }

    #[test]
    fn rules_go_in_priority_order_and_an_exclusive_one_stops_the_rest() {
        let rules = [
            registration("rul_late", 20, false),
            registration("rul_first", 5, true),
            registration("rul_never", 30, false),
        ];
        let earned = assess(&rules, &action("Customer.Registration", "web"), never);
        assert_eq!(
            earned.iter().map(|f| f.rule_id.as_str()).collect::<Vec<_>>(),
            ["rul_first"]
        );
        let mut open = rules.clone();
        open[1].fulfilment.exclusive = false;
        let earned = assess(&open, &action("Customer.Registration", "web"), never);
        assert_eq!(
            earned.iter().map(|f| f.rule_id.as_str()).collect::<Vec<_>>(),
            ["rul_first", "rul_late", "rul_never"]
        );
    }

    #[test]
    fn item_conditions_count_the_matching_lines_of_a_basket_and_their_parts() {
        let rules = [rule(
            "rul_shoes",
            json!({"name": "Shoes", "ruleSet": "BASKET",
                   "conditions": {"items": {"tags": ["shoes"], "minQuantity": 2}},
                   "fulfilment": {"points": {"perCurrencyUnit": 1}, "reward": {"code": "SOCKS"}}}),
        )];
        let basket = json!({"basket": {"basketId": "B-1", "basketTotal": 300, "basketItems": [
            {"quantity": 1, "totalPrice": 120, "tags": ["shoes"]},
            {"quantity": 1, "totalPrice": 80, "basketItemParts": [{"tags": ["shoes"]}]},
            {"quantity": 3, "totalPrice": 100, "tags": ["hats"]}
        ]}});
        let earned = assess(
            &rules,
            &Occasion::from_body(OccasionKind::Basket, &basket, Utc::now()),
            never,
        );
        // Two matching lines (one through its part): 120 + 80.
        assert_eq!(earned[0].points, 200);
        assert_eq!(earned[0].reward.as_ref().map(|r| r.code.as_str()), Some("SOCKS"));
        // One matching line is not enough for minQuantity 2.
        let single = json!({"basket": {"basketItems": [{"quantity": 1, "totalPrice": 120, "tags": ["shoes"]}]}});
        assert!(
            assess(
                &rules,
                &Occasion::from_body(OccasionKind::Basket, &single, Utc::now()),
                never
            )
            .is_empty()
        );
    }

    #[test]
    fn a_huge_amount_gives_at_most_the_cap() {
        let rules = [rule(
            "rul_spend",
            json!({"name": "Spend", "ruleSet": "BASKET", "fulfilment": {"points": {"perCurrencyUnit": 1000000},
                   "pointsExpireAfterDays": 36500}}),
        )];
        let basket = json!({"basket": {"basketId": "B", "basketTotal": 1e300}});
        let earned = assess(
            &rules,
            &Occasion::from_body(OccasionKind::Basket, &basket, Utc::now()),
            never,
        );
        assert_eq!(earned[0].points, MAX_POINTS as u64);
    }

    #[test]
    fn a_rule_outside_its_validity_or_inactive_does_not_apply() {
        let mut expired = registration("rul_old", 1, false);
        expired.valid_to = Some(Utc::now() - Duration::days(1));
        let mut paused = registration("rul_paused", 1, false);
        paused.active = false;
        let mut future = registration("rul_future", 1, false);
        future.valid_from = Some(Utc::now() + Duration::days(1));
        assert!(
            assess(
                &[expired, paused, future],
                &action("Customer.Registration", "web"),
                never
            )
            .is_empty()
        );
    }
}
