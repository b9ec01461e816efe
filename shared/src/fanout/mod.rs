//! Fan-out (docs/architecture.md): which subscriptions an event goes to, the one envelope
//! every destination receives, batched delivery, and retries with backoff.

mod app;
mod budget;
mod catch_up;
mod circuit;
mod dead_letters;
mod delivery;
mod dispatch;
mod envelope;
mod event_attempts;
mod event_counts;
mod eventbridge;
mod expiry;
mod health;
mod history;
mod lookup;
mod message;
mod on_paced;
mod on_retry;
mod on_stream;
mod pacing;
mod plan;
mod probe;
mod retry;
mod routing;
mod sns;
mod sqs;
mod subscription_items;

pub use app::{FANOUT_VARIABLES, Fanout, FanoutConfig, PacingConfig};
pub use catch_up::CATCH_UP_ATTRIBUTE;
pub use circuit::{CIRCUIT_OPEN, Circuit};
pub use dead_letters::{
    DEAD_LETTER_KEYS, DeadLetter, DeadLetters, RETENTION_VARIABLE as DEAD_LETTER_RETENTION,
    retention as dead_letter_retention,
};
pub use dispatch::{Delivered, Dispatcher, Failed, Sent};
pub use envelope::{
    EVENT_SOURCE, Envelope, MASKED, MAX_ENVELOPE_BYTES, MAX_MESSAGE_BYTES, bus_detail, check_deliverable,
};
pub use event_attempts::{EventAttempt, EventAttempts};
pub use event_counts::{EventCounts, EventHour};
pub use eventbridge::EventBridgeSender;
pub use expiry::RETRY_QUEUE_RETENTION;
pub use history::{
    ATTEMPT_KEYS, Attempt, AttemptOutcome, AttemptResult, History, HourCount,
    RETENTION_VARIABLE as DELIVERY_HISTORY_RETENTION, retention as delivery_history_retention,
};
pub use message::{MAX_BATCH_ENTRIES, OutgoingMessage, Undelivered, batches};
pub use plan::{
    AssumedRole, Delivery, DeliveryPlan, Origin, SubscriptionRef, SubscriptionsByTenant, Target, plan, replay_plan,
};
pub use retry::{DELIVERY_ATTRIBUTE, REASON_ATTRIBUTE, RedeliveryPolicy, RetryQueues, redriven, send_again};
pub use routing::{matching, wants};
pub use sns::SnsSender;
pub use sqs::SqsSender;
pub use subscription_items::SubscriptionItems;
pub(crate) use subscription_items::subscription_partition;
