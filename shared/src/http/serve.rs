//! The wrapper every API handler runs in: one span per request with its id and
//! tenant, method check, authentication, and errors turned into problem+json.

use std::future::Future;

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use tracing::{Instrument, field};

use super::auth::{Authentication, Caller};
use super::problem::problem_response;
use crate::error::ApiError;
use crate::routes::Route;
use crate::util::error_chain::ErrorChain;

pub async fn serve<F, Fut>(auth: &Authentication, route: &Route, req: Request, handler: F) -> Response<Body>
where
    F: FnOnce(Caller, Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    let request_id = request_id(&req);
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        route = %route,
        tenant = field::Empty,
    );
    async {
        let outcome = async {
            if req.method().as_str() != route.method {
                return Err(ApiError::MethodNotAllowed {
                    method: req.method().to_string(),
                    allowed: vec![route.method],
                });
            }
            let caller = auth.caller(&req)?;
            tracing::Span::current().record("tenant", caller.tenant.as_str());
            auth.admit(&caller.tenant).await?;
            for scope in route.scopes() {
                caller.may(*scope)?;
            }
            handler(caller, req).await
        }
        .await;
        let response = match outcome {
            Ok(response) => response,
            Err(err) => {
                if err.status().is_server_error() {
                    tracing::error!(error = %ErrorChain(&err), "request failed");
                } else {
                    tracing::info!(reason = %err, "request refused");
                }
                problem_response(&err, &request_id)
            }
        };
        tracing::info!(status = response.status().as_u16(), "request handled");
        response
    }
    .instrument(span)
    .await
}

/// API Gateway's request id (what the caller sees), else Lambda's, else none.
pub(crate) fn request_id(req: &Request) -> String {
    let gateway = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        _ => None,
    };
    gateway
        .or_else(|| req.lambda_context_ref().map(|c| c.request_id.clone()))
        .unwrap_or_else(|| "-".to_owned())
}
