//! One value of a field's list in a pattern, and what event values it matches.

use serde_json::{Number, Value};

use super::cidr::Network;
use super::wildcard::Wildcard;

#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    /// A string, boolean or null, equal as JSON; a number, equal as a number.
    Exactly(Value),
    Prefix(Text),
    Suffix(Text),
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    AnythingBut(Excluded),
    /// Lower and upper bounds, each with whether it is included.
    Numeric {
        above: Option<(f64, bool)>,
        below: Option<(f64, bool)>,
    },
    Exists(bool),
    Cidr(Network),
}

/// A prefix or suffix: as written, or in any case (kept lower-cased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    Exact(String),
    IgnoringCase(String),
}

/// What `anything-but` excludes.
#[derive(Debug, Clone, PartialEq)]
pub enum Excluded {
    Strings(Vec<String>),
    Numbers(Vec<Number>),
    Prefixes(Vec<String>),
    Suffixes(Vec<String>),
    /// Lower-cased.
    IgnoringCase(Vec<String>),
    Wildcards(Vec<Wildcard>),
}

impl Matcher {
    /// Whether the event's scalar `value` matches.
    pub fn matches(&self, value: &Value) -> bool {
        match self {
            Self::Exactly(Value::Number(expected)) => value.as_number().is_some_and(|v| same_number(v, expected)),
            Self::Exactly(expected) => value == expected,
            Self::Prefix(Text::Exact(prefix)) => value.as_str().is_some_and(|s| s.starts_with(prefix.as_str())),
            Self::Prefix(Text::IgnoringCase(prefix)) => {
                value.as_str().is_some_and(|s| fold(s).starts_with(prefix.as_str()))
            }
            Self::Suffix(Text::Exact(suffix)) => value.as_str().is_some_and(|s| s.ends_with(suffix.as_str())),
            Self::Suffix(Text::IgnoringCase(suffix)) => {
                value.as_str().is_some_and(|s| fold(s).ends_with(suffix.as_str()))
            }
            Self::EqualsIgnoreCase(expected) => value.as_str().is_some_and(|s| fold(s) == *expected),
            Self::Wildcard(wildcard) => value.as_str().is_some_and(|s| wildcard.matches(s)),
            Self::AnythingBut(excluded) => !excluded.excludes(value),
            Self::Numeric { above, below } => {
                value.is_number()
                    && value.as_f64().is_some_and(|v| {
                        above.is_none_or(|(bound, included)| if included { v >= bound } else { v > bound })
                            && below.is_none_or(|(bound, included)| if included { v <= bound } else { v < bound })
                    })
            }
            // A scalar is there: `exists: false` is met only by a missing field.
            Self::Exists(exists) => *exists,
            Self::Cidr(network) => value.as_str().is_some_and(|s| network.contains(s)),
        }
    }
}

impl Excluded {
    /// Whether `value` is excluded; a value of another type (null included) is not.
    fn excludes(&self, value: &Value) -> bool {
        let text = value.as_str();
        match self {
            Self::Strings(strings) => text.is_some_and(|s| strings.iter().any(|x| x == s)),
            Self::Numbers(numbers) => value
                .as_number()
                .is_some_and(|v| numbers.iter().any(|n| same_number(v, n))),
            Self::Prefixes(prefixes) => text.is_some_and(|s| prefixes.iter().any(|p| s.starts_with(p.as_str()))),
            Self::Suffixes(suffixes) => text.is_some_and(|s| suffixes.iter().any(|p| s.ends_with(p.as_str()))),
            Self::IgnoringCase(strings) => text.is_some_and(|s| {
                let lower = fold(s);
                strings.contains(&lower)
            }),
            Self::Wildcards(wildcards) => text.is_some_and(|s| wildcards.iter().any(|w| w.matches(s))),
        }
    }
}

/// Two JSON numbers are the same value: whole numbers compared exactly (an
/// account id past 2^53 is not rounded into another), others as doubles.
fn same_number(a: &Number, b: &Number) -> bool {
    match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
        (Some(a), Some(b), _, _) => a == b,
        (_, _, Some(a), Some(b)) => a == b,
        _ => a.as_f64().is_some_and(|a| Some(a) == b.as_f64()),
    }
}

/// Case folded one character at a time, the same way for patterns and values
/// (whole-string lowercasing depends on context: a final sigma, a dotted I).
pub fn fold(text: &str) -> String {
    text.chars().map(|c| c.to_lowercase().next().unwrap_or(c)).collect()
}
