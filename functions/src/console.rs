//! Lambda behind `GET /console` and `/console/{asset}`: the tenant console's
//! static files (no authorizer: the console calls the API with the user's token).

use shared::api::console::console;
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    lambda::serve_api(&(), |_, req| console(req)).await
}
