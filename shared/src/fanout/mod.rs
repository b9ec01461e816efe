//! Fan-out: which subscriptions an event goes to, and the one message envelope
//! every destination receives (DESIGN §5).

mod delivery;
mod envelope;
mod eventbridge;
mod message;
mod plan;
mod routing;
mod sns;
mod sqs;
mod stream;

pub use envelope::{EVENT_SOURCE, Envelope, MAX_MESSAGE_BYTES};
pub use eventbridge::EventBridgeSender;
pub use message::{MAX_BATCH_ENTRIES, OutgoingMessage, Undelivered, batches};
pub use plan::{DeliveryPlan, Origin, Target, plan};
pub use routing::{matching, wants};
pub use sns::SnsSender;
pub use sqs::SqsSender;
pub use stream::{StreamError, StreamedEvent, inserted_event};
