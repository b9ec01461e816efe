use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::error::ApiError;

pub fn json_response(status: StatusCode, value: &impl Serialize) -> Result<Response<Body>, ApiError> {
    let body = serde_json::to_string(value).map_err(ApiError::internal)?;
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body))
        .map_err(ApiError::internal)
}
