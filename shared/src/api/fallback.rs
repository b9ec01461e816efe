//! API Gateway's `$default` route: any method and path no other route takes.
//! Answers 405 (with `Allow`) for a known path, else 404, as problem+json.

use lambda_http::{Body, Request, RequestExt, Response};

use crate::error::ApiError;
use crate::http::{problem_response, request_id};
use crate::routes::{self, Resolution};

pub async fn route_not_found(req: Request) -> Response<Body> {
    let method = req.method().as_str();
    let path = req.raw_http_path();
    let err = match routes::resolve(method, path) {
        Resolution::MethodNotAllowed(allowed) => ApiError::MethodNotAllowed {
            method: method.to_owned(),
            allowed,
        },
        // A route that matches here means API Gateway and routes.rs disagree.
        Resolution::Found { route, .. } => {
            tracing::error!(%route, "a declared route reached the fallback function");
            ApiError::NotFound(format!("no route for {method} {path}"))
        }
        Resolution::NotFound => ApiError::NotFound(format!("no route for {method} {path}")),
    };
    tracing::info!(%method, %path, status = err.status().as_u16(), "unrouted request");
    problem_response(&err, &request_id(&req))
}
