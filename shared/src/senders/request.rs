//! `PUT /api/v1/settings/sendgrid`'s body, validated into a sender, and what the
//! API answers instead of the key.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::store::{StoredAddress, StoredSender};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::secrets::MASK;
use crate::sendgrid::{Address, ApiKey, Sender};
use crate::util::text::is_email_address;

const MAX_KEY_LEN: usize = 200;
const MAX_NAME_LEN: usize = 100;

/// Field names as the jobs API spells them (snake_case). No `Debug`: it holds
/// the key in clear.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SenderRequest {
    api_key: Option<String>,
    from_email: Option<String>,
    from_name: Option<String>,
    // Server-set; accepted and ignored so a response can be sent back as is.
    #[serde(default, rename = "updated_at")]
    _updated_at: Option<serde::de::IgnoredAny>,
}

impl SenderRequest {
    pub fn into_sender(self) -> Result<Sender, ApiError> {
        let mut errors = FieldErrors::default();
        let key = errors
            .required("api_key", self.api_key)
            .and_then(|key| errors.check(api_key(key)));
        let email = errors
            .required("from_email", self.from_email)
            .and_then(|email| errors.check(email_address(email)));
        let name = self.from_name.filter(|n| !n.is_empty());
        if let Some(name) = &name {
            errors.check(from_name(name));
        }
        let sender = key.zip(email).map(|(key, email)| Sender {
            key,
            from: Address { email, name },
        });
        errors.finish(sender)
    }
}

/// A SendGrid key as SendGrid issues them (`SG.` and printable ASCII). The mask a
/// response shows is refused: sending a response back must not set the key to it.
fn api_key(key: String) -> Result<ApiKey, FieldError> {
    let valid = key.starts_with("SG.") && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic());
    if valid {
        Ok(ApiKey::new(key))
    } else {
        Err(FieldError::new(
            "api_key",
            format!("must be a SendGrid API key (SG. and at most {MAX_KEY_LEN} printable characters)"),
        ))
    }
}

/// openapi.yaml states the same rule as a pattern.
fn email_address(email: String) -> Result<String, FieldError> {
    if is_email_address(&email) {
        Ok(email)
    } else {
        Err(FieldError::new("from_email", "must be an e-mail address"))
    }
}

fn from_name(name: &str) -> Result<(), FieldError> {
    if name.chars().count() <= MAX_NAME_LEN && !name.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(FieldError::new(
            "from_name",
            format!("must be at most {MAX_NAME_LEN} characters, without control characters"),
        ))
    }
}

/// A tenant's sender as answered: the key is always masked.
#[derive(Debug, Serialize)]
pub struct SenderView {
    pub api_key: &'static str,
    pub from_email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_name: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl From<StoredAddress> for SenderView {
    fn from(stored: StoredAddress) -> Self {
        Self {
            api_key: MASK,
            from_email: stored.from.email,
            from_name: stored.from.name,
            updated_at: stored.updated_at,
        }
    }
}

impl From<StoredSender> for SenderView {
    fn from(stored: StoredSender) -> Self {
        StoredAddress::from(stored).into()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(body: serde_json::Value) -> Result<Sender, ApiError> {
        serde_json::from_value::<SenderRequest>(body)
            .expect("shape")
            .into_sender()
    }

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Invalid { errors, .. } => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn a_key_and_a_sender_make_a_sender() {
        let sender = parse(json!({"api_key": "SG.abc.def", "from_email": "news@acme.example", "from_name": "Acme"}))
            .expect("valid");
        assert_eq!(sender.key, ApiKey::new("SG.abc.def"));
        assert_eq!(sender.from.name.as_deref(), Some("Acme"));
    }

    #[test]
    fn every_invalid_field_is_named() {
        let err = parse(json!({"api_key": "****", "from_email": "not-an-address"})).expect_err("invalid");
        assert_eq!(fields(err), ["api_key", "from_email"]);
        assert_eq!(fields(parse(json!({})).expect_err("empty")), ["api_key", "from_email"]);
        for bad in ["a b@x.com", "@x.com", "a@x", "a@b@x.com", "<a@x.com>"] {
            let err = parse(json!({"api_key": "SG.k", "from_email": bad})).expect_err(bad);
            assert_eq!(fields(err), ["from_email"], "{bad}");
        }
        let long = "n".repeat(101);
        let err = parse(json!({"api_key": "SG.k", "from_email": "a@x.com", "from_name": long})).expect_err("name");
        assert_eq!(fields(err), ["from_name"]);
    }

    #[test]
    fn the_answer_never_holds_the_key() {
        let stored = StoredSender {
            sender: parse(json!({"api_key": "SG.secret", "from_email": "a@x.com"})).expect("valid"),
            updated_at: Utc::now(),
        };
        let answer = serde_json::to_string(&SenderView::from(stored)).expect("json");
        assert!(!answer.contains("SG.secret") && answer.contains("\"api_key\":\"****\""));
    }
}
