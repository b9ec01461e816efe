//! Lambda behind `PUT /api/v1/customers/{customerId}/lock`: locks or unlocks a customer.

use shared::api::customers::{CustomersApi, lock_customer};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(CustomersApi::new).await?;
    lambda::serve_api(&api, lock_customer).await
}
