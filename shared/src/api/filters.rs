//! `POST /api/v1/event-subscription/test-filter`: whether a content filter
//! matches a sample envelope, so a tenant can try a pattern before saving it.

use aws_config::SdkConfig;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::config::FiltersConfig;
use crate::error::ApiError;
use crate::http::{Authentication, json_body, json_response, serve};
use crate::routes;
use crate::subscriptions::Filter;

pub struct FiltersApi {
    pub auth: Authentication,
}

impl FiltersApi {
    pub fn new(sdk: &SdkConfig, config: FiltersConfig) -> Self {
        Self {
            auth: config.auth.connect(sdk),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFilterRequest {
    filter: Option<Value>,
    event: Option<Value>,
}

/// 200 `{matches}`; a 400 names the part of the filter that is wrong, as
/// saving a subscription with it would.
pub async fn test_filter(api: &FiltersApi, req: Request) -> Response<Body> {
    serve(&api.auth, &routes::TEST_FILTER, req, |_, req| async move {
        let body: TestFilterRequest = json_body(&req)?;
        let pattern = body
            .filter
            .ok_or_else(|| ApiError::invalid_field("filter", "is required"))?;
        let filter = Filter::parse(&pattern).map_err(|e| ApiError::from(e.under("filter")))?;
        let event = match body.event {
            Some(event @ Value::Object(_)) => event,
            _ => {
                return Err(ApiError::invalid_field(
                    "event",
                    "is required: an envelope, as a subscriber receives it",
                ));
            }
        };
        json_response(StatusCode::OK, &json!({"matches": filter.matches(&event)}))
    })
    .await
}
