//! HTTP plumbing shared by every API function: authentication, JSON bodies,
//! problem+json errors and the per-request wrapper.

pub mod auth;
mod body;
mod problem;
pub mod rate;
mod response;
mod scopes;
mod serve;

pub use auth::{Authentication, Caller, Grants, Rate, Scope, ScopeNames};
pub use body::{MAX_BODY_BYTES, json_body};
pub use lambda_http::{Body, Request, Response};
pub use problem::problem_response;
pub use response::json_response;
pub(crate) use serve::request_id;
pub use serve::serve;
