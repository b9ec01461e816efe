//! The tenant a request acts for. Every stored key starts with it, so a handler
//! cannot read or write another tenant's items without constructing its id.

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
    fn rejects_separators_and_empty() {
        for bad in ["", "a#b", "-acme", "a b", "ä", &"x".repeat(65)] {
            assert!(TenantId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
