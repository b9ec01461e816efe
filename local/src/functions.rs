//! The stack's functions, callable by name as API Gateway (or a stream or queue
//! event source) would invoke them. Names are the crates under `functions/`.

use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_http::{Body, Request, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;
use shared::api::basket::{BasketApi, assess_basket};
use shared::api::event_definitions::{
    DefinitionsApi, create_event_definition, deactivate_event_definition, get_event_definition, list_event_definitions,
    update_event_definition,
};
use shared::api::events::{EventsApi, create_event, get_event, list_events};
use shared::api::fallback::route_not_found;
use shared::api::job_runs::{JobRunsApi, list_job_runs};
use shared::api::jobs::{DynamoJobsApi, create_job, delete_job, get_job, list_jobs, update_job};
use shared::api::subscriptions::{
    DynamoSubscriptionsApi, create_subscription, deactivate_subscription, get_subscription, list_subscriptions,
    update_subscription,
};
use shared::api::typed_events::{
    create_action_event, create_order_event, create_redemption_event, create_transaction_event,
};
use shared::definitions::EventDefinition;
use shared::events::DynamoEventStore;
use shared::fanout::Fanout;
use shared::lambda::BatchResponse;
use shared::notifications::{Invocation, NotificationRunner};
use shared::projections::Projector;
use shared::routes::FALLBACK_FUNCTION;
use shared::schedule_sync::ScheduleSync;
use shared::storage::DynamoRecords;

/// Every API function's state, built as each Lambda's `main` builds it.
pub struct ApiFunctions {
    pub events: EventsApi<DynamoEventStore>,
    pub definitions: DefinitionsApi<DynamoRecords<EventDefinition>>,
    pub subscriptions: DynamoSubscriptionsApi,
    pub jobs: DynamoJobsApi,
    pub job_runs: JobRunsApi,
    pub basket: BasketApi,
}

impl ApiFunctions {
    /// Runs the named function's handler; `None` for a name no function has.
    pub async fn invoke(&self, function: &str, req: Request) -> Option<Response<Body>> {
        Some(match function {
            "create-event" => create_event(&self.events, req).await,
            "get-event" => get_event(&self.events, req).await,
            "list-events" => list_events(&self.events, req).await,
            "create-event-definition" => create_event_definition(&self.definitions, req).await,
            "list-event-definitions" => list_event_definitions(&self.definitions, req).await,
            "get-event-definition" => get_event_definition(&self.definitions, req).await,
            "update-event-definition" => update_event_definition(&self.definitions, req).await,
            "deactivate-event-definition" => deactivate_event_definition(&self.definitions, req).await,
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
            "list-job-runs" => list_job_runs(&self.job_runs, req).await,
            "create-action-event" => create_action_event(&self.events, req).await,
            "create-order-event" => create_order_event(&self.events, req).await,
            "create-transaction-event" => create_transaction_event(&self.events, req).await,
            "create-redemption-event" => create_redemption_event(&self.events, req).await,
            "assess-basket" => assess_basket(&self.basket, req).await,
            name if name == FALLBACK_FUNCTION => route_not_found(req).await,
            _ => return None,
        })
    }
}

/// The functions Lambda invokes from streams, queues and schedules, by name.
pub struct EventFunctions {
    pub fanout: Fanout,
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
                Ok(event) => batch(self.fanout.retry_batch(&event.records).await),
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
