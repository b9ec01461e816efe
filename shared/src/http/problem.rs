//! `ApiError` → `application/problem+json` (RFC 9457). The only place that
//! decides an error's status code.

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::json;

use crate::error::ApiError;

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Invalid { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) | Self::AlreadyExists { .. } => StatusCode::CONFLICT,
            Self::Refused { status, .. } => StatusCode::from_u16(*status).unwrap_or(StatusCode::CONFLICT),
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// How long a client should wait before sending a request again after a 503.
const RETRY_AFTER_SECONDS: &str = "1";

pub fn problem_response(err: &ApiError, request_id: &str) -> Response<Body> {
    let status = err.status();
    // Internal details stay in the logs; the caller gets the id to quote.
    let detail = match err {
        ApiError::Internal(_) => format!("An internal error occurred. Request id: {request_id}"),
        ApiError::Unavailable(_) => {
            format!("The service is busy or briefly unavailable; send the same request again. Request id: {request_id}")
        }
        other => other.to_string(),
    };
    let mut body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "request_id": request_id,
    });
    if let ApiError::Invalid { errors, .. } = err {
        body["errors"] = json!(errors);
    }
    if let Some(code) = err.code() {
        body["code"] = json!(code);
    }
    if let ApiError::Refused { code, .. } = err {
        body["code"] = json!(code);
    }
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/problem+json");
    if let ApiError::MethodNotAllowed { allowed, .. } = err {
        builder = builder.header(header::ALLOW, allowed.join(", "));
    }
    match err {
        ApiError::Unavailable(_) => builder = builder.header(header::RETRY_AFTER, RETRY_AFTER_SECONDS),
        ApiError::TooManyRequests {
            retry_after_seconds, ..
        } => builder = builder.header(header::RETRY_AFTER, retry_after_seconds.to_string()),
        _ => {}
    }
    builder
        .body(Body::Text(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FieldError;

    fn body_json(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).expect("json body")
    }

    #[test]
    fn validation_errors_name_their_fields() {
        let response = problem_response(&ApiError::invalid_field("entity_id", "is required"), "r-1");
        assert_eq!(response.status(), 400);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
        let body = body_json(&response);
        assert_eq!(body["errors"][0]["field"], "entity_id");
        assert_eq!(body["detail"], "entity_id: is required");
    }

    #[test]
    fn coded_errors_carry_their_code_at_the_top_and_per_field() {
        let err = ApiError::invalid(vec![
            FieldError::new("description", "is too long"),
            FieldError::new("fields[0].type", "is not a field type").with_code(1823),
        ]);
        let body = body_json(&problem_response(&err, "r"));
        assert_eq!(body["code"], 1823);
        assert_eq!(body["errors"][0].get("code"), None);
        assert_eq!(body["errors"][1]["code"], 1823);
        let taken = ApiError::AlreadyExists {
            detail: "taken".into(),
            code: 1806,
        };
        let response = problem_response(&taken, "r");
        assert_eq!(response.status(), 409);
        assert_eq!(body_json(&response)["code"], 1806);
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let response = problem_response(&ApiError::Internal("table arn:aws:secret".into()), "r-2");
        assert_eq!(response.status(), 500);
        assert!(!body_json(&response).to_string().contains("arn:aws"));
    }

    #[test]
    fn method_not_allowed_lists_allowed_methods() {
        let err = ApiError::MethodNotAllowed {
            method: "DELETE".into(),
            allowed: vec!["GET", "POST"],
        };
        assert_eq!(problem_response(&err, "r").headers()[header::ALLOW], "GET, POST");
    }

    #[test]
    fn a_dependency_that_is_briefly_unavailable_is_a_503_to_retry() {
        let response = problem_response(&ApiError::Unavailable("ThrottlingException: slow down".into()), "r-9");
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let body = body_json(&response);
        assert!(
            !body["detail"].as_str().unwrap_or_default().contains("Throttling"),
            "details stay in the logs"
        );
        assert_eq!(body["request_id"], "r-9");
    }
}
