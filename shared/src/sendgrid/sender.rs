//! Who an e-mail goes out as: a SendGrid API key and the sender address verified
//! in that key's SendGrid account.

use std::fmt;

use super::mail::Address;

/// A SendGrid API key. Never printed, logged or answered.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, for the request's `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(****)")
    }
}

/// A key and the sender it may send as (SendGrid refuses unverified senders).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub key: ApiKey,
    pub from: Address,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_never_shows_in_debug_output() {
        let sender = Sender {
            key: ApiKey::new("SG.secret"),
            from: Address {
                email: "shop@example.com".into(),
                name: None,
            },
        };
        assert!(!format!("{sender:?}").contains("SG.secret"));
    }
}
