//! Lambda behind API Gateway's `$default` route: problem+json 404/405 for unknown routes.

use shared::api::fallback::route_not_found;
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    lambda::serve_api(&(), |_, req| route_not_found(req)).await
}
