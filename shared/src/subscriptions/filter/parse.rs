//! Checking a pattern as EventBridge checks one, into the matchers of each
//! alternative. Every error names the part of the pattern that is wrong.

use serde_json::{Map, Value};

use super::cidr::Network;
use super::matcher::{Excluded, Matcher, Text, fold};
use super::wildcard::Wildcard;
use super::{FilterError, MAX_DEPTH, MAX_NUMBER, MAX_OR_COMBINATIONS, MAX_PATTERN_CHARS, MAX_WILDCARD_STARS, Node};

fn error<T>(path: &str, reason: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError {
        path: path.to_owned(),
        reason: reason.into(),
    })
}

pub fn pattern(pattern: &Value) -> Result<Node, FilterError> {
    let Value::Object(members) = pattern else {
        return error("", "a pattern is a JSON object");
    };
    let chars = pattern.to_string().chars().count();
    if chars > MAX_PATTERN_CHARS {
        return error(
            "",
            format!("{chars} characters, over the {MAX_PATTERN_CHARS} a pattern may have"),
        );
    }
    let combinations = or_combinations(pattern);
    if combinations > MAX_OR_COMBINATIONS {
        return error(
            "",
            format!("$or makes {combinations} combinations, over the {MAX_OR_COMBINATIONS} a pattern may make"),
        );
    }
    object(members, "", "", 1)
}

/// How many alternatives `$or` makes: the product of its lists' lengths.
fn or_combinations(value: &Value) -> usize {
    match value {
        Value::Object(members) => members
            .iter()
            .map(|(key, member)| match (key.as_str(), member) {
                ("$or", Value::Array(branches)) => branches
                    .iter()
                    .map(or_combinations)
                    .fold(0usize, usize::saturating_add)
                    .max(1),
                _ => or_combinations(member),
            })
            .fold(1usize, usize::saturating_mul),
        _ => 1,
    }
}

/// The checks of object `members` at `shown` (for errors) and field path
/// `prefix` (dot-joined): its fields' and its `$or`s'.
fn object(members: &Map<String, Value>, shown: &str, prefix: &str, depth: usize) -> Result<Node, FilterError> {
    if members.is_empty() {
        return error(shown, "empty objects are not allowed");
    }
    if depth > MAX_DEPTH {
        return error(shown, format!("nested more than {MAX_DEPTH} levels deep"));
    }
    let mut node = Node::default();
    for (key, member) in members {
        let shown = if shown.is_empty() {
            key.clone()
        } else {
            format!("{shown}.{key}")
        };
        if key.is_empty() {
            return error(&shown, "a field name is not empty");
        }
        let field = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (key.as_str(), member) {
            ("$or", Value::Array(branches)) if branches.len() >= 2 => {
                let mut choices = Vec::with_capacity(branches.len());
                for (n, branch) in branches.iter().enumerate() {
                    let Value::Object(branch) = branch else {
                        return error(&format!("{shown}[{n}]"), "each $or branch is an object");
                    };
                    choices.push(object(branch, &format!("{shown}[{n}]"), prefix, depth + 1)?);
                }
                node.any_of.push(choices);
            }
            ("$or", _) => return error(&shown, "$or is a list of at least 2 objects"),
            (_, Value::Object(nested)) => {
                let nested = object(nested, &shown, &field, depth + 1)?;
                node.fields.extend(nested.fields);
                node.any_of.extend(nested.any_of);
            }
            (_, Value::Array(values)) => node.fields.push((field, leaf(values, &shown)?)),
            _ => return error(&shown, "must be an object or a list"),
        }
    }
    Ok(node)
}

/// A field's list of values to match.
fn leaf(values: &[Value], shown: &str) -> Result<Vec<Matcher>, FilterError> {
    if values.is_empty() {
        return error(shown, "empty lists are not allowed");
    }
    values
        .iter()
        .enumerate()
        .map(|(n, value)| {
            let shown = format!("{shown}[{n}]");
            match value {
                Value::Object(operator) => operation(operator, &shown),
                Value::Array(_) => error(&shown, "a value to match is a string, number, true, false or null"),
                Value::Number(_) => literal(value, &shown).map(|_| Matcher::Exactly(value.clone())),
                literal => Ok(Matcher::Exactly(literal.clone())),
            }
        })
        .collect()
}

/// One `{operator: operand}` object.
fn operation(operator: &Map<String, Value>, shown: &str) -> Result<Matcher, FilterError> {
    let mut members = operator.iter();
    let (Some((name, operand)), None) = (members.next(), members.next()) else {
        return error(shown, "a match expression has exactly one operator");
    };
    let shown = &format!("{shown}.{name}");
    match name.as_str() {
        "prefix" => text(operand, shown).map(Matcher::Prefix),
        "suffix" => text(operand, shown).map(Matcher::Suffix),
        "equals-ignore-case" => string(operand, shown).map(|s| Matcher::EqualsIgnoreCase(fold(s))),
        "wildcard" => wildcard(operand, shown).map(Matcher::Wildcard),
        "anything-but" => anything_but(operand, shown).map(Matcher::AnythingBut),
        "numeric" => numeric(operand, shown),
        "exists" => match operand {
            Value::Bool(exists) => Ok(Matcher::Exists(*exists)),
            _ => error(shown, "exists is true or false"),
        },
        "cidr" => {
            let network = string(operand, shown)?;
            Network::parse(network)
                .map(Matcher::Cidr)
                .or_else(|reason| error(shown, reason))
        }
        other => error(
            shown,
            format!(
                "unknown operator {other:?}: prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists or cidr"
            ),
        ),
    }
}

fn string<'a>(operand: &'a Value, shown: &str) -> Result<&'a str, FilterError> {
    operand.as_str().map_or_else(|| error(shown, "must be a string"), Ok)
}

/// A prefix or suffix: a string, or `{"equals-ignore-case": string}`.
fn text(operand: &Value, shown: &str) -> Result<Text, FilterError> {
    match operand {
        Value::String(s) => Ok(Text::Exact(s.clone())),
        Value::Object(nested) if nested.len() == 1 => match nested.get("equals-ignore-case") {
            Some(Value::String(s)) => Ok(Text::IgnoringCase(fold(s))),
            Some(_) => error(&format!("{shown}.equals-ignore-case"), "must be a string"),
            None => error(shown, "the only operator allowed here is equals-ignore-case"),
        },
        _ => error(shown, "must be a string, or {\"equals-ignore-case\": string}"),
    }
}

fn wildcard(operand: &Value, shown: &str) -> Result<Wildcard, FilterError> {
    Wildcard::parse(string(operand, shown)?, MAX_WILDCARD_STARS).or_else(|reason| error(shown, reason))
}

/// A number to match exactly (an account id, say): any that DynamoDB can store,
/// where the pattern is kept (magnitudes from 1e-130 to below 1e126).
fn literal(value: &Value, shown: &str) -> Result<(), FilterError> {
    match value.as_f64() {
        Some(n) if n == 0.0 || (1e-130..1e126).contains(&n.abs()) => Ok(()),
        _ => error(shown, "a number from 1e-130 to below 1e126 in size, or 0"),
    }
}

/// A number within the range `numeric` compares (EventBridge's documented range).
fn number(value: &Value, shown: &str) -> Result<f64, FilterError> {
    match value.as_f64() {
        Some(n) if n.is_finite() && n.abs() <= MAX_NUMBER => Ok(n),
        Some(_) => error(shown, format!("numbers are from -{MAX_NUMBER:e} to {MAX_NUMBER:e}")),
        None => error(shown, "must be a number"),
    }
}

fn anything_but(operand: &Value, shown: &str) -> Result<Excluded, FilterError> {
    match operand {
        Value::String(s) => Ok(Excluded::Strings(vec![s.clone()])),
        Value::Number(n) => literal(operand, shown).map(|()| Excluded::Numbers(vec![n.clone()])),
        Value::Array(values) if values.iter().all(Value::is_string) && !values.is_empty() => {
            Ok(Excluded::Strings(strings(values, shown)?))
        }
        Value::Array(values) if values.iter().all(Value::is_number) && !values.is_empty() => Ok(Excluded::Numbers(
            values
                .iter()
                .enumerate()
                .map(|(n, v)| {
                    literal(v, &format!("{shown}[{n}]"))?;
                    Ok(v.as_number().cloned().unwrap_or_else(|| 0.into()))
                })
                .collect::<Result<_, _>>()?,
        )),
        Value::Array(_) => error(shown, "a non-empty list of strings only, or of numbers only"),
        Value::Object(nested) if nested.len() == 1 => {
            let (name, inner) = nested
                .iter()
                .next()
                .map_or(("", &Value::Null), |(k, v)| (k.as_str(), v));
            let inner_shown = format!("{shown}.{name}");
            let listed = |inner: &Value| -> Result<Vec<String>, FilterError> {
                match inner {
                    Value::String(s) => Ok(vec![s.clone()]),
                    Value::Array(values) if !values.is_empty() => strings(values, &inner_shown),
                    _ => error(&inner_shown, "must be a string or a non-empty list of strings"),
                }
            };
            match name {
                "prefix" | "suffix" => {
                    let texts = listed(inner)?;
                    if texts.iter().any(String::is_empty) {
                        return error(&inner_shown, "an empty prefix or suffix is not allowed here");
                    }
                    Ok(if name == "prefix" {
                        Excluded::Prefixes(texts)
                    } else {
                        Excluded::Suffixes(texts)
                    })
                }
                "equals-ignore-case" => Ok(Excluded::IgnoringCase(listed(inner)?.iter().map(|s| fold(s)).collect())),
                "wildcard" => Ok(Excluded::Wildcards(
                    listed(inner)?
                        .iter()
                        .map(|w| Wildcard::parse(w, MAX_WILDCARD_STARS))
                        .collect::<Result<_, _>>()
                        .or_else(|reason| error(&inner_shown, reason))?,
                )),
                other => error(
                    &inner_shown,
                    format!("anything-but takes prefix, suffix, equals-ignore-case or wildcard, not {other:?}"),
                ),
            }
        }
        _ => error(
            shown,
            "must be a string, a number, a list of either, or one operator object",
        ),
    }
}

fn strings(values: &[Value], shown: &str) -> Result<Vec<String>, FilterError> {
    values
        .iter()
        .enumerate()
        .map(|(n, v)| match v {
            Value::String(s) => Ok(s.clone()),
            _ => error(&format!("{shown}[{n}]"), "must be a string"),
        })
        .collect()
}

/// `["=", n]`, `[op, n]` for one bound, or `[">"|">=", low, "<"|"<=", high]`.
fn numeric(operand: &Value, shown: &str) -> Result<Matcher, FilterError> {
    let Value::Array(terms) = operand else {
        return error(shown, "must be a list, e.g. [\">\", 0, \"<=\", 5]");
    };
    let operator = |n: usize| terms.get(n).and_then(Value::as_str);
    let operand = |n: usize| match terms.get(n) {
        Some(value) => number(value, &format!("{shown}[{n}]")),
        None => error(shown, "each operator needs a number after it"),
    };
    let bound = |n: usize| -> Result<(Option<&str>, f64), FilterError> { Ok((operator(n), operand(n + 1)?)) };
    let (above, below) = match terms.len() {
        2 => match bound(0)? {
            (Some("="), n) => (Some((n, true)), Some((n, true))),
            (Some(">"), n) => (Some((n, false)), None),
            (Some(">="), n) => (Some((n, true)), None),
            (Some("<"), n) => (None, Some((n, false))),
            (Some("<="), n) => (None, Some((n, true))),
            _ => return error(&format!("{shown}[0]"), "the operator is one of =, <, <=, >, >="),
        },
        4 => {
            let low = match bound(0)? {
                (Some(">"), n) => (n, false),
                (Some(">="), n) => (n, true),
                _ => return error(&format!("{shown}[0]"), "a range starts with > or >="),
            };
            let high = match bound(2)? {
                (Some("<"), n) => (n, false),
                (Some("<="), n) => (n, true),
                _ => return error(&format!("{shown}[2]"), "a range ends with < or <="),
            };
            if low.0 >= high.0 {
                return error(shown, "the lower bound must be less than the upper");
            }
            (Some(low), Some(high))
        }
        _ => return error(shown, "one operator and a number, or a range of two"),
    };
    Ok(Matcher::Numeric { above, below })
}
