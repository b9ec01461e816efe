//! Starting a Lambda function: the one place `main`s share.

use std::future::Future;

use lambda_http::{Body, Request, Response, service_fn};

/// Logs as JSON when Lambda's log format is JSON (`AWS_LAMBDA_LOG_FORMAT`), at
/// `AWS_LAMBDA_LOG_LEVEL` (default INFO).
pub fn init_logging() {
    lambda_http::tracing::init_default_subscriber();
}

/// Serves API Gateway requests with `handler`, reusing `app` (SDK clients and
/// configuration built once per container) for every invocation.
pub async fn serve_api<'a, A, F, Fut>(app: &'a A, handler: F) -> Result<(), lambda_http::Error>
where
    A: Sync,
    F: Fn(&'a A, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send + 'a,
{
    lambda_http::run(service_fn(move |req| {
        let response = handler(app, req);
        async move { Ok::<_, lambda_http::Error>(response.await) }
    }))
    .await
}
