//! The stack on one machine: tables created in moto as template.yaml declares
//! them, and an API Gateway stand-in that turns HTTP requests into the same
//! payload-v2 events Lambda receives and calls the same handler code; stream and
//! queue pollers stand in for Lambda's event source mappings.

pub mod crash;
pub mod dev_token;
pub mod event_sources;
pub mod faults;
pub mod functions;
pub mod gateway;
pub mod iam;
pub mod provision;
pub mod queue_poller;
pub mod runtime_api;
pub mod schedule_runner;
pub mod sendgrid_stub;
pub mod soak;
pub mod stream_poller;
pub mod template;
