//! AWS SDK configuration, loaded once per container. `AWS_ENDPOINT_URL` (the
//! SDK's own variable) points every client at an emulator in local runs and tests.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Error codes AWS services use for throttling and for conflicting concurrent
/// requests: sending the same request again later can succeed.
const TRANSIENT_CODES: &[&str] = &[
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
    "TransactionInProgressException",
    "TransactionConflictException",
    "RequestTimeout",
    "RequestTimeoutException",
    // Credentials that expired or a clock that drifted: fresh ones, a moment later.
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "InvalidSignatureException",
];

/// Error codes of a service's own faults, for a modelled error whose HTTP status
/// is no longer at hand.
const FAULT_CODES: &[&str] = &[
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
];

/// Whether a modelled service error (what is left of an `SdkError` once taken
/// apart) may go away if the call is sent again: throttling, conflicts, faults.
pub fn is_transient_code(code: Option<&str>) -> bool {
    code.is_some_and(|code| TRANSIENT_CODES.contains(&code) || FAULT_CODES.contains(&code))
}

/// Whether a call that failed with `err` may succeed if sent again: network
/// failures, timeouts, throttling, expired credentials and 5xx may; anything else
/// the service refused (validation, size limits, access, a missing resource) will
/// be refused again until someone changes something. Such a record is parked with
/// its identity; the event itself stays in the events table to be replayed.
/// The one rule every stream consumer uses to tell a retry from a poison record.
pub fn is_transient<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            status >= 500 || status == 429 || is_transient_code(err.code())
        }
        SdkError::ConstructionFailure(_) => false,
        // Timeouts, connection failures, responses that could not be read.
        _ => true,
    }
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
}
