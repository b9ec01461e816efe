//! Small helpers the domain modules share.

pub mod error_chain;
pub mod raw_json;
pub mod rfc3339_millis;
pub mod text;
pub mod ttl_map;
