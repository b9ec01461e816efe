//! Table layouts, shared by the local provisioning and the template checks.

pub mod schema;
