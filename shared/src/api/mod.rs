//! The HTTP handlers, one per route. Each is `async fn(&App, Request) -> Response`
//! so a Lambda `main`, the local runner and the tests all call the same code.

pub mod basket;
pub mod event_definitions;
pub mod events;
pub mod fallback;
pub mod job_runs;
pub mod jobs;
mod records;
pub mod subscriptions;
pub mod typed_events;
