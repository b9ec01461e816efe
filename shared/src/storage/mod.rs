//! Table layouts, and the generic per-tenant record store that subscriptions and
//! jobs share (events have their own, with idempotent-create semantics).

mod batch_get;
mod batch_write;
mod batches;
mod counted;
mod dynamo_records;
mod error;
mod item_size;
mod memory_records;
mod query_page;
mod records;
pub mod schema;
mod second_counter;
mod transaction;

pub use batch_get::batch_get;
pub use batch_write::{WRITES_PER_CALL, batch_write};
pub use counted::Counted;
pub use dynamo_records::{DynamoRecords, partition, record_key};
pub use error::{BoxError, ErrorKind, StorageError};
pub use item_size::attribute_size;
pub use memory_records::InMemoryRecords;
pub(crate) use query_page::query_page;
pub use records::{RecordError, RecordPage, Records, Versioned, list_all};
pub use second_counter::SecondCounter;
pub use transaction::{Written, transact};
