//! Lambda behind `GET /api/v1/customers/{customerId}/ledger`: a customer's ledger, newest first.

use shared::api::customers::{CustomersApi, list_customer_ledger};
use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let api = lambda::build(CustomersApi::new).await?;
    lambda::serve_api(&api, list_customer_ledger).await
}
