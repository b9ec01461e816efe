//! Lambda behind `GET /api/v1/customers/{customerId}/ledger`: a customer's ledger, newest first.

use shared::api::customers::{CustomersApi, list_customer_ledger};
use shared::lambda;

pub async fn run() -> Result<(), lambda_http::Error> {
    let api = lambda::build(CustomersApi::new).await?;
    lambda::serve_api(&api, list_customer_ledger).await
}
