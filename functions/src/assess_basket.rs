//! Lambda behind `POST /api/v1/events/basket`: stores the basket and answers what
//! the tenant's BASKET rules give it (see shared::api::basket).

use shared::api::basket::{BasketApi, assess_basket};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(BasketApi::new).await?;
    lambda::serve_api(&api, assess_basket).await
}
