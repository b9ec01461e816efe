//! Every Lambda function of the stack, in one binary. Lambda tells the binary
//! which function it is through `_HANDLER`, the function's `Handler` in
//! template.yaml; each function keeps its own resource, role, policy and
//! environment there and shares this one artefact, so `sam build` compiles once.
//! Each function's entry point is a file of its own beside this one.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// A function's entry point: builds its state once per container, then serves
/// invocations until the container ends.
pub type Run = fn() -> Pin<Box<dyn Future<Output = Result<(), lambda_http::Error>>>>;

/// One function: its `Handler` name in template.yaml and its entry point.
pub struct Handler {
    pub name: &'static str,
    pub run: Run,
}

/// Declares each entry point's module and the table naming it, so neither can
/// be added without the other.
macro_rules! handlers {
    ($($name:literal => $module:ident,)*) => {
        $(mod $module;)*

        /// Every function, by its `Handler` name in template.yaml.
        pub const HANDLERS: &[Handler] = &[$(Handler { name: $name, run: || Box::pin($module::run()) },)*];
    };
}

handlers! {
    "assess-basket" => assess_basket,
    "assessor" => assessor,
    "console" => console,
    "create-action-event" => create_action_event,
    "create-event" => create_event,
    "create-event-definition" => create_event_definition,
    "create-job" => create_job,
    "create-order-event" => create_order_event,
    "create-redemption-event" => create_redemption_event,
    "create-rule" => create_rule,
    "create-subscription" => create_subscription,
    "create-transaction-event" => create_transaction_event,
    "deactivate-event-definition" => deactivate_event_definition,
    "deactivate-rule" => deactivate_rule,
    "deactivate-subscription" => deactivate_subscription,
    "delete-job" => delete_job,
    "delete-sendgrid-settings" => delete_sendgrid_settings,
    "fanout" => fanout,
    "fanout-paced" => fanout_paced,
    "fanout-retry" => fanout_retry,
    "get-customer" => get_customer,
    "get-event" => get_event,
    "get-event-definition" => get_event_definition,
    "get-event-stats" => get_event_stats,
    "get-job" => get_job,
    "get-replay" => get_replay,
    "get-rule" => get_rule,
    "get-sendgrid-settings" => get_sendgrid_settings,
    "get-subscription" => get_subscription,
    "list-customer-ledger" => list_customer_ledger,
    "list-dead-letters" => list_dead_letters,
    "list-deliveries" => list_deliveries,
    "list-event-definitions" => list_event_definitions,
    "list-event-deliveries" => list_event_deliveries,
    "list-events" => list_events,
    "list-job-runs" => list_job_runs,
    "list-jobs" => list_jobs,
    "list-rules" => list_rules,
    "list-subscriptions" => list_subscriptions,
    "lock-customer" => lock_customer,
    "notification-job" => notification_job,
    "projector" => projector,
    "put-sendgrid-settings" => put_sendgrid_settings,
    "redrive-subscription" => redrive_subscription,
    "replay-subscription" => replay_subscription,
    "replay-worker" => replay_worker,
    "route-not-found" => route_not_found,
    "schedule-sync" => schedule_sync,
    "test-filter" => test_filter,
    "update-event-definition" => update_event_definition,
    "update-job" => update_job,
    "update-rule" => update_rule,
    "update-subscription" => update_subscription,
}

/// `_HANDLER` is missing or names no function of this binary.
#[derive(thiserror::Error)]
#[error("{problem}; it must be one of: {known}")]
pub struct UnknownHandler {
    problem: String,
    known: String,
}

// `main` returns this error and Rust prints it with Debug: print the message.
impl fmt::Debug for UnknownHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The function `_HANDLER` names.
pub fn handler(name: Option<&str>) -> Result<&'static Handler, UnknownHandler> {
    HANDLERS
        .iter()
        .find(|handler| Some(handler.name) == name)
        .ok_or_else(|| UnknownHandler {
            problem: match name {
                Some(name) => format!("_HANDLER {name:?} names no function"),
                None => "_HANDLER is not set".to_owned(),
            },
            known: HANDLERS.iter().map(|h| h.name).collect::<Vec<_>>().join(", "),
        })
}
