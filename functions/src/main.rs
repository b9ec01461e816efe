//! The binary every function of the stack runs: `_HANDLER` (the function's
//! `Handler` in template.yaml) chooses which (see lib.rs).

use shared::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    let handler = functions::handler(std::env::var("_HANDLER").ok().as_deref())?;
    (handler.run)().await
}
