//! Event definitions (seed 001): a tenant's registry of event names, each with
//! the fields its events must carry. An event whose `entity_name` is an active
//! definition's name is checked against it at ingest.

mod cache;
mod codes;
mod model;
mod request;
mod validate;

pub use cache::DefinitionCache;
pub use codes::ErrorCode;
pub use model::{Action, EventDefinition, FieldSpec, FieldType, IdentifierKind, IdentifierType};
pub use request::{DefinitionDraft, DefinitionRequest, definition_id};
pub use validate::admit;
