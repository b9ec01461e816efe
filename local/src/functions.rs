//! The API functions of the stack, callable by name as API Gateway would invoke
//! them. Names are the crates under `functions/` (and `routes.rs`).

use lambda_http::{Body, Request, Response};
use shared::api::events::{EventsApi, create_event, get_event, list_events};
use shared::api::fallback::route_not_found;
use shared::events::EventStore;
use shared::routes::FALLBACK_FUNCTION;

pub struct ApiFunctions<S> {
    pub events: EventsApi<S>,
}

impl<S: EventStore> ApiFunctions<S> {
    /// Runs the named function's handler; `None` for a name no function has.
    pub async fn invoke(&self, function: &str, req: Request) -> Option<Response<Body>> {
        Some(match function {
            "create-event" => create_event(&self.events, req).await,
            "get-event" => get_event(&self.events, req).await,
            "list-events" => list_events(&self.events, req).await,
            name if name == FALLBACK_FUNCTION => route_not_found(req).await,
            _ => return None,
        })
    }
}
