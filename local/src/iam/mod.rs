//! IAM as the deployed stack has it, enforced on the local one: moto checks no
//! permissions, so each function's AWS calls are checked here against that
//! function's policy in template.yaml (actions, resources, the conditions the
//! template uses), and against the message limits moto does not check
//! (`limits`). See docs/operations.md, "What the local stack enforces".

pub mod entries;
mod guard;
pub mod limits;
pub mod policy;
pub mod request;

pub use guard::{AccessLog, Enforcer, TrustPolicies};
pub use request::Scope;
