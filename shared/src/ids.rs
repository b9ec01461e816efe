//! Identifier rules shared by every resource.

use crate::error::FieldError;

const MAX_ID_LEN: usize = 128;

/// A client-chosen id must fit in a URL path segment and a DynamoDB key unchanged:
/// 1–128 of `A-Z a-z 0-9 - _ . : @`.
pub fn validate_client_id(field: &str, id: &str) -> Result<(), FieldError> {
    let valid = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@'));
    if valid {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "must be 1-128 characters of A-Z, a-z, 0-9, '-', '_', '.', ':' or '@'",
        ))
    }
}

/// A server-generated id: a type prefix and a time-ordered UUID, e.g. `evt_0190…`.
pub fn generate(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// 32 hex characters of SHA-256 over `parts` (kept apart by NUL): a fixed-size
/// key for values of any length and character set.
pub fn digest(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hash.update([0]);
        }
        hash.update(part.as_bytes());
    }
    hash.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_valid_client_ids() {
        let id = generate("evt");
        assert!(id.starts_with("evt_"));
        assert!(validate_client_id("id", &id).is_ok());
    }

    #[test]
    fn rejects_path_breaking_ids() {
        for bad in ["", "a/b", "a b", "a#b", "a?b", &"x".repeat(129)] {
            assert!(validate_client_id("id", bad).is_err(), "{bad:?} accepted");
        }
    }
}
