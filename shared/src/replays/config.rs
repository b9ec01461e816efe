//! The replay functions' settings.

use chrono::Duration;

use crate::config::{ConfigError, Environment, FunctionConfig, RETENTION, retention};
use crate::fanout::{FANOUT_VARIABLES, FanoutConfig};
use crate::http::Authentication;
use crate::storage::schema::{DELIVERIES, EVENTS, SUBSCRIPTIONS};

const QUEUE: &str = "REPLAY_QUEUE_URL";
const MAX_WINDOW: &str = "REPLAY_MAX_WINDOW_HOURS";
const TENANT_CLAIM: &str = Authentication::VARIABLE;
const WRITE_SCOPE: &str = Authentication::WRITE_SCOPE;
const ADMIN_SCOPE: &str = Authentication::ADMIN_SCOPE;

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

/// replay-subscription and get-replay: the subscriptions and the deliveries
/// table (replays); replay-subscription also the window's limits and the queue.
#[derive(Debug, Clone)]
pub struct ReplaysConfig {
    pub subscriptions_table: String,
    pub deliveries_table: String,
    pub auth: Authentication,
}

impl FunctionConfig for ReplaysConfig {
    const VARIABLES: &'static [&'static str] = &[
        SUBSCRIPTIONS.env_var,
        DELIVERIES.env_var,
        TENANT_CLAIM,
        WRITE_SCOPE,
        ADMIN_SCOPE,
    ];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            subscriptions_table: env.required(SUBSCRIPTIONS.env_var)?,
            deliveries_table: env.required(DELIVERIES.env_var)?,
            auth: Authentication::read(env),
        })
    }
}

#[derive(Debug, Clone)]
pub struct StartReplayConfig {
    pub replays: ReplaysConfig,
    pub replay_queue_url: String,
    /// Events older than this are gone.
    pub retention: Duration,
    pub max_window: Duration,
}

impl FunctionConfig for StartReplayConfig {
    const VARIABLES: &'static [&'static str] = &[
        SUBSCRIPTIONS.env_var,
        DELIVERIES.env_var,
        TENANT_CLAIM,
        WRITE_SCOPE,
        ADMIN_SCOPE,
        QUEUE,
        RETENTION,
        MAX_WINDOW,
    ];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        let hours: i64 = env.parsed_or(MAX_WINDOW, 168)?;
        if !(1..=876_000).contains(&hours) {
            return Err(ConfigError::Invalid {
                name: MAX_WINDOW,
                reason: format!("{hours} is not between 1 and 876000"),
            });
        }
        Ok(Self {
            replays: ReplaysConfig::read(env)?,
            replay_queue_url: env.required(QUEUE)?,
            retention: retention(env)?,
            max_window: Duration::hours(hours),
        })
    }
}
