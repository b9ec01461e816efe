//! Table layouts, and the generic per-tenant record store that subscriptions and
//! jobs share (events have their own, with idempotent-create semantics).

mod dynamo_records;
mod memory_records;
mod records;
pub mod schema;

pub use dynamo_records::DynamoRecords;
pub use memory_records::InMemoryRecords;
pub use records::{RecordError, RecordPage, Records, Versioned};
