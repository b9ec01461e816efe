//! Small helpers the domain modules share.

pub mod rfc3339_millis;
pub mod ttl_map;
