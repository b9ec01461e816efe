//! Starting a Lambda function: the one place the entry points (`functions/src`) share.

use std::future::Future;

use aws_config::SdkConfig;
use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::{Body, Request, Response, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::{ConfigError, FunctionConfig};

/// Logs as JSON when Lambda's log format is JSON (`AWS_LAMBDA_LOG_FORMAT`), at
/// `AWS_LAMBDA_LOG_LEVEL` (default INFO), never below INFO (see `logging`).
pub fn init_logging() {
    crate::logging::init();
}

/// A function's state as Lambda builds it, once per container: its settings
/// read from the environment, then its clients from one SDK configuration. The
/// local stack calls the same `new` with the same settings.
pub async fn build<C: FunctionConfig, T>(new: impl FnOnce(&SdkConfig, C) -> T) -> Result<T, ConfigError> {
    // Settings first: a missing variable fails before credentials are loaded.
    let config = C::from_env()?;
    Ok(new(&crate::aws::sdk_config().await, config))
}

/// Serves API Gateway requests with `handler`, reusing `app` (SDK clients and
/// configuration built once per container) for every invocation.
pub async fn serve_api<'a, A, F, Fut>(app: &'a A, handler: F) -> Result<(), lambda_http::Error>
where
    A: Sync,
    F: Fn(&'a A, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send + 'a,
{
    lambda_http::run(service_fn(move |req| {
        let response = handler(app, req);
        async move { Ok::<_, lambda_http::Error>(response.await) }
    }))
    .await
}

/// A partial batch response (`ReportBatchItemFailures`): the same shape for
/// DynamoDB stream records (sequence numbers) and SQS messages (message ids).
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemFailure {
    pub item_identifier: String,
}

impl FromIterator<String> for BatchResponse {
    fn from_iter<I: IntoIterator<Item = String>>(failed: I) -> Self {
        Self {
            batch_item_failures: failed
                .into_iter()
                .map(|item_identifier| ItemFailure { item_identifier })
                .collect(),
        }
    }
}

/// Serves batch events (a stream or a queue) with `handler`, which returns the
/// ids of the items to report as failed; `app` is built once per container.
pub async fn serve_batch<'a, A, E, F, Fut>(app: &'a A, handler: F) -> Result<(), lambda_runtime::Error>
where
    A: Sync,
    E: DeserializeOwned + Send + 'a,
    F: Fn(&'a A, E) -> Fut,
    Fut: Future<Output = Vec<String>> + Send + 'a,
{
    serve_event(app, move |app, event| {
        let failed = handler(app, event);
        async move { Ok(failed.await.into_iter().collect::<BatchResponse>()) }
    })
    .await
}

/// Serves events of type `E` with `handler`, answering its output as JSON; an
/// error fails the invocation (Lambda's retry policy applies).
pub async fn serve_event<'a, A, E, O, F, Fut>(app: &'a A, handler: F) -> Result<(), lambda_runtime::Error>
where
    A: Sync,
    E: DeserializeOwned + Send + 'a,
    O: Serialize,
    F: Fn(&'a A, E) -> Fut,
    Fut: Future<Output = Result<O, lambda_runtime::Error>> + Send + 'a,
{
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<E>| {
        // Boxed, which keeps the runtime's future type shallow enough for rustc.
        Box::pin(handler(app, event.payload))
    }))
    .await
}
