//! Lambda behind `POST /api/v1/events/basket`: stores the basket and answers what
//! the tenant's BASKET rules give it (see shared::api::basket).

use shared::api::basket::{BasketApi, assess_basket};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(BasketApi::new).await?;
    lambda::serve_api(&api, assess_basket).await
}
