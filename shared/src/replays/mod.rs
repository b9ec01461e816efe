//! Replays (`POST /api/v1/event-subscription/{id}/replay`): a subscription's
//! events of a time window, read from the events table's `by_time` index, sent
//! again to that subscription only, with their eventIds and a `replayId`. The
//! work is paged through the replay queue, one page per task (worker.rs); one
//! replay per subscription runs at a time (store.rs).

mod config;
mod model;
mod request;
mod store;
mod worker;

pub use config::{QUEUE as QUEUE_VARIABLE, ReplayWorkerConfig};
pub use model::{Replay, ReplayStatus, ReplayTask};
pub use request::{ReplayRequest, ReplayWindow, WindowLimits};
pub use store::Replays;
pub use worker::{PAGE, ReplayError, ReplayWorker};
