//! The stack's functions, callable by name as API Gateway (or a stream or queue
//! event source) would invoke them. Names are the crates under `functions/`.

use std::collections::BTreeMap;

use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_http::{Body, Request, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;
use shared::api::basket::{BasketApi, assess_basket};
use shared::api::definitions::{
    DefinitionsApi, create_event_definition, deactivate_event_definition, get_event_definition, list_event_definitions,
    update_event_definition,
};
use shared::api::events::{EventsApi, create_event, get_event, list_events};
use shared::api::fallback::route_not_found;
use shared::api::jobs::{DynamoJobsApi, create_job, delete_job, get_job, list_jobs, update_job};
use shared::api::runs::{JobRunsApi, list_job_runs};
use shared::api::subscriptions::{
    DynamoSubscriptionsApi, create_subscription, deactivate_subscription, get_subscription, list_subscriptions,
    update_subscription,
};
use shared::api::typed::{create_action_event, create_order_event, create_redemption_event, create_transaction_event};
use shared::definitions::EventDefinition;
use shared::events::DynamoEventStore;
use shared::fanout::Fanout;
use shared::lambda::BatchResponse;
use shared::notifications::{Invocation, NotificationRunner};
use shared::projections::Projector;
use shared::routes::FALLBACK_FUNCTION;
use shared::schedule_sync::ScheduleSync;
use shared::storage::DynamoRecords;

/// One API function's state, built as its Lambda's `main` builds it.
pub enum ApiFunction {
    Events(EventsApi<DynamoEventStore>),
    Definitions(DefinitionsApi<DynamoRecords<EventDefinition>>),
    Subscriptions(DynamoSubscriptionsApi),
    Jobs(DynamoJobsApi),
    JobRuns(JobRunsApi),
    Basket(BasketApi),
}

/// Every API function, by name, each with its own state and clients (so each is
/// held to its own IAM policy when the stack enforces them).
#[derive(Default)]
pub struct ApiFunctions(BTreeMap<&'static str, ApiFunction>);

impl ApiFunctions {
    pub fn add(&mut self, name: &'static str, function: ApiFunction) {
        self.0.insert(name, function);
    }

    /// The named events function's state (to adjust it in a test).
    pub fn events_mut(&mut self, name: &str) -> Option<&mut EventsApi<DynamoEventStore>> {
        match self.0.get_mut(name) {
            Some(ApiFunction::Events(api)) => Some(api),
            _ => None,
        }
    }

    /// Runs the named function's handler; `None` for a name no function has.
    pub async fn invoke(&self, function: &str, req: Request) -> Option<Response<Body>> {
        use ApiFunction as F;
        if function == FALLBACK_FUNCTION {
            return Some(route_not_found(req).await);
        }
        Some(match (function, self.0.get(function)?) {
            ("create-event", F::Events(api)) => create_event(api, req).await,
            ("get-event", F::Events(api)) => get_event(api, req).await,
            ("list-events", F::Events(api)) => list_events(api, req).await,
            ("create-action-event", F::Events(api)) => create_action_event(api, req).await,
            ("create-order-event", F::Events(api)) => create_order_event(api, req).await,
            ("create-transaction-event", F::Events(api)) => create_transaction_event(api, req).await,
            ("create-redemption-event", F::Events(api)) => create_redemption_event(api, req).await,
            ("create-event-definition", F::Definitions(api)) => create_event_definition(api, req).await,
            ("list-event-definitions", F::Definitions(api)) => list_event_definitions(api, req).await,
            ("get-event-definition", F::Definitions(api)) => get_event_definition(api, req).await,
            ("update-event-definition", F::Definitions(api)) => update_event_definition(api, req).await,
            ("deactivate-event-definition", F::Definitions(api)) => deactivate_event_definition(api, req).await,
            ("create-subscription", F::Subscriptions(api)) => create_subscription(api, req).await,
            ("update-subscription", F::Subscriptions(api)) => update_subscription(api, req).await,
            ("list-subscriptions", F::Subscriptions(api)) => list_subscriptions(api, req).await,
            ("get-subscription", F::Subscriptions(api)) => get_subscription(api, req).await,
            ("deactivate-subscription", F::Subscriptions(api)) => deactivate_subscription(api, req).await,
            ("create-job", F::Jobs(api)) => create_job(api, req).await,
            ("list-jobs", F::Jobs(api)) => list_jobs(api, req).await,
            ("get-job", F::Jobs(api)) => get_job(api, req).await,
            ("update-job", F::Jobs(api)) => update_job(api, req).await,
            ("delete-job", F::Jobs(api)) => delete_job(api, req).await,
            ("list-job-runs", F::JobRuns(api)) => list_job_runs(api, req).await,
            ("assess-basket", F::Basket(api)) => assess_basket(api, req).await,
            _ => return None,
        })
    }
}

/// The functions Lambda invokes from streams, queues and schedules, by name.
pub struct EventFunctions {
    pub fanout: Fanout,
    pub fanout_retry: Fanout,
    pub projector: Projector,
    pub schedule_sync: ScheduleSync,
    pub notification_job: NotificationRunner,
}

impl EventFunctions {
    /// Runs the named function on `payload` (the event JSON Lambda would pass);
    /// returns what it answers (a partial batch response for stream and queue
    /// functions). `None` for a name no function has.
    pub async fn invoke(&self, function: &str, payload: &str) -> Option<Result<Value, String>> {
        fn parse<T: DeserializeOwned>(payload: &str) -> Result<T, String> {
            serde_json::from_str(payload).map_err(|e| e.to_string())
        }
        fn batch(failed: Vec<String>) -> Result<Value, String> {
            serde_json::to_value(failed.into_iter().collect::<BatchResponse>()).map_err(|e| e.to_string())
        }
        Some(match function {
            "fanout" => match parse::<DynamoDbEvent>(payload) {
                Ok(event) => batch(self.fanout.stream_batch(&event.records).await),
                Err(err) => Err(err),
            },
            "fanout-retry" => match parse::<SqsEvent>(payload) {
                Ok(event) => batch(self.fanout_retry.retry_batch(&event.records).await),
                Err(err) => Err(err),
            },
            "projector" => match parse::<DynamoDbEvent>(payload) {
                Ok(event) => batch(self.projector.stream_batch(&event.records).await),
                Err(err) => Err(err),
            },
            "schedule-sync" => match parse::<DynamoDbEvent>(payload) {
                Ok(event) => batch(self.schedule_sync.stream_batch(&event.records).await),
                Err(err) => Err(err),
            },
            "notification-job" => match parse::<Invocation>(payload) {
                Ok(invocation) => self
                    .notification_job
                    .run(invocation)
                    .await
                    .map(|outcome| outcome.answer())
                    .map_err(|e| e.to_string()),
                Err(err) => Err(err),
            },
            _ => return None,
        })
    }
}
