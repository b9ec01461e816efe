//! The tenant a request acts for. Every stored key starts with it, so a handler
//! cannot read or write another tenant's items without constructing its id.

use std::collections::BTreeSet;
use std::fmt;

use crate::error::ApiError;

/// Header that names the tenant on every request.
pub const TENANT_HEADER: &str = "X-TWC-Tenant";

const MAX_LEN: usize = 64;

/// A validated tenant name: 1–64 of `A-Z a-z 0-9 . _ -`, starting alphanumeric.
/// The charset keeps the `#` key separator out, so keys cannot be forged.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TryFrom<String> for TenantId {
    type Error = &'static str;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw).map_err(|_| "not a valid tenant name")
    }
}

impl From<TenantId> for String {
    fn from(tenant: TenantId) -> Self {
        tenant.0
    }
}

impl TenantId {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let valid = raw.len() <= MAX_LEN
            && raw.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ApiError::invalid_field(
                TENANT_HEADER,
                "must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Tenants an operator lists in a template parameter: ids separated by commas,
/// or `*` for every tenant; empty lists none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantList(BTreeSet<String>);

impl TenantList {
    pub fn parse(raw: &str) -> Self {
        Self(
            raw.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    /// Every tenant.
    pub fn all() -> Self {
        Self::parse("*")
    }

    pub fn contains(&self, tenant: &TenantId) -> bool {
        self.0.contains("*") || self.0.contains(tenant.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_names() {
        for ok in ["acme", "ACME-eu_1.prod", "1shop"] {
            assert_eq!(TenantId::parse(ok).map(|t| t.0).ok(), Some(ok.to_owned()));
        }
    }

    #[test]
    fn a_list_names_tenants_or_all_of_them() {
        let listed = TenantList::parse(" acme , shop.eu,");
        assert!(listed.contains(&TenantId("acme".into())) && listed.contains(&TenantId("shop.eu".into())));
        assert!(!listed.contains(&TenantId("globex".into())));
        assert!(TenantList::parse("*").contains(&TenantId("globex".into())));
        assert!(TenantList::parse(" , ").is_empty());
    }

    #[test]
    fn rejects_separators_and_empty() {
        for bad in ["", "a#b", "-acme", "a b", "ä", &"x".repeat(65)] {
            assert!(TenantId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
