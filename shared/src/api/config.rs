//! The API functions' settings, one config per kind of function. Each lists
//! the variables it reads; template.yaml sets exactly those on each function
//! (checked by local/tests/contract.rs).

use chrono::Duration;

use crate::config::{ConfigError, Environment, FunctionConfig, RETENTION, retention};
use crate::http::rate::RATE_VARIABLE;
use crate::http::{Authentication, Scope};
use crate::quotas::{
    MAX_DEFINITIONS, MAX_JOBS, MAX_RULES, MAX_SUBSCRIPTIONS, MIN_SCHEDULE_MINUTES, Quota, ScheduleFloor,
};
use crate::replays::QUEUE_VARIABLE as REPLAY_QUEUE;
use crate::secrets::KEY_VARIABLE as SECRETS_KEY;
use crate::senders::PREFIX_VARIABLE as TENANT_SECRETS_PREFIX;
use crate::storage::schema::{CLAIMS, DEFINITIONS, DELIVERIES, EVENTS, JOBS, LOYALTY, RATES, SUBSCRIPTIONS};
use crate::subscriptions::DestinationPolicy;
use crate::subscriptions::authority::{OWN_ACCOUNT_TENANTS, STACK_ACCOUNT, STACK_DESTINATIONS};

/// A config's variables: the authentication's (the tenant claim, every scope's
/// name), then its own.
macro_rules! with_auth {
    ($($own:expr),* $(,)?) => {
        &[
            Authentication::VARIABLE,
            Scope::Events.variable(),
            Scope::Points.variable(),
            Scope::Write.variable(),
            Scope::Admin.variable(),
            Scope::PersonalData.variable(),
            RATE_VARIABLE,
            RATES.env_var,
            $($own),*
        ]
    };
}

/// get-event, list-events: they only read events.
#[derive(Debug, Clone)]
pub struct ReadEventsConfig {
    pub events_table: String,
    pub auth: Authentication,
}

impl FunctionConfig for ReadEventsConfig {
    const VARIABLES: &'static [&'static str] = with_auth![EVENTS.env_var];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            events_table: env.required(EVENTS.env_var)?,
            auth: Authentication::read(env)?,
        })
    }
}

/// The typed event endpoints: they write events that expire, and claim customers.
#[derive(Debug, Clone)]
pub struct WriteEventsConfig {
    pub events: ReadEventsConfig,
    /// How long an event (and what it claimed) is kept.
    pub retention: Duration,
    pub claims_table: String,
}

impl FunctionConfig for WriteEventsConfig {
    const VARIABLES: &'static [&'static str] = with_auth![EVENTS.env_var, RETENTION, CLAIMS.env_var];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            events: ReadEventsConfig::read(env)?,
            retention: retention(env)?,
            claims_table: env.required(CLAIMS.env_var)?,
        })
    }
}

/// create-event: writes like the typed endpoints, and validates against the
/// tenant's event definitions.
#[derive(Debug, Clone)]
pub struct CreateEventConfig {
    pub events: WriteEventsConfig,
    pub definitions_table: String,
    /// How long a container reuses a tenant's definition of a name.
    pub definition_cache: std::time::Duration,
}

const DEFINITION_CACHE: &str = "DEFINITION_CACHE_SECONDS";

impl FunctionConfig for CreateEventConfig {
    const VARIABLES: &'static [&'static str] = with_auth![
        EVENTS.env_var,
        RETENTION,
        CLAIMS.env_var,
        DEFINITIONS.env_var,
        DEFINITION_CACHE
    ];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            events: WriteEventsConfig::read(env)?,
            definitions_table: env.required(DEFINITIONS.env_var)?,
            definition_cache: std::time::Duration::from_secs(env.parsed_or(DEFINITION_CACHE, 10)?),
        })
    }
}

/// The event definition functions.
#[derive(Debug, Clone)]
pub struct DefinitionsConfig {
    pub definitions_table: String,
    pub auth: Authentication,
    /// Definitions (active or not) a tenant may keep.
    pub quota: Quota,
}

impl FunctionConfig for DefinitionsConfig {
    const VARIABLES: &'static [&'static str] = with_auth![DEFINITIONS.env_var, MAX_DEFINITIONS];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            definitions_table: env.required(DEFINITIONS.env_var)?,
            auth: Authentication::read(env)?,
            quota: Quota::read(env, MAX_DEFINITIONS, "MaxEventDefinitionsPerTenant", "event definition")?,
        })
    }
}

/// assess-basket and create-redemption-event: typed event writers that also use
/// the loyalty table (the rules; the ledger).
#[derive(Debug, Clone)]
pub struct LoyaltyEventsConfig {
    pub events: WriteEventsConfig,
    pub loyalty_table: String,
}

impl FunctionConfig for LoyaltyEventsConfig {
    const VARIABLES: &'static [&'static str] = with_auth![EVENTS.env_var, RETENTION, CLAIMS.env_var, LOYALTY.env_var];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            events: WriteEventsConfig::read(env)?,
            loyalty_table: env.required(LOYALTY.env_var)?,
        })
    }
}

/// The customer functions: the loyalty table's ledgers.
#[derive(Debug, Clone)]
pub struct CustomersConfig {
    pub loyalty_table: String,
    pub auth: Authentication,
}

impl FunctionConfig for CustomersConfig {
    const VARIABLES: &'static [&'static str] = with_auth![LOYALTY.env_var];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            loyalty_table: env.required(LOYALTY.env_var)?,
            auth: Authentication::read(env)?,
        })
    }
}

/// The functions on a subscription's deliveries (list-dead-letters,
/// list-deliveries, get-replay): the subscriptions, to know the subscription,
/// and the deliveries table (its dead letters, recent attempts and replays).
#[derive(Debug, Clone)]
pub struct DeliveriesConfig {
    pub subscriptions_table: String,
    pub deliveries_table: String,
    pub auth: Authentication,
}

impl FunctionConfig for DeliveriesConfig {
    const VARIABLES: &'static [&'static str] = with_auth![SUBSCRIPTIONS.env_var, DELIVERIES.env_var];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            subscriptions_table: env.required(SUBSCRIPTIONS.env_var)?,
            deliveries_table: env.required(DELIVERIES.env_var)?,
            auth: Authentication::read(env)?,
        })
    }
}

/// list-event-deliveries: the events, to know the event is the caller's, and
/// the deliveries table, where the fan-out keeps each event's attempts.
#[derive(Debug, Clone)]
pub struct EventDeliveriesConfig {
    pub events_table: String,
    pub deliveries_table: String,
    pub auth: Authentication,
}

impl FunctionConfig for EventDeliveriesConfig {
    const VARIABLES: &'static [&'static str] = with_auth![EVENTS.env_var, DELIVERIES.env_var];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            events_table: env.required(EVENTS.env_var)?,
            deliveries_table: env.required(DELIVERIES.env_var)?,
            auth: Authentication::read(env)?,
        })
    }
}

/// get-event-stats: the deliveries table, where the fan-out counts events.
#[derive(Debug, Clone)]
pub struct EventStatsConfig {
    pub deliveries_table: String,
    pub auth: Authentication,
}

impl FunctionConfig for EventStatsConfig {
    const VARIABLES: &'static [&'static str] = with_auth![DELIVERIES.env_var];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            deliveries_table: env.required(DELIVERIES.env_var)?,
            auth: Authentication::read(env)?,
        })
    }
}

/// test-filter: nothing but who may call.
#[derive(Debug, Clone)]
pub struct FiltersConfig {
    pub auth: Authentication,
}

impl FunctionConfig for FiltersConfig {
    const VARIABLES: &'static [&'static str] = with_auth![];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            auth: Authentication::read(env)?,
        })
    }
}

/// redrive-subscription: `DeliveriesConfig`, and the retry queue the dead
/// letters are sent to again.
#[derive(Debug, Clone)]
pub struct RedriveConfig {
    pub deliveries: DeliveriesConfig,
    pub retry_queue_url: String,
}

impl FunctionConfig for RedriveConfig {
    const VARIABLES: &'static [&'static str] = with_auth![SUBSCRIPTIONS.env_var, DELIVERIES.env_var, "RETRY_QUEUE_URL"];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            deliveries: DeliveriesConfig::read(env)?,
            retry_queue_url: env.required("RETRY_QUEUE_URL")?,
        })
    }
}

/// replay-subscription: `DeliveriesConfig`, the replay queue, and what a
/// window may span.
#[derive(Debug, Clone)]
pub struct StartReplayConfig {
    pub deliveries: DeliveriesConfig,
    pub replay_queue_url: String,
    /// Events older than this are gone.
    pub retention: Duration,
    pub max_window: Duration,
    /// Replays one tenant may run at once.
    pub replays_per_tenant: u32,
}

const MAX_WINDOW: &str = "REPLAY_MAX_WINDOW_HOURS";
const REPLAYS_PER_TENANT: &str = "MAX_CONCURRENT_REPLAYS_PER_TENANT";

impl FunctionConfig for StartReplayConfig {
    const VARIABLES: &'static [&'static str] = with_auth![
        SUBSCRIPTIONS.env_var,
        DELIVERIES.env_var,
        REPLAY_QUEUE,
        RETENTION,
        MAX_WINDOW,
        REPLAYS_PER_TENANT
    ];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            deliveries: DeliveriesConfig::read(env)?,
            replay_queue_url: env.required(REPLAY_QUEUE)?,
            retention: retention(env)?,
            max_window: env.duration(MAX_WINDOW, Duration::hours, 168, 1..=876_000)?,
            replays_per_tenant: env.count(REPLAYS_PER_TENANT, 3, 1..=100)?,
        })
    }
}

/// The rule functions: the loyalty table, and how many rules a tenant may keep.
#[derive(Debug, Clone)]
pub struct RulesConfig {
    pub loyalty_table: String,
    pub auth: Authentication,
    /// Rules (active or not) a tenant may keep.
    pub quota: Quota,
}

impl FunctionConfig for RulesConfig {
    const VARIABLES: &'static [&'static str] = with_auth![LOYALTY.env_var, MAX_RULES];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            loyalty_table: env.required(LOYALTY.env_var)?,
            auth: Authentication::read(env)?,
            quota: Quota::read(env, MAX_RULES, "MaxRulesPerTenant", "rule")?,
        })
    }
}

/// The SendGrid settings functions: where tenants' secrets are kept.
#[derive(Debug, Clone)]
pub struct SenderSettingsConfig {
    /// Each tenant's secret is `<prefix><tenant>/sendgrid`.
    pub secrets_prefix: String,
    pub auth: Authentication,
}

impl FunctionConfig for SenderSettingsConfig {
    const VARIABLES: &'static [&'static str] = with_auth![TENANT_SECRETS_PREFIX];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            secrets_prefix: env.required(TENANT_SECRETS_PREFIX)?,
            auth: Authentication::read(env)?,
        })
    }
}

/// The job functions, and list-job-runs (runs live in the jobs table).
#[derive(Debug, Clone)]
pub struct JobsConfig {
    pub jobs_table: String,
    pub auth: Authentication,
    /// Jobs (not deleted) a tenant may keep.
    pub quota: Quota,
    /// How often a job may run at most.
    pub floor: ScheduleFloor,
}

impl FunctionConfig for JobsConfig {
    const VARIABLES: &'static [&'static str] = with_auth![JOBS.env_var, MAX_JOBS, MIN_SCHEDULE_MINUTES];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            jobs_table: env.required(JOBS.env_var)?,
            auth: Authentication::read(env)?,
            quota: Quota::read(env, MAX_JOBS, "MaxJobsPerTenant", "job")?,
            floor: ScheduleFloor::read(env)?,
        })
    }
}

/// The subscription functions: records, the key that seals subscribers' secrets,
/// and which destinations a tenant may name.
#[derive(Debug, Clone)]
pub struct SubscriptionsConfig {
    pub subscriptions_table: String,
    pub secrets_key_id: String,
    pub auth: Authentication,
    pub policy: DestinationPolicy,
    /// Subscriptions (active or not) a tenant may keep.
    pub quota: Quota,
}

impl FunctionConfig for SubscriptionsConfig {
    const VARIABLES: &'static [&'static str] = with_auth![
        SUBSCRIPTIONS.env_var,
        SECRETS_KEY,
        STACK_ACCOUNT,
        STACK_DESTINATIONS,
        OWN_ACCOUNT_TENANTS,
        MAX_SUBSCRIPTIONS
    ];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            subscriptions_table: env.required(SUBSCRIPTIONS.env_var)?,
            secrets_key_id: env.required(SECRETS_KEY)?,
            auth: Authentication::read(env)?,
            policy: DestinationPolicy::read(env)?,
            quota: Quota::read(env, MAX_SUBSCRIPTIONS, "MaxSubscriptionsPerTenant", "subscription")?,
        })
    }
}

/// route-not-found: reads nothing.
#[derive(Debug, Clone)]
pub struct NoConfig;

impl FunctionConfig for NoConfig {
    const VARIABLES: &'static [&'static str] = &[];

    fn read(_: &Environment) -> Result<Self, ConfigError> {
        Ok(Self)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn reads_only_its_variables<C: FunctionConfig>() {
        // Numbers read as numbers; the stack's destinations are ARNs.
        let value = |name: &str| match name {
            STACK_DESTINATIONS => "arn:aws:sqs:us-east-1:123456789012:q",
            _ => "7",
        };
        let vars: BTreeMap<&str, &str> = C::VARIABLES.iter().map(|name| (*name, value(name))).collect();
        let env = Environment::of(&vars);
        C::read(&env).unwrap_or_else(|e| panic!("{e}"));
        let listed = C::VARIABLES.iter().map(|v| v.to_string()).collect();
        assert_eq!(env.names_read(), listed);
    }

    #[test]
    fn every_config_reads_exactly_the_variables_it_lists() {
        reads_only_its_variables::<ReadEventsConfig>();
        reads_only_its_variables::<WriteEventsConfig>();
        reads_only_its_variables::<CreateEventConfig>();
        reads_only_its_variables::<DefinitionsConfig>();
        reads_only_its_variables::<JobsConfig>();
        reads_only_its_variables::<SubscriptionsConfig>();
        reads_only_its_variables::<SenderSettingsConfig>();
        reads_only_its_variables::<RulesConfig>();
        reads_only_its_variables::<LoyaltyEventsConfig>();
        reads_only_its_variables::<CustomersConfig>();
        reads_only_its_variables::<DeliveriesConfig>();
        reads_only_its_variables::<RedriveConfig>();
        reads_only_its_variables::<FiltersConfig>();
        reads_only_its_variables::<StartReplayConfig>();
        reads_only_its_variables::<EventStatsConfig>();
        reads_only_its_variables::<EventDeliveriesConfig>();
        reads_only_its_variables::<NoConfig>();
    }

    #[test]
    fn retention_is_bounded() {
        let vars = BTreeMap::from([(RETENTION, "0")]);
        assert!(matches!(
            retention(&Environment::of(&vars)),
            Err(ConfigError::Invalid { name: RETENTION, .. })
        ));
    }
}
