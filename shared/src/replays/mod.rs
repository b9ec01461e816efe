//! Replays (`POST /api/v1/event-subscription/{id}/replay`): a subscription's
//! events of a time window, read from the events table's `by_time` index, sent
//! again to that subscription only, with their eventIds and a `replayId`. The
//! work is paged through the replay queue, one page per task (worker.rs); one
//! replay per subscription runs at a time (store.rs). A replay whose task was
//! lost is found stalled and resumed (stall.rs).

mod config;
mod model;
mod queue;
mod request;
mod stall;
mod store;
mod worker;

pub use config::{QUEUE as QUEUE_VARIABLE, ReplayWorkerConfig};
pub use model::{Replay, ReplayStatus, ReplayTask};
pub use queue::ReplayQueue;
pub use request::{ReplayRequest, ReplayWindow, WindowLimits};
pub use stall::{STALLED_AFTER, resume_if_stalled};
pub use store::{Replays, Started, StepDone};
pub use worker::{PAGE, ReplayError, ReplayWorker};
