//! The stack's functions, callable by name as API Gateway (or a stream or queue
//! event source) would invoke them, by their `Handler` names (`functions::HANDLERS`).

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_http::{Body, Request, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;
use shared::api::basket::{BasketApi, assess_basket};
use shared::api::config::{
    CreateEventConfig, CustomersConfig, DefinitionsConfig, DeliveriesConfig, EventDeliveriesConfig, EventStatsConfig,
    FiltersConfig, JobsConfig, LoyaltyEventsConfig, NoConfig, ReadEventsConfig, RedriveConfig, RulesConfig,
    SenderSettingsConfig, StartReplayConfig, SubscriptionsConfig, WriteEventsConfig,
};
use shared::api::console::console;
use shared::api::customers::{CustomersApi, get_customer, list_customer_ledger, lock_customer};
use shared::api::dead_letters::{list_dead_letters, redrive_subscription};
use shared::api::definitions::{
    DefinitionsApi, create_event_definition, deactivate_event_definition, get_event_definition, list_event_definitions,
    update_event_definition,
};
use shared::api::deliveries::{DeliveriesApi, list_deliveries};
use shared::api::event_deliveries::{EventDeliveriesApi, list_event_deliveries};
use shared::api::event_stats::{EventStatsApi, get_event_stats};
use shared::api::events::{EventsApi, create_event, get_event, list_events};
use shared::api::fallback::route_not_found;
use shared::api::filters::{FiltersApi, test_filter};
use shared::api::jobs::{DynamoJobsApi, create_job, delete_job, get_job, list_jobs, update_job};
use shared::api::redemptions::{RedemptionsApi, create_redemption_event};
use shared::api::replays::{get_replay, replay_subscription};
use shared::api::rules::{DynamoRulesApi, create_rule, deactivate_rule, get_rule, list_rules, update_rule};
use shared::api::runs::{JobRunsApi, list_job_runs};
use shared::api::senders::{
    SecretsManagerSettingsApi, delete_sendgrid_settings, get_sendgrid_settings, put_sendgrid_settings,
};
use shared::api::subscriptions::{
    DynamoSubscriptionsApi, create_subscription, deactivate_subscription, get_subscription, list_subscriptions,
    update_subscription,
};
use shared::api::typed::{create_action_event, create_order_event, create_transaction_event};
use shared::config::{ConfigError, Environment, FunctionConfig};
use shared::definitions::EventDefinition;
use shared::events::DynamoEventStore;
use shared::fanout::{Fanout, FanoutConfig};
use shared::http::Authentication;
use shared::lambda::BatchResponse;
use shared::loyalty::{Assessor, AssessorConfig};
use shared::notifications::{Invocation, NotificationConfig, NotificationRunner};
use shared::projections::{Projector, ProjectorConfig};
use shared::replays::{ReplayWorker, ReplayWorkerConfig};
use shared::routes::{CONSOLE_FUNCTION, FALLBACK_FUNCTION};
use shared::schedule_sync::{ScheduleSync, ScheduleSyncConfig};
use shared::storage::DynamoRecords;

/// Each function's settings, read from its environment into the config type
/// its entry point (`functions/src`) reads. This is the one place that says which function
/// reads which config.
pub enum Settings {
    CreateEvent(CreateEventConfig),
    WriteEvents(WriteEventsConfig),
    ReadEvents(ReadEventsConfig),
    Definitions(DefinitionsConfig),
    Subscriptions(SubscriptionsConfig),
    Jobs(JobsConfig),
    JobRuns(JobsConfig),
    SenderSettings(SenderSettingsConfig),
    Rules(RulesConfig),
    Customers(CustomersConfig),
    Redrive(RedriveConfig),
    Deliveries(DeliveriesConfig),
    StartReplay(StartReplayConfig),
    EventStats(EventStatsConfig),
    EventDeliveries(EventDeliveriesConfig),
    Filters(FiltersConfig),
    ReplayWorker(ReplayWorkerConfig),
    Basket(LoyaltyEventsConfig),
    Redemptions(LoyaltyEventsConfig),
    RouteNotFound(NoConfig),
    Fanout(FanoutConfig),
    Projector(ProjectorConfig),
    ScheduleSync(ScheduleSyncConfig),
    NotificationJob(NotificationConfig),
    Assessor(AssessorConfig),
}

impl Settings {
    /// `function`'s settings from `env`; `None` for a name no function has.
    pub fn read(function: &str, env: &Environment) -> Option<Result<Self, ConfigError>> {
        fn read<C: FunctionConfig>(env: &Environment, settings: fn(C) -> Settings) -> Result<Settings, ConfigError> {
            C::read(env).map(settings)
        }
        Some(match function {
            "create-event" => read(env, Self::CreateEvent),
            "create-action-event" | "create-order-event" | "create-transaction-event" => read(env, Self::WriteEvents),
            "create-redemption-event" => read(env, Self::Redemptions),
            "get-event" | "list-events" => read(env, Self::ReadEvents),
            "create-event-definition"
            | "list-event-definitions"
            | "get-event-definition"
            | "update-event-definition"
            | "deactivate-event-definition" => read(env, Self::Definitions),
            "create-subscription"
            | "update-subscription"
            | "list-subscriptions"
            | "get-subscription"
            | "deactivate-subscription" => read(env, Self::Subscriptions),
            "list-dead-letters" | "list-deliveries" | "get-replay" => read(env, Self::Deliveries),
            "redrive-subscription" => read(env, Self::Redrive),
            "replay-subscription" => read(env, Self::StartReplay),
            "get-event-stats" => read(env, Self::EventStats),
            "list-event-deliveries" => read(env, Self::EventDeliveries),
            "test-filter" => read(env, Self::Filters),
            "replay-worker" => read(env, Self::ReplayWorker),
            "create-job" | "list-jobs" | "get-job" | "update-job" | "delete-job" => read(env, Self::Jobs),
            "list-job-runs" => read(env, Self::JobRuns),
            "put-sendgrid-settings" | "get-sendgrid-settings" | "delete-sendgrid-settings" => {
                read(env, Self::SenderSettings)
            }
            "create-rule" | "list-rules" | "get-rule" | "update-rule" | "deactivate-rule" => read(env, Self::Rules),
            "get-customer" | "list-customer-ledger" | "lock-customer" => read(env, Self::Customers),
            "assess-basket" => read(env, Self::Basket),
            FALLBACK_FUNCTION | CONSOLE_FUNCTION => read(env, Self::RouteNotFound),
            "fanout" | "fanout-retry" | "fanout-paced" => read(env, Self::Fanout),
            "projector" => read(env, Self::Projector),
            "schedule-sync" => read(env, Self::ScheduleSync),
            "notification-job" => read(env, Self::NotificationJob),
            "assessor" => read(env, Self::Assessor),
            _ => return None,
        })
    }
}

/// One API function's state, built as its entry point builds it.
pub enum ApiFunction {
    Events(EventsApi<DynamoEventStore>),
    Definitions(DefinitionsApi<DynamoRecords<EventDefinition>>),
    Subscriptions(DynamoSubscriptionsApi),
    Jobs(DynamoJobsApi),
    JobRuns(JobRunsApi),
    SenderSettings(SecretsManagerSettingsApi),
    Rules(DynamoRulesApi),
    Customers(CustomersApi),
    Deliveries(DeliveriesApi),
    EventStats(EventStatsApi),
    EventDeliveries(EventDeliveriesApi),
    Filters(FiltersApi),
    Basket(BasketApi),
    Redemptions(RedemptionsApi),
}

impl ApiFunction {
    /// The API function with `settings`, calling AWS with `sdk`; `None` for the
    /// settings of a function that serves no API route, or of route-not-found,
    /// which has no state.
    pub fn new(settings: Settings, sdk: &SdkConfig) -> Option<Self> {
        use Settings as S;
        Some(match settings {
            S::CreateEvent(config) => Self::Events(EventsApi::ingest(sdk, config)),
            S::WriteEvents(config) => Self::Events(EventsApi::writer(sdk, config)),
            S::ReadEvents(config) => Self::Events(EventsApi::reader(sdk, config)),
            S::Definitions(config) => Self::Definitions(DefinitionsApi::new(sdk, config)),
            S::Subscriptions(config) => Self::Subscriptions(DynamoSubscriptionsApi::new(sdk, config)),
            S::Jobs(config) => Self::Jobs(DynamoJobsApi::new(sdk, config)),
            S::JobRuns(config) => Self::JobRuns(JobRunsApi::new(sdk, config)),
            S::SenderSettings(config) => Self::SenderSettings(SecretsManagerSettingsApi::new(sdk, config)),
            S::Rules(config) => Self::Rules(DynamoRulesApi::new(sdk, config)),
            S::Customers(config) => Self::Customers(CustomersApi::new(sdk, config)),
            S::Redrive(config) => Self::Deliveries(DeliveriesApi::redriving(sdk, config)),
            S::Deliveries(config) => Self::Deliveries(DeliveriesApi::new(sdk, config)),
            S::StartReplay(config) => Self::Deliveries(DeliveriesApi::starting_replays(sdk, config)),
            S::EventStats(config) => Self::EventStats(EventStatsApi::new(sdk, config)),
            S::EventDeliveries(config) => Self::EventDeliveries(EventDeliveriesApi::new(sdk, config)),
            S::Filters(config) => Self::Filters(FiltersApi::new(sdk, config)),
            S::Basket(config) => Self::Basket(BasketApi::new(sdk, config)),
            S::Redemptions(config) => Self::Redemptions(RedemptionsApi::new(sdk, config)),
            _ => return None,
        })
    }

    /// The local run without authentication: the tenant header alone decides.
    fn without_authentication(&mut self) {
        let auth = match self {
            Self::Events(api) => &mut api.auth,
            Self::Definitions(api) => &mut api.auth,
            Self::Subscriptions(api) => &mut api.auth,
            Self::Jobs(api) => &mut api.auth,
            Self::JobRuns(api) => &mut api.auth,
            Self::SenderSettings(api) => &mut api.auth,
            Self::Rules(api) => &mut api.auth,
            Self::Customers(api) => &mut api.auth,
            Self::Deliveries(api) => &mut api.auth,
            Self::EventStats(api) => &mut api.auth,
            Self::EventDeliveries(api) => &mut api.auth,
            Self::Filters(api) => &mut api.auth,
            Self::Basket(api) => &mut api.events.auth,
            Self::Redemptions(api) => &mut api.events.auth,
        };
        *auth = Authentication::DisabledForLocalRun;
    }
}

/// Every API function, by name, each with its own state and clients (so each is
/// held to its own IAM policy when the stack enforces them).
#[derive(Default)]
pub struct ApiFunctions(BTreeMap<&'static str, ApiFunction>);

impl ApiFunctions {
    pub fn add(&mut self, name: &'static str, function: ApiFunction) {
        self.0.insert(name, function);
    }

    /// The same functions, taking the tenant from its header alone (the local
    /// run started without authentication).
    #[must_use]
    pub fn without_authentication(mut self) -> Self {
        self.0.values_mut().for_each(ApiFunction::without_authentication);
        self
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
        if function == CONSOLE_FUNCTION {
            return Some(console(req).await);
        }
        Some(match (function, self.0.get(function)?) {
            ("create-event", F::Events(api)) => create_event(api, req).await,
            ("get-event", F::Events(api)) => get_event(api, req).await,
            ("list-events", F::Events(api)) => list_events(api, req).await,
            ("create-action-event", F::Events(api)) => create_action_event(api, req).await,
            ("create-order-event", F::Events(api)) => create_order_event(api, req).await,
            ("create-transaction-event", F::Events(api)) => create_transaction_event(api, req).await,
            ("create-redemption-event", F::Redemptions(api)) => create_redemption_event(api, req).await,
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
            ("put-sendgrid-settings", F::SenderSettings(api)) => put_sendgrid_settings(api, req).await,
            ("get-sendgrid-settings", F::SenderSettings(api)) => get_sendgrid_settings(api, req).await,
            ("delete-sendgrid-settings", F::SenderSettings(api)) => delete_sendgrid_settings(api, req).await,
            ("create-rule", F::Rules(api)) => create_rule(api, req).await,
            ("list-rules", F::Rules(api)) => list_rules(api, req).await,
            ("get-rule", F::Rules(api)) => get_rule(api, req).await,
            ("update-rule", F::Rules(api)) => update_rule(api, req).await,
            ("deactivate-rule", F::Rules(api)) => deactivate_rule(api, req).await,
            ("get-customer", F::Customers(api)) => get_customer(api, req).await,
            ("list-customer-ledger", F::Customers(api)) => list_customer_ledger(api, req).await,
            ("lock-customer", F::Customers(api)) => lock_customer(api, req).await,
            ("list-dead-letters", F::Deliveries(api)) => list_dead_letters(api, req).await,
            ("redrive-subscription", F::Deliveries(api)) => redrive_subscription(api, req).await,
            ("list-deliveries", F::Deliveries(api)) => list_deliveries(api, req).await,
            ("replay-subscription", F::Deliveries(api)) => replay_subscription(api, req).await,
            ("get-replay", F::Deliveries(api)) => get_replay(api, req).await,
            ("get-event-stats", F::EventStats(api)) => get_event_stats(api, req).await,
            ("list-event-deliveries", F::EventDeliveries(api)) => list_event_deliveries(api, req).await,
            ("test-filter", F::Filters(api)) => test_filter(api, req).await,
            ("assess-basket", F::Basket(api)) => assess_basket(api, req).await,
            _ => return None,
        })
    }
}

/// The functions Lambda invokes from streams, queues and schedules, by name.
pub struct EventFunctions {
    pub fanout: Fanout,
    pub fanout_retry: Fanout,
    pub fanout_paced: Fanout,
    pub projector: Projector,
    pub schedule_sync: ScheduleSync,
    pub notification_job: NotificationRunner,
    pub assessor: Assessor,
    pub replay_worker: ReplayWorker,
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
            "fanout-paced" => match parse::<SqsEvent>(payload) {
                Ok(event) => batch(self.fanout_paced.paced_batch(&event.records).await),
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
            "replay-worker" => match parse::<SqsEvent>(payload) {
                Ok(event) => batch(self.replay_worker.queue_batch(&event.records).await),
                Err(err) => Err(err),
            },
            "assessor" => match parse::<SqsEvent>(payload) {
                Ok(event) => batch(self.assessor.queue_batch(&event.records).await),
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
