//! Lambda behind `POST /api/v1/event-subscription/test-filter`: whether a
//! content filter matches a sample envelope.

use shared::api::filters::{FiltersApi, test_filter};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(FiltersApi::new).await?;
    lambda::serve_api(&api, test_filter).await
}
