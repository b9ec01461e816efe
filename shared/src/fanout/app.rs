//! The fan-out function and its retry consumer: clients and configuration built
//! once per container, and the step both share (send, record health, park
//! what failed).

use chrono::{DateTime, Utc};

use super::budget::within_budget;
use super::circuit::{self, Circuit};
use super::dead_letters::{self, DeadLetters};
use super::dispatch::{Dispatcher, Failed};
use super::envelope::EVENT_SOURCE;
use super::event_counts::EventCounts;
use super::expiry;
use super::health::{HealthRecorder, HealthReport};
use super::history::{self, History};
use super::lookup::SubscriptionLookup;
use super::pacing::{self, Pacing};
use super::plan::{DeliveryPlan, SubscriptionsByTenant};
use super::retry::{RedeliveryPolicy, RetryQueues};
use super::subscription_items::SubscriptionItems;
use crate::config::{ConfigError, Environment, FunctionConfig};
use crate::secrets::{self, KmsSealer};
use crate::storage::schema::{DELIVERIES, RATES, SUBSCRIPTION_RECORDS, SUBSCRIPTIONS};
use crate::storage::{DynamoRecords, SecondCounter};
use crate::subscriptions::authority::{OWN_ACCOUNT_TENANTS, STACK_ACCOUNT, STACK_DESTINATIONS};
use crate::subscriptions::{DestinationPolicy, Subscription};

/// Settings with their defaults; every one can be set in the environment.
#[derive(Debug, Clone)]
pub struct FanoutConfig {
    pub subscriptions_table: String,
    pub secrets_key_id: String,
    /// The stack's own EventBridge bus, which gets every event.
    pub event_bus: String,
    pub retry_queue_url: String,
    pub dead_letter_queue_url: String,
    /// Where subscriptions' dead letters are kept, and for how long.
    pub deliveries_table: String,
    /// Where rate-limited subscriptions' deliveries wait their turn (pacing.rs).
    pub pacing: PacingConfig,
    pub dead_letter_retention: chrono::Duration,
    /// How long recent delivery attempts are kept.
    pub history_retention: chrono::Duration,
    pub retry: RedeliveryPolicy,
    /// How long a delivery may be retried before it becomes a dead letter.
    pub retry_max_age: chrono::Duration,
    /// Tries per message within one invocation (the first included).
    pub attempts: u32,
    /// `Source` of every EventBridge entry, and the first part of its `DetailType`.
    pub event_source: String,
    /// Which destinations a tenant may be delivered to, checked again at delivery
    /// (a subscription may predate a change of the rules).
    pub policy: DestinationPolicy,
    /// Deliveries to one tenant's subscriptions per invocation; the rest go to the
    /// retry queue at once.
    pub tenant_budget: usize,
    /// How long a subscription's deliveries may fail without a break before it
    /// is deactivated.
    pub disable_after: chrono::Duration,
    /// When a subscription's deliveries stop being tried, and for how long
    /// (circuit.rs): from `retry`.
    pub circuit: Circuit,
}

/// The paced queue, and the rates table that holds each subscription's counters.
#[derive(Debug, Clone)]
pub struct PacingConfig {
    pub queue_url: String,
    pub rates_table: String,
}

const PACED_QUEUE: &str = "PACED_QUEUE_URL";

impl FanoutConfig {
    /// The stack's resources, with the default retry and cache settings.
    pub fn new(
        subscriptions_table: String,
        secrets_key_id: String,
        event_bus: String,
        retry_queue_url: String,
        dead_letter_queue_url: String,
        deliveries_table: String,
        pacing: PacingConfig,
    ) -> Self {
        let retry = RedeliveryPolicy {
            max_failures: 8,
            base_delay_seconds: 30,
        };
        Self {
            subscriptions_table,
            secrets_key_id,
            event_bus,
            retry_queue_url,
            dead_letter_queue_url,
            deliveries_table,
            pacing,
            dead_letter_retention: chrono::Duration::days(14),
            history_retention: chrono::Duration::days(7),
            // 8 failures with 30 s doubling (capped at 15 min): about an hour of retries.
            retry,
            circuit: Circuit::for_retries(&retry),
            retry_max_age: chrono::Duration::hours(48),
            attempts: 3,
            event_source: EVENT_SOURCE.to_owned(),
            policy: DestinationPolicy::default(),
            // A hundred subscribers for ten events, well within a minute.
            tenant_budget: 1000,
            disable_after: chrono::Duration::hours(72),
        }
    }
}

/// What the fan-out functions read (and the replay worker, which delivers as they do).
pub const FANOUT_VARIABLES: [&str; 21] = [
    SUBSCRIPTIONS.env_var,
    secrets::KEY_VARIABLE,
    "EVENT_BUS_NAME",
    "RETRY_QUEUE_URL",
    "DEAD_LETTER_QUEUE_URL",
    DELIVERIES.env_var,
    PACED_QUEUE,
    RATES.env_var,
    dead_letters::RETENTION_VARIABLE,
    history::RETENTION_VARIABLE,
    "RETRY_MAX_FAILURES",
    "RETRY_BASE_DELAY_SECONDS",
    circuit::COOL_OFF_VARIABLE,
    expiry::MAX_AGE_VARIABLE,
    "DELIVERY_ATTEMPTS",
    "EVENT_BUS_SOURCE",
    STACK_ACCOUNT,
    STACK_DESTINATIONS,
    OWN_ACCOUNT_TENANTS,
    "TENANT_DELIVERY_BUDGET",
    DISABLE_AFTER,
];

impl FunctionConfig for FanoutConfig {
    const VARIABLES: &'static [&'static str] = &FANOUT_VARIABLES;

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        let defaults = Self::new(
            env.required(SUBSCRIPTIONS.env_var)?,
            env.required(secrets::KEY_VARIABLE)?,
            env.required("EVENT_BUS_NAME")?,
            env.required("RETRY_QUEUE_URL")?,
            env.required("DEAD_LETTER_QUEUE_URL")?,
            env.required(DELIVERIES.env_var)?,
            PacingConfig {
                queue_url: env.required(PACED_QUEUE)?,
                rates_table: env.required(RATES.env_var)?,
            },
        );
        let retry = RedeliveryPolicy {
            max_failures: env.parsed_or("RETRY_MAX_FAILURES", defaults.retry.max_failures)?,
            base_delay_seconds: env.parsed_or("RETRY_BASE_DELAY_SECONDS", defaults.retry.base_delay_seconds)?,
        };
        Ok(Self {
            retry,
            circuit: Circuit::read(env, &retry)?,
            retry_max_age: expiry::max_age(env)?,
            attempts: env.parsed_or("DELIVERY_ATTEMPTS", defaults.attempts)?,
            event_source: env.string_or("EVENT_BUS_SOURCE", EVENT_SOURCE),
            policy: DestinationPolicy::read(env)?,
            tenant_budget: tenant_budget(env, defaults.tenant_budget)?,
            dead_letter_retention: dead_letters::retention(env)?,
            history_retention: history::retention(env)?,
            disable_after: disable_after(env)?,
            ..defaults
        })
    }
}

const DISABLE_AFTER: &str = "DISABLE_FAILING_AFTER_HOURS";

/// `DISABLE_FAILING_AFTER_HOURS`: 1 to 8,760 (a year), default 72.
fn disable_after(env: &Environment) -> Result<chrono::Duration, ConfigError> {
    env.duration(DISABLE_AFTER, chrono::Duration::hours, 72, 1..=8760)
}

/// `TENANT_DELIVERY_BUDGET`: at least 10, a retry batch, or the retry consumer
/// would defer its own messages for ever.
fn tenant_budget(env: &Environment, default: usize) -> Result<usize, ConfigError> {
    let budget = env.parsed_or("TENANT_DELIVERY_BUDGET", default)?;
    if budget < 10 {
        return Err(ConfigError::Invalid {
            name: "TENANT_DELIVERY_BUDGET",
            reason: format!("{budget} is below 10"),
        });
    }
    Ok(budget)
}

pub struct Fanout {
    pub(super) subscriptions: SubscriptionLookup<DynamoRecords<Subscription>>,
    dispatcher: Dispatcher<KmsSealer>,
    health: HealthRecorder,
    history: History,
    pub(super) event_counts: EventCounts,
    pub(super) queues: RetryQueues,
    pub(super) pacing: Pacing,
    pub(super) event_bus: String,
    pub(super) retry_max_age: chrono::Duration,
    /// Deliveries to one tenant's subscriptions per invocation (budget.rs).
    tenant_budget: usize,
    disable_after: chrono::Duration,
    pub(super) circuit: Circuit,
}

impl Fanout {
    pub fn new(sdk: &aws_config::SdkConfig, config: FanoutConfig) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        let records = || DynamoRecords::new(dynamodb.clone(), &config.subscriptions_table, SUBSCRIPTION_RECORDS);
        let sealer = KmsSealer::new(aws_sdk_kms::Client::new(sdk), config.secrets_key_id);
        Self {
            subscriptions: SubscriptionLookup::new(records()),
            dispatcher: Dispatcher::new(sdk.clone(), sealer, config.attempts, config.event_source, config.policy),
            health: HealthRecorder::new(records()),
            history: History::new(
                SubscriptionItems::new(dynamodb.clone(), &config.deliveries_table)
                    .keeping_for(config.history_retention),
            ),
            event_counts: EventCounts::new(
                SubscriptionItems::new(dynamodb.clone(), &config.deliveries_table)
                    .keeping_for(config.history_retention),
            ),
            queues: RetryQueues::new(
                aws_sdk_sqs::Client::new(sdk),
                config.retry_queue_url,
                config.dead_letter_queue_url,
                DeadLetters::new(
                    SubscriptionItems::new(dynamodb.clone(), &config.deliveries_table)
                        .keeping_for(config.dead_letter_retention),
                ),
                config.retry,
            ),
            pacing: Pacing::new(
                aws_sdk_sqs::Client::new(sdk),
                config.pacing.queue_url,
                SecondCounter::new(dynamodb.clone(), config.pacing.rates_table),
            ),
            event_bus: config.event_bus,
            retry_max_age: config.retry_max_age,
            tenant_budget: config.tenant_budget,
            disable_after: config.disable_after,
            circuit: config.circuit,
        }
    }

    /// Sends `plan` (deliveries that go through lanes join them instead,
    /// pacing.rs), records each subscription's health, parks what failed, and
    /// records the attempts. Returns the deliveries that could be neither
    /// delivered nor parked: the caller reports their source as failed, so
    /// Lambda hands it over again.
    pub(super) async fn deliver(&self, plan: DeliveryPlan, subscriptions: &SubscriptionsByTenant) -> Vec<Failed> {
        self.deliver_counted(plan, subscriptions, Paced::Join).await.lost
    }

    /// `deliver` for deliveries whose turn came in their lanes: sent now. What
    /// fails, or what an open circuit holds back, is not parked: it comes back
    /// held, with the seconds it stays at the head of its lane.
    pub(super) async fn deliver_paced(&self, plan: DeliveryPlan, subscriptions: &SubscriptionsByTenant) -> Outcome {
        self.deliver_counted(plan, subscriptions, Paced::Send).await
    }

    /// A replay's deliveries, sent as any others: returns how many got through
    /// now (or joined their lanes), and how many went to the retry queue (or
    /// could not be parked either).
    pub async fn deliver_replay(&self, plan: DeliveryPlan, subscriptions: &SubscriptionsByTenant) -> (u64, u64) {
        let total: usize = plan.values().map(Vec::len).sum();
        let outcome = self.deliver_counted(plan, subscriptions, Paced::Join).await;
        for lost in &outcome.lost {
            tracing::error!(event_id = %lost.delivery.origin.event_id, reason = %lost.reason, "a replayed delivery could be neither sent nor parked");
        }
        let total = u64::try_from(total).unwrap_or(u64::MAX);
        (total.saturating_sub(outcome.failed), outcome.failed)
    }

    /// `deliver`, also counting the deliveries that failed now (parked, held or lost).
    async fn deliver_counted(
        &self,
        plan: DeliveryPlan,
        subscriptions: &SubscriptionsByTenant,
        paced: Paced,
    ) -> Outcome {
        let (plan, lanes) = match paced {
            Paced::Join => pacing::split(plan, subscriptions),
            Paced::Send => (plan, Vec::new()),
        };
        let now = Utc::now();
        // Held ones were not tried: no health, no attempt, and no share of the
        // tenant's budget. Routed ones are kept as dead letters until the
        // circuit closes; a lane's stay at its head.
        let (plan, circuit_held) = self.circuit.hold(plan, subscriptions, now);
        let (plan, deferred, shelved, mut held) = match paced {
            Paced::Join => {
                let (plan, deferred) = within_budget(plan, self.tenant_budget);
                (plan, deferred, circuit_held, Vec::new())
            }
            Paced::Send => (
                plan,
                Vec::new(),
                Vec::new(),
                self.in_lane(circuit_held, subscriptions, now),
            ),
        };
        let mut failed = count(&deferred)
            .saturating_add(count(&shelved))
            .saturating_add(count(&held));
        let health = HealthReport::new(&plan);
        // What is not tried now is put away while the rest is sent: a
        // subscription held by its circuit adds no call to the batch's critical path.
        let (sent, mut lost, unkept, unqueued) = tokio::join!(
            self.dispatcher.send(plan, subscriptions),
            self.queues.defer(deferred),
            self.queues.shelve(shelved),
            self.pacing.enqueue(lanes),
        );
        lost.extend(unkept);
        lost.extend(unqueued);
        let now = Utc::now();
        let health = health
            .with_failures(&sent.failed)
            .with_delivered(&sent.delivered)
            .changes(subscriptions, now, self.disable_after, &self.circuit);
        let attempts = history::attempts_of(&sent, now);
        let counts = history::hourly_counts(&sent);
        failed = failed.saturating_add(count(&sent.failed));
        // A lane keeps what failed at its head, unless no retry can deliver it.
        let to_park = match paced {
            Paced::Join => sent.failed,
            Paced::Send => {
                let (permanent, retried) = sent.failed.into_iter().partition(|f| f.permanent);
                held.extend(self.in_lane(retried, subscriptions, now));
                permanent
            }
        };
        // Side by side: parking the failures, the health writes and the reports
        // need nothing of each other, and the next batch waits for the slowest
        // alone. A report written before a parking that then fails tells of an
        // attempt that happened; the batch is handed over again either way.
        let (switched, unparked, (), ()) = tokio::join!(
            self.health.apply(health, now),
            self.queues.park(to_park),
            self.history.record(attempts),
            self.history.count(counts, now),
        );
        lost.extend(unparked);
        // A lane probes its own circuit (its held head comes back): probe tasks
        // are for what the routing functions keep.
        let probes = match paced {
            Paced::Join => switched.opened,
            Paced::Send => Vec::new(),
        };
        tokio::join!(self.queues.catch_up(switched.closed), self.queues.probe_later(probes));
        Outcome { lost, failed, held }
    }

    /// `failed` with how long each stays at the head of its lane: until its
    /// subscription's open circuit may be probed, or its next backoff (from its
    /// own tries, this one counted).
    fn in_lane(
        &self,
        failed: Vec<Failed>,
        subscriptions: &SubscriptionsByTenant,
        now: DateTime<Utc>,
    ) -> Vec<(Failed, i32)> {
        failed
            .into_iter()
            .map(|f| {
                let open_for = f
                    .delivery
                    .origin
                    .subscription()
                    .and_then(|owner| {
                        let all = subscriptions.get(&owner.tenant)?;
                        all.iter()
                            .find(|s| s.id == owner.subscription_id)?
                            .delivery
                            .circuit_open_until
                    })
                    .map(|until| (until - now).num_seconds());
                let seconds = match open_for {
                    Some(seconds) => i32::try_from(seconds.clamp(0, 900)).unwrap_or(900),
                    // Its own tries (its receive count), as a parked delivery's failures
                    // set its backoff on the retry queue. Not its subscription's
                    // failures in a row: those count every lane's, and would hold each
                    // lane for the longest backoff after a short outage.
                    None => self
                        .queues
                        .delay_seconds(f.delivery.failures.saturating_add(1), fastrand::f64()),
                };
                (f, seconds.max(pacing::WAIT_SECONDS))
            })
            .collect()
    }
}

/// What became of a plan's deliveries.
pub(super) struct Outcome {
    /// Could be neither sent nor parked: their sources are handed over again.
    pub lost: Vec<Failed>,
    /// How many failed now (parked, held or lost).
    pub failed: u64,
    /// Lane deliveries (`Paced::Send`) that failed, or that an open circuit
    /// holds back, with the seconds they stay at the head of their lanes.
    pub held: Vec<(Failed, i32)>,
}

/// What `deliver` does with deliveries that go through lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Paced {
    /// They join their lanes (routed from the stream, a retry or a replay).
    Join,
    /// They are sent (their lane's turn came).
    Send,
}

fn count<T>(items: &[T]) -> u64 {
    u64::try_from(items.len()).unwrap_or(u64::MAX)
}
