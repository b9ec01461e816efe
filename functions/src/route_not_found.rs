//! Lambda behind API Gateway's `$default` route: problem+json 404/405 for unknown routes.

use shared::api::fallback::route_not_found;
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    lambda::serve_api(&(), |_, req| route_not_found(req)).await
}
