//! The HTTP handlers, one per route. Each is `async fn(&App, Request) -> Response`
//! so a function's entry point, the local runner and the tests all call the same code.

//! Modules take the names of the domain modules they serve (`definitions`,
//! `events`, `jobs`, `runs` of notifications, `senders`, `subscriptions`, `typed` events).

pub mod basket;
pub mod config;
pub mod console;
pub mod customers;
pub mod dead_letters;
pub mod definitions;
pub mod deliveries;
pub mod event_deliveries;
pub mod event_stats;
pub mod events;
pub mod fallback;
pub mod filters;
pub mod jobs;
mod records;
pub mod redemptions;
pub mod replays;
pub mod rules;
pub mod runs;
pub mod senders;
pub mod subscriptions;
pub mod typed;
