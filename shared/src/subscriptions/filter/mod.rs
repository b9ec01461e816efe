//! Content filters: EventBridge event patterns, matched against the envelope a
//! subscriber receives. A pattern is parsed and checked once (`Filter::parse`,
//! a `FilterError` naming the part that is wrong), then matched against many
//! events (`Filter::matches`).
//!
//! How a pattern matches, as EventBridge matches it: every field it names must
//! match (AND), a field matches when any value of its list matches (OR), an
//! array in the event matches when any element does, `$or` takes any one of its
//! sub-patterns, and nested keys and dot-joined keys name the same field. The
//! cases from AWS's documentation are the tests (`tests.rs`).

mod cidr;
mod matcher;
mod parse;
#[cfg(test)]
mod tests;
mod wildcard;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use matcher::Matcher;

/// Limits a pattern is held to. EventBridge's: 2,048 characters (its default
/// quota) and 1,000 `$or` combinations. Ours, stricter where EventBridge states
/// none or none exactly: 10 levels of nesting, 3 `*` in a wildcard (EventBridge
/// refuses "too complex" ones without saying where it draws the line), `numeric`
/// bounds within ±5.0e9 (its documented range), number literals DynamoDB can
/// store (where the pattern is kept), and no empty field names.
pub const MAX_PATTERN_CHARS: usize = 2048;
pub const MAX_OR_COMBINATIONS: usize = 1000;
pub const MAX_DEPTH: usize = 10;
pub const MAX_WILDCARD_STARS: usize = 3;
pub const MAX_NUMBER: f64 = 5.0e9;

/// A checked pattern: as written (what is stored and shown), its checks, and
/// every dot-joined path (and path prefix) it names, so an event is read only
/// as far as the pattern looks into it.
#[derive(Debug, Clone)]
pub struct Filter {
    pattern: Value,
    root: Node,
    paths: BTreeSet<String>,
}

/// The checks of one object of a pattern: every field's matchers (by
/// dot-joined path), and its `$or`s, each met by any one of its branches. Kept
/// as a tree, not expanded into its combinations, so a pattern's size in
/// memory follows its size as written.
#[derive(Debug, Clone, Default)]
pub(super) struct Node {
    pub(super) fields: Vec<(String, Vec<Matcher>)>,
    pub(super) any_of: Vec<Vec<Node>>,
}

impl Node {
    fn matches(&self, fields: &BTreeMap<String, Vec<&Value>>) -> bool {
        self.fields
            .iter()
            .all(|(path, matchers)| field_matches(fields.get(path), matchers))
            && self
                .any_of
                .iter()
                .all(|branches| branches.iter().any(|branch| branch.matches(fields)))
    }

    /// Every path this node and its branches name, with each of its prefixes.
    fn paths(&self, into: &mut BTreeSet<String>) {
        for (path, _) in &self.fields {
            let mut at = 0;
            while let Some(dot) = path[at..].find('.') {
                into.insert(path[..at + dot].to_owned());
                at += dot + 1;
            }
            into.insert(path.clone());
        }
        self.any_of.iter().flatten().for_each(|branch| branch.paths(into));
    }
}

/// Two filters are the same when they were written the same.
impl PartialEq for Filter {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl Eq for Filter {}

/// Stored and answered as the pattern was written.
impl Serialize for Filter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.pattern.serialize(serializer)
    }
}

/// Read back checked again (a stored pattern was checked when saved).
impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let pattern = Value::deserialize(deserializer)?;
        Self::parse(&pattern).map_err(serde::de::Error::custom)
    }
}

/// What is wrong with a pattern: where (`data.total[0].numeric`, empty for the
/// whole pattern) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct FilterError {
    pub path: String,
    pub reason: String,
}

impl FilterError {
    /// The error as a request's, naming its part under `field` (`filter.data.total[0]`).
    pub fn under(self, field: &str) -> crate::error::FieldError {
        let named = if self.path.is_empty() {
            field.to_owned()
        } else {
            format!("{field}.{}", self.path)
        };
        crate::error::FieldError::new(named, self.reason)
    }
}

impl Filter {
    /// `pattern` checked as EventBridge checks an event pattern, and held to the
    /// limits above.
    pub fn parse(pattern: &Value) -> Result<Self, FilterError> {
        let root = parse::pattern(pattern)?;
        let mut paths = BTreeSet::new();
        root.paths(&mut paths);
        Ok(Self {
            pattern: pattern.clone(),
            root,
            paths,
        })
    }

    /// Whether `event` matches.
    pub fn matches(&self, event: &Value) -> bool {
        let mut fields = BTreeMap::new();
        flatten(event, String::new(), &self.paths, &mut fields);
        self.root.matches(&fields)
    }
}

/// A field's matchers against its values in the event (none: it is missing,
/// an empty array, or an object).
fn field_matches(values: Option<&Vec<&Value>>, matchers: &[Matcher]) -> bool {
    match values {
        None => matchers.iter().any(|m| matches!(m, Matcher::Exists(false))),
        Some(values) => values.iter().any(|value| matchers.iter().any(|m| m.matches(value))),
    }
}

/// Every scalar (string, number, boolean, null) of `value` under one of
/// `paths`, by its dot-joined path; arrays spread their elements under the same
/// path. Members the pattern does not look into are not read.
fn flatten<'a>(
    value: &'a Value,
    path: String,
    paths: &BTreeSet<String>,
    fields: &mut BTreeMap<String, Vec<&'a Value>>,
) {
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if paths.contains(&path) {
                    flatten(member, path, paths, fields);
                }
            }
        }
        Value::Array(elements) => {
            for element in elements {
                flatten(element, path.clone(), paths, fields);
            }
        }
        scalar => fields.entry(path).or_default().push(scalar),
    }
}
