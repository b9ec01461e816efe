//! The replay worker's settings.

use crate::config::{ConfigError, Environment, FunctionConfig};
use crate::fanout::{FANOUT_VARIABLES, FanoutConfig};
use crate::storage::schema::EVENTS;

/// The queue replay steps wait on.
pub const QUEUE: &str = "REPLAY_QUEUE_URL";

/// replay-worker: delivers as the fan-out does, reads the events, queues its next steps.
#[derive(Debug, Clone)]
pub struct ReplayWorkerConfig {
    pub fanout: FanoutConfig,
    pub events_table: String,
    pub replay_queue_url: String,
}

const WORKER_VARIABLES: [&str; FANOUT_VARIABLES.len() + 2] = {
    let mut all = [""; FANOUT_VARIABLES.len() + 2];
    let mut i = 0;
    while i < FANOUT_VARIABLES.len() {
        all[i] = FANOUT_VARIABLES[i];
        i += 1;
    }
    all[i] = EVENTS.env_var;
    all[i + 1] = QUEUE;
    all
};

impl FunctionConfig for ReplayWorkerConfig {
    const VARIABLES: &'static [&'static str] = &WORKER_VARIABLES;

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            fanout: FanoutConfig::read(env)?,
            events_table: env.required(EVENTS.env_var)?,
            replay_queue_url: env.required(QUEUE)?,
        })
    }
}
