//! Everything the Lambdas share: domain types, validation, errors, stores and the
//! HTTP plumbing that turns an API Gateway request into a handler call.
//!
//! The functions' entry points (`functions/src`) only build clients and call into here, so the
//! local runner and the tests exercise exactly the code that runs in Lambda.

pub mod api;
pub mod aws;
pub mod config;
pub mod definitions;
pub mod error;
pub mod events;
pub mod fanout;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod lambda;
pub mod logging;
pub mod loyalty;
pub mod notifications;
pub mod pagination;
pub mod projections;
pub mod quotas;
pub mod replays;
pub mod routes;
pub mod rules;
pub mod schedule;
pub mod schedule_sync;
pub mod secrets;
pub mod senders;
pub mod sendgrid;
pub mod storage;
pub mod stream_failures;
pub mod subscriptions;
pub mod tenant;
#[cfg(test)]
mod testing;
pub mod util;
