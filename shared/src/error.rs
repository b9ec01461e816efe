//! The one error type every API handler returns. `http::problem` maps it to an
//! RFC 9457 problem+json response, so status codes are decided in one place.

use crate::storage::{BoxError, StorageError};
use serde::Serialize;

/// One invalid input, named by its JSON path (`event_payload.operation`) or header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    /// An error code of the API the request follows (seed 001: 1802, 1810, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            code: None,
        }
    }

    /// The same error, carrying `code`.
    #[must_use]
    pub fn with_code(self, code: u16) -> Self {
        Self {
            code: Some(code),
            ..self
        }
    }
}

/// Collects every invalid field of a request, so one 400 names them all.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// The value if valid; otherwise records the error.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        result.map_err(|e| self.0.push(e)).ok()
    }

    /// Records an error as it is.
    pub fn push_error(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// Records an invalid field.
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// The value if present; otherwise records `field` as required.
    pub fn required<T>(&mut self, field: &str, value: Option<T>) -> Option<T> {
        self.check(value.ok_or_else(|| FieldError::new(field, "is required")))
    }

    /// `value` when nothing was recorded, else a 400 listing what was.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, ApiError> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(ApiError::invalid(self.0)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or fails validation.
    #[error("{detail}")]
    Invalid { detail: String, errors: Vec<FieldError> },
    /// 401: no usable credentials reached the handler.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the credentials are not valid for the tenant named in the request,
    /// or lack the scope the call needs.
    #[error("{0}")]
    Forbidden(String),
    /// 404: unknown id, also for an id that belongs to another tenant.
    #[error("{0}")]
    NotFound(String),
    /// 405: the path exists but not with this method.
    #[error("method {method} is not allowed here; allowed: {}", allowed.join(", "))]
    MethodNotAllowed { method: String, allowed: Vec<&'static str> },
    /// 409: the same id was sent before with different content.
    #[error("{0}")]
    Conflict(String),
    /// 409: the name is taken; `code` is the error code the request's API defines.
    #[error("{detail}")]
    AlreadyExists { detail: String, code: u16 },
    /// 409 or 422: the request is valid, but what it asks of the account cannot
    /// be done; `code` names why (`account_locked`, `insufficient_points`).
    #[error("{detail}")]
    Refused {
        status: u16,
        code: &'static str,
        detail: String,
    },
    /// 413: the body is larger than the API accepts.
    #[error("the request body is {actual} bytes; the limit is {limit} bytes")]
    PayloadTooLarge { actual: usize, limit: usize },
    /// 415: the body is not declared as JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 501: the endpoint exists but what it asks for is not provided here.
    #[error("{0}")]
    NotImplemented(String),
    /// 429: the tenant is at one of its fair-share limits; it may send the
    /// same request again after `retry_after_seconds` (`Retry-After`).
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after_seconds: u32 },
    /// 500: a dependency failed, or a bug. The source is logged, never returned.
    #[error("internal error")]
    Internal(#[source] BoxError),
    /// 503: a dependency is throttled, faulty or unreachable for now; the client
    /// may send the same request again (`Retry-After`). The source is logged.
    #[error("temporarily unavailable")]
    Unavailable(#[source] BoxError),
}

/// The one way a store's failure reaches a caller: what may pass if sent again
/// (throttling, a conflict, a fault) is a 503 with `Retry-After`, anything else a 500.
impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        if err.may_pass() {
            Self::Unavailable(Box::new(err))
        } else {
            Self::Internal(Box::new(err))
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        Self::invalid(vec![error])
    }
}

impl ApiError {
    /// A 500 for `detail` (a bug, an impossible state): logged, never returned.
    pub fn internal(detail: impl Into<BoxError>) -> Self {
        Self::Internal(detail.into())
    }

    /// A 400 for a single field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError::new(field, message)])
    }

    /// The error code a client of seed 001's API expects: an `AlreadyExists`
    /// code, or the first coded field of a 400.
    pub fn code(&self) -> Option<u16> {
        match self {
            Self::AlreadyExists { code, .. } => Some(*code),
            Self::Invalid { errors, .. } => errors.iter().find_map(|e| e.code),
            _ => None,
        }
    }

    /// A 400 listing every invalid field found.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("{} fields are invalid", many.len()),
        };
        Self::Invalid { detail, errors }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::answered;
    use crate::storage::ErrorKind;

    #[test]
    fn a_storage_failure_that_may_pass_is_a_503_anything_else_a_500_with_its_source() {
        let throttled: ApiError = StorageError::sdk("PutItem", answered(400, "ThrottlingException")).into();
        assert_eq!(throttled.status(), 503);
        let conflict: ApiError = StorageError::new(ErrorKind::Conflict, "TransactWriteItems", None).into();
        assert_eq!(conflict.status(), 503);
        let refused: ApiError = StorageError::sdk("PutItem", answered(400, "ValidationException")).into();
        assert_eq!(refused.status(), 500);
        let source = std::error::Error::source(&refused).expect("the storage error");
        assert_eq!(source.to_string(), "PutItem");
    }
}
