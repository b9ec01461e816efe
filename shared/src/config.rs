//! Configuration: each function's settings are one plain-data config, read
//! from its environment once per container. Lambda reads the process
//! environment; the local stack reads the same variables, resolved from
//! template.yaml against its own resources, through the same `read`.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// One function's settings, named by the environment variables it reads.
pub trait FunctionConfig: Sized {
    /// Every variable `read` may read; template.yaml sets exactly these.
    const VARIABLES: &'static [&'static str];

    fn read(env: &Environment) -> Result<Self, ConfigError>;

    /// The settings of the running Lambda.
    fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Environment::process())
    }
}

/// Looks a variable up by name.
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Where settings come from, remembering which were read (so a test can hold
/// `read` to `VARIABLES`).
pub struct Environment<'a> {
    lookup: Lookup<'a>,
    read: RefCell<BTreeSet<String>>,
}

impl<'a> Environment<'a> {
    pub fn process() -> Self {
        Self::new(|name| std::env::var(name).ok())
    }

    pub fn new(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Self {
            lookup: Box::new(lookup),
            read: RefCell::default(),
        }
    }

    /// Variables from a map (the local stack's, a test's).
    pub fn of<K, V>(vars: &'a std::collections::BTreeMap<K, V>) -> Self
    where
        K: std::borrow::Borrow<str> + Ord,
        V: AsRef<str>,
    {
        Self::new(|name| vars.get(name).map(|v| v.as_ref().to_owned()))
    }

    /// The names looked up so far.
    pub fn names_read(&self) -> BTreeSet<String> {
        self.read.borrow().clone()
    }

    /// A set, non-empty value.
    fn value(&self, name: &str) -> Option<String> {
        self.read.borrow_mut().insert(name.to_owned());
        (self.lookup)(name).filter(|v| !v.is_empty())
    }

    pub fn optional(&self, name: &str) -> Option<String> {
        self.value(name)
    }

    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.value(name).ok_or(ConfigError::Missing(name))
    }

    pub fn parsed_or<T: FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.value(name) {
            Some(raw) => raw.parse().map_err(|e: T::Err| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            }),
            None => Ok(default),
        }
    }

    pub fn string_or(&self, name: &'static str, default: &str) -> String {
        self.value(name).unwrap_or_else(|| default.to_owned())
    }

    /// `name` as a whole number of `unit`s (`chrono::Duration::days`, `hours`)
    /// within `range`, `default` when unset.
    pub fn duration(
        &self,
        name: &'static str,
        unit: fn(i64) -> chrono::Duration,
        default: i64,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<chrono::Duration, ConfigError> {
        self.count(name, default, range).map(unit)
    }

    /// `name` as a whole number within `range`, `default` when unset.
    pub fn count<T>(&self, name: &'static str, default: T, range: std::ops::RangeInclusive<T>) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + std::fmt::Display,
        T::Err: std::fmt::Display,
    {
        let count: T = self.parsed_or(name, default)?;
        if range.contains(&count) {
            Ok(count)
        } else {
            Err(ConfigError::Invalid {
                name,
                reason: format!("{count} is not between {} and {}", range.start(), range.end()),
            })
        }
    }
}

/// How many days an event (and what it claimed) is kept.
pub const RETENTION: &str = "EVENT_RETENTION_DAYS";

/// `EVENT_RETENTION_DAYS`: 1 to 36,500 days, default 365.
pub fn retention(env: &Environment) -> Result<chrono::Duration, ConfigError> {
    env.duration(RETENTION, chrono::Duration::days, 365, 1..=36_500)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn empty_values_are_unset_and_every_lookup_is_remembered() {
        let vars = BTreeMap::from([("A", "1"), ("B", ""), ("C", "x")]);
        let env = Environment::of(&vars);
        assert!(matches!(env.parsed_or("A", 0), Ok(1)));
        assert_eq!(env.string_or("B", "default"), "default");
        assert!(matches!(env.required("D"), Err(ConfigError::Missing("D"))));
        assert!(matches!(
            env.parsed_or::<u32>("C", 0),
            Err(ConfigError::Invalid { name: "C", .. })
        ));
        assert_eq!(env.names_read(), ["A", "B", "C", "D"].map(String::from).into());
    }
}
