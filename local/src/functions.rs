//! The stack's functions, callable by name as API Gateway (or a stream or queue
//! event source) would invoke them. Names are the crates under `functions/`.

use lambda_http::{Body, Request, Response};
use shared::api::events::{EventsApi, create_event, get_event, list_events};
use shared::api::fallback::route_not_found;
use shared::api::jobs::{DynamoJobsApi, create_job, delete_job, get_job, list_jobs, update_job};
use shared::api::subscriptions::{
    DynamoSubscriptionsApi, create_subscription, deactivate_subscription, get_subscription, list_subscriptions,
    update_subscription,
};
use shared::events::DynamoEventStore;
use shared::fanout::Fanout;
use shared::projections::Projector;
use shared::routes::FALLBACK_FUNCTION;

/// Every API function's state, built as each Lambda's `main` builds it.
pub struct ApiFunctions {
    pub events: EventsApi<DynamoEventStore>,
    pub subscriptions: DynamoSubscriptionsApi,
    pub jobs: DynamoJobsApi,
}

impl ApiFunctions {
    /// Runs the named function's handler; `None` for a name no function has.
    pub async fn invoke(&self, function: &str, req: Request) -> Option<Response<Body>> {
        Some(match function {
            "create-event" => create_event(&self.events, req).await,
            "get-event" => get_event(&self.events, req).await,
            "list-events" => list_events(&self.events, req).await,
            "create-subscription" => create_subscription(&self.subscriptions, req).await,
            "update-subscription" => update_subscription(&self.subscriptions, req).await,
            "list-subscriptions" => list_subscriptions(&self.subscriptions, req).await,
            "get-subscription" => get_subscription(&self.subscriptions, req).await,
            "deactivate-subscription" => deactivate_subscription(&self.subscriptions, req).await,
            "create-job" => create_job(&self.jobs, req).await,
            "list-jobs" => list_jobs(&self.jobs, req).await,
            "get-job" => get_job(&self.jobs, req).await,
            "update-job" => update_job(&self.jobs, req).await,
            "delete-job" => delete_job(&self.jobs, req).await,
            name if name == FALLBACK_FUNCTION => route_not_found(req).await,
            _ => return None,
        })
    }
}

/// The functions Lambda invokes from streams and queues, by name.
pub struct BatchFunctions {
    pub fanout: Fanout,
    pub projector: Projector,
}

impl BatchFunctions {
    /// Runs the named function on `payload` (the event JSON Lambda would pass);
    /// returns the batch item failures it reports. `None` for a name no
    /// function has, `Some(Err)` for a payload it cannot take.
    pub async fn invoke(&self, function: &str, payload: &str) -> Option<Result<Vec<String>, serde_json::Error>> {
        Some(match function {
            "fanout" => match serde_json::from_str::<aws_lambda_events::event::dynamodb::Event>(payload) {
                Ok(batch) => Ok(self.fanout.stream_batch(&batch.records).await),
                Err(err) => Err(err),
            },
            "projector" => match serde_json::from_str::<aws_lambda_events::event::dynamodb::Event>(payload) {
                Ok(batch) => Ok(self.projector.stream_batch(&batch.records).await),
                Err(err) => Err(err),
            },
            "fanout-retry" => match serde_json::from_str::<aws_lambda_events::event::sqs::SqsEvent>(payload) {
                Ok(batch) => Ok(self.fanout.retry_batch(&batch.records).await),
                Err(err) => Err(err),
            },
            _ => return None,
        })
    }
}
