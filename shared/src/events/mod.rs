//! Events: the wire model, request validation and the store.

mod admission;
mod customer;
mod dynamo;
#[cfg(test)]
pub(crate) mod fixtures;
mod item;
mod memory;
mod model;
mod psi;
mod request;
mod store;
mod stream;
mod trace;
mod typed;

pub use admission::{Admission, make_customer_known};
pub use customer::{CUSTOMER_ENTITY, CUSTOMER_EVENT_PREFIX, NewCustomer};
pub use dynamo::DynamoEventStore;
pub use item::{EventItem, REPLAY_PARTITIONS, TIME_SHARDS};
pub use memory::InMemoryEventStore;
pub use model::{DefinitionStamp, Event, EventPayload, EventSource, EventType, Operation};
pub use psi::masked_members;
pub use request::{EventRequest, decode_json, decode_json_text, key_value};
pub(crate) use request::{entity_id, entity_id_to_find, entity_name};
pub use store::{EventPage, EventStore, EventStoreError, PutOutcome};
pub use stream::{StreamError, StreamedEvent, inserted_event};
pub use trace::{HEADER as TRACEPARENT, TraceParent};
pub use typed::{CUSTOMER_ID_ATTRIBUTE, TypedBody, TypedKind, typed_event};
