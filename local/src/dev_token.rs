//! Bearer tokens for the local run's opt-in authentication (`AUTH=jwt`): HS256
//! JWTs signed with a development secret. Verified tokens become the authorizer
//! claims API Gateway would pass, so the handlers' tenant-claim check runs as
//! deployed. Development only: production tokens are verified by API Gateway.

use shared::http::Scope;
use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a JWT")]
    Malformed,
    #[error("only HS256 tokens are accepted locally")]
    Algorithm,
    #[error("bad signature")]
    Signature,
    #[error("expired")]
    Expired,
}

fn mac(secret: &str, signing_input: &str) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(signing_input.as_bytes());
    mac
}

/// A token for `tenant` (claim `claim`), valid for `ttl_seconds` from `now`,
/// granting every scope the API asks for (as the template defaults them).
pub fn mint(secret: &str, claim: &str, tenant: &str, now: i64, ttl_seconds: i64) -> String {
    mint_with_scopes(secret, claim, tenant, &every_scope(), now, ttl_seconds)
}

/// The default name of every scope the API asks for.
pub fn every_scope() -> Vec<&'static str> {
    Scope::ALL.into_iter().map(Scope::default_name).collect()
}

/// `mint`, granting exactly `scopes` (its `scope` claim, space-separated).
pub fn mint_with_scopes(
    secret: &str,
    claim: &str,
    tenant: &str,
    scopes: &[&str],
    now: i64,
    ttl_seconds: i64,
) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
    let scope = scopes.join(" ");
    let claims =
        json!({ claim: tenant, "sub": "local-developer", "scope": scope, "iat": now, "exp": now + ttl_seconds });
    let signing_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = URL_SAFE_NO_PAD.encode(mac(secret, &signing_input).finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// The token's claims as API Gateway's JWT authorizer hands them on: every value
/// a string.
pub fn verify(secret: &str, token: &str, now: i64) -> Result<HashMap<String, String>, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let decode = |part: &str| -> Result<Value, TokenError> {
        let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| TokenError::Malformed)?;
        serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
    };
    if decode(header)?["alg"] != "HS256" {
        return Err(TokenError::Algorithm);
    }
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| TokenError::Malformed)?;
    mac(secret, &format!("{header}.{claims}"))
        .verify_slice(&signature)
        .map_err(|_| TokenError::Signature)?;
    let Value::Object(claims) = decode(claims)? else {
        return Err(TokenError::Malformed);
    };
    if claims.get("exp").and_then(Value::as_i64).is_some_and(|exp| exp <= now) {
        return Err(TokenError::Expired);
    }
    Ok(claims
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            (name, text)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_verifies_to_its_claims() {
        let token = mint("s3cret", "tenant", "acme", 1_000, 60);
        let claims = verify("s3cret", &token, 1_010).expect("valid");
        assert_eq!(claims["tenant"], "acme");
        assert_eq!(claims["exp"], "1060");
        assert_eq!(claims["scope"], every_scope().join(" "));
        let read_only = mint_with_scopes("s3cret", "tenant", "acme", &["openid"], 1_000, 60);
        assert_eq!(verify("s3cret", &read_only, 1_010).expect("valid")["scope"], "openid");
    }

    #[test]
    fn rejects_forged_expired_and_malformed_tokens() {
        let token = mint("s3cret", "tenant", "acme", 1_000, 60);
        assert_eq!(verify("other", &token, 1_010), Err(TokenError::Signature));
        assert_eq!(verify("s3cret", &token, 1_060), Err(TokenError::Expired));
        assert_eq!(verify("s3cret", "a.b", 0), Err(TokenError::Malformed));
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            token.split('.').nth(1).unwrap_or_default()
        );
        assert_eq!(verify("s3cret", &unsigned, 0), Err(TokenError::Algorithm));
    }
}
