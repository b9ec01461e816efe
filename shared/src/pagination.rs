//! `limit` and the opaque `next_token` of list endpoints.
//!
//! A token carries the store's cursor and the scope of the listing it came from
//! (e.g. the entity), so a token replayed against another listing is refused
//! rather than silently skipping items.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::aws_lambda_events::query_map::QueryMap;

use crate::error::FieldError;

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;

#[derive(Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    /// The store's cursor, decoded from `next_token`.
    pub cursor: Option<String>,
}

/// Tokens longer than this were not issued here (cursors are short keys).
const MAX_TOKEN_LEN: usize = 2048;

impl PageRequest {
    /// Reads `limit` and `next_token` for a listing of `scope`.
    pub fn from_query(query: &QueryMap, scope: &str) -> Result<Self, FieldError> {
        let limit = match query.first("limit") {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| FieldError::new("limit", format!("must be an integer from 1 to {MAX_LIMIT}")))?,
        };
        let cursor = query
            .first("next_token")
            .map(|token| decode_token(scope, token))
            .transpose()?;
        Ok(Self { limit, cursor })
    }
}

pub fn encode_token(scope: &str, cursor: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{scope}\n{cursor}"))
}

fn decode_token(scope: &str, token: &str) -> Result<String, FieldError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid_token());
    }
    let text = URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(invalid_token)?;
    match text.split_once('\n') {
        Some((issued_for, cursor)) if issued_for == scope => Ok(cursor.to_owned()),
        _ => Err(FieldError::new("next_token", "was issued for another listing")),
    }
}

pub fn invalid_token() -> FieldError {
    FieldError::new("next_token", "is not a token this API issued")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn query(pairs: &[(&str, &str)]) -> QueryMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<HashMap<_, _>>()
            .into()
    }

    #[test]
    fn defaults_and_round_trips_the_token() {
        let token = encode_token("ORDER/1", "2026-01-01T00:00:00.000Z#evt_1");
        let page = PageRequest::from_query(&query(&[("next_token", &token)]), "ORDER/1").expect("valid");
        assert_eq!(page.limit, DEFAULT_LIMIT);
        assert_eq!(page.cursor.as_deref(), Some("2026-01-01T00:00:00.000Z#evt_1"));
    }

    #[test]
    fn refuses_a_token_of_another_listing() {
        let token = encode_token("ORDER/1", "2026-01-01T00:00:00.000Z#evt_1");
        assert!(PageRequest::from_query(&query(&[("next_token", &token)]), "ORDER/2").is_err());
    }

    #[test]
    fn rejects_out_of_range_limits_and_garbage_tokens() {
        for bad in [
            ("limit", "0"),
            ("limit", "501"),
            ("limit", "ten"),
            ("next_token", "%%%"),
        ] {
            assert!(
                PageRequest::from_query(&query(&[bad]), "ORDER/1").is_err(),
                "{bad:?} accepted"
            );
        }
    }
}
