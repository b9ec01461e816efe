//! Fan-out: which subscriptions an event goes to, and the one message envelope
//! every destination receives (DESIGN §5).

mod envelope;
mod routing;
mod stream;

pub use envelope::{EVENT_SOURCE, Envelope, MAX_MESSAGE_BYTES};
pub use routing::{matching, wants};
pub use stream::{StreamError, StreamedEvent, inserted_event};
