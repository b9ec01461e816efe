//! `POST /api/v1/events/basket` (seed 003): a basket assessed against the
//! tenant's rules, answered synchronously. This service has no rules engine, so
//! it says so (501) rather than answer with an assessment it did not make.

use lambda_http::{Body, Request, Response};

use super::config::AuthConfig;
use crate::error::ApiError;
use crate::http::{Authentication, Caller, serve};
use crate::routes;

pub struct BasketApi {
    pub auth: Authentication,
}

impl BasketApi {
    pub fn new(config: AuthConfig) -> Self {
        Self { auth: config.auth }
    }
}

pub async fn assess_basket(api: &BasketApi, req: Request) -> Response<Body> {
    serve(&api.auth, &routes::ASSESS_BASKET, req, |_: Caller, _| async {
        Err(ApiError::NotImplemented(
            "basket assessment needs an assessment rules engine, which this service does not have; \
             nothing was stored. Send orders to POST /api/v1/events/orders."
                .into(),
        ))
    })
    .await
}

#[cfg(test)]
mod tests {
    use lambda_http::http;
    use serde_json::Value;

    use super::*;

    fn basket(tenant: Option<&str>) -> Request {
        let mut request = http::Request::builder()
            .method("POST")
            .uri("/api/v1/events/basket")
            .header("content-type", "application/json");
        if let Some(tenant) = tenant {
            request = request.header("x-twc-tenant", tenant);
        }
        request
            .body(Body::Text(r#"{"basket": {"basketId": "b-1"}}"#.into()))
            .expect("request")
    }

    #[tokio::test]
    async fn answers_501_with_a_problem_that_says_why() {
        let api = BasketApi {
            auth: Authentication::DisabledForLocalRun,
        };
        let response = assess_basket(&api, basket(Some("acme"))).await;
        assert_eq!(response.status(), 501);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let problem: Value = serde_json::from_slice(response.body().as_ref()).expect("json");
        assert!(
            problem["detail"].as_str().is_some_and(|d| d.contains("rules engine")),
            "{problem}"
        );
        // the tenant is still required first
        assert_eq!(assess_basket(&api, basket(None)).await.status(), 400);
    }
}
