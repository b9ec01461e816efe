//! AWS SDK configuration, loaded once per container. `AWS_ENDPOINT_URL` (the
//! SDK's own variable) points every client at an emulator in local runs and tests.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// What kind of failure an AWS call met: whether sending it again may work,
/// and why. The one classification every caller uses (API answers, stream
/// consumers' retry-or-park).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The resource (a table, a queue, a secret) does not exist.
    NotFound,
    /// A concurrent request held the item: the same request may pass later.
    Conflict,
    /// Over a rate or capacity limit: the same request may pass later.
    Throttled,
    /// A fault, a timeout, the network, expired credentials: may pass later.
    Unavailable,
    /// Refused (validation, size, access) or a bug: it fails again until
    /// something changes.
    Other,
}

impl ErrorKind {
    /// Whether the same request, sent again a moment later, may succeed.
    pub fn may_pass(self) -> bool {
        matches!(self, Self::Conflict | Self::Throttled | Self::Unavailable)
    }

    /// The kind of a modelled service error, from its code (what is left of an
    /// `SdkError` once taken apart).
    pub fn of_code(code: Option<&str>) -> Self {
        let Some(code) = code else { return Self::Other };
        if THROTTLING_CODES.contains(&code) {
            Self::Throttled
        } else if CONFLICT_CODES.contains(&code) {
            Self::Conflict
        } else if UNAVAILABLE_CODES.contains(&code) {
            Self::Unavailable
        } else if code == "ResourceNotFoundException" || code.ends_with("NotFound") {
            Self::NotFound
        } else {
            Self::Other
        }
    }

    /// The kind of a failed call: network failures, timeouts and 5xx are
    /// `Unavailable`, a 429 `Throttled`, a request that could not be built `Other`.
    pub fn of<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Self {
        match err {
            SdkError::ServiceError(service) => match (service.raw().status().as_u16(), Self::of_code(err.code())) {
                (_, kind) if kind != Self::Other => kind,
                (429, _) => Self::Throttled,
                (500.., _) => Self::Unavailable,
                (_, kind) => kind,
            },
            SdkError::ConstructionFailure(_) => Self::Other,
            // Timeouts, connection failures, responses that could not be read.
            _ => Self::Unavailable,
        }
    }
}

/// Error codes AWS services use for throttling.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
];

/// Error codes of requests that met a concurrent one.
const CONFLICT_CODES: &[&str] = &["TransactionInProgressException", "TransactionConflictException"];

/// Error codes of a service's own faults and of failures a moment cures.
const UNAVAILABLE_CODES: &[&str] = &[
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
    // Credentials that expired or a clock that drifted: fresh ones, a moment later.
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "InvalidSignatureException",
];

/// Whether a modelled service error may go away if the call is sent again.
pub fn is_transient_code(code: Option<&str>) -> bool {
    ErrorKind::of_code(code).may_pass()
}

/// Whether a call that failed with `err` may succeed if sent again: network
/// failures, timeouts, throttling, conflicts, expired credentials and 5xx may;
/// anything else the service refused (validation, size limits, access, a
/// missing resource) will be refused again until someone changes something.
/// Such a record is parked with its identity; the event itself stays in the
/// events table to be replayed. The one rule every stream consumer uses to tell
/// a retry from a poison record.
pub fn is_transient<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    ErrorKind::of(err).may_pass()
}

/// A service's answer `status` with error `code`, as the SDK reports it: for
/// tests of code that tells errors apart.
#[cfg(test)]
pub(crate) fn answered(status: u16, code: &str) -> SdkError<aws_sdk_dynamodb::error::ErrorMetadata, HttpResponse> {
    let raw = HttpResponse::new(
        status.try_into().expect("status"),
        aws_smithy_types::body::SdkBody::empty(),
    );
    SdkError::service_error(
        aws_sdk_dynamodb::error::ErrorMetadata::builder().code(code).build(),
        raw,
    )
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::ErrorMetadata;

    use super::*;

    #[test]
    fn throttling_faults_and_the_network_are_transient_refusals_are_not() {
        assert!(is_transient(&answered(400, "ThrottlingException")));
        assert!(is_transient(&answered(400, "ProvisionedThroughputExceededException")));
        assert!(is_transient(&answered(500, "InternalServerError")));
        assert!(is_transient(&answered(503, "ServiceUnavailable")));
        assert!(is_transient(&answered(429, "TooManyRequests")));
        assert!(!is_transient(&answered(400, "ValidationException")));
        assert!(!is_transient(&answered(400, "AccessDeniedException")));
        assert!(!is_transient(&answered(400, "ResourceNotFoundException")));
        let timeout: SdkError<ErrorMetadata, HttpResponse> = SdkError::timeout_error("slow");
        assert!(is_transient(&timeout));
        let unbuildable: SdkError<ErrorMetadata, HttpResponse> = SdkError::construction_failure("bad");
        assert!(!is_transient(&unbuildable));
    }

    #[test]
    fn failures_keep_their_kind() {
        assert_eq!(
            ErrorKind::of(&answered(400, "ThrottlingException")),
            ErrorKind::Throttled
        );
        assert_eq!(ErrorKind::of(&answered(429, "TooManyRequests")), ErrorKind::Throttled);
        assert_eq!(
            ErrorKind::of(&answered(400, "TransactionConflictException")),
            ErrorKind::Conflict
        );
        assert_eq!(
            ErrorKind::of(&answered(503, "ServiceUnavailable")),
            ErrorKind::Unavailable
        );
        assert_eq!(ErrorKind::of(&answered(502, "BadGateway")), ErrorKind::Unavailable);
        assert_eq!(
            ErrorKind::of(&answered(400, "ResourceNotFoundException")),
            ErrorKind::NotFound
        );
        assert_eq!(ErrorKind::of(&answered(400, "ValidationException")), ErrorKind::Other);
    }
}
