//! Lambda behind `GET /api/v1/customers/{customerId}`: a customer's points and spend.

use shared::api::customers::{CustomersApi, get_customer};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(CustomersApi::new).await?;
    lambda::serve_api(&api, get_customer).await
}
