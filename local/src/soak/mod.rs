//! The reconciling load-and-fault harness (`scripts/soak`): open-loop load for
//! several tenants, each subscribed through every kind of destination; named
//! fault scenarios run under that load; receivers record every arrival; and a
//! reconciler accounts for every accepted event in every subscription (received,
//! or one of its dead letters, or lost). See docs/operations.md, "The system
//! harness".

pub mod api;
pub mod destinations;
pub mod load;
pub mod loyalty;
pub mod notifications;
pub mod receivers;
pub mod reconcile;
pub mod replay_check;
pub mod report;
pub mod scenarios;
pub mod system;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::{Duration, Instant};

use api::Api;
use destinations::{Accounts, Kind, Subscriber};
use load::TenantLoad;
use receivers::Arrivals;
use report::Outcome;
use scenarios::Scenario;

use crate::crash::Crashes;
use crate::faults::{Fault, Faults, Injected};

#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    #[error("setting up: {0}")]
    Setup(String),
    #[error("API: {0}")]
    Api(String),
    #[error("injecting a fault: {0}")]
    Fault(String),
    #[error("scenario {0} breaks what only the local stack can break")]
    NeedsLocal(&'static str),
}

/// How big a run is.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: &'static str,
    /// How long each scenario's load runs.
    pub load: Duration,
    pub quiet_tenants: usize,
    /// Each quiet tenant's events a second.
    pub quiet_rate: f64,
    /// Entities a tenant's events are spread over.
    pub entities: usize,
    /// The noisy tenant's traffic, as a multiple of a quiet tenant's.
    pub noisy_factor: f64,
    /// The noisy tenant's failing subscriptions.
    pub noisy_failing: usize,
    /// How long to wait, after the load, for every event to be accounted for.
    pub drain: Duration,
    /// Whether the quiet tenants' p99 beside the noisy tenant failing its bound
    /// fails the run (the emulator's one core bounds the short profile's figure:
    /// it is reported, not enforced).
    pub enforce_noisy_bound: bool,
}

impl Profile {
    /// About two minutes of load, every scenario at small scale: the test command's.
    pub fn short() -> Self {
        Self {
            name: "short",
            load: Duration::from_secs(12),
            quiet_tenants: 3,
            // Well under moto's one core with the noisy tenant's ten times on top.
            quiet_rate: 1.0,
            entities: 6,
            noisy_factor: 10.0,
            noisy_failing: 3,
            drain: Duration::from_secs(150),
            enforce_noisy_bound: false,
        }
    }

    /// The benchmark: longer, busier, the noisy tenant at full size.
    pub fn long() -> Self {
        Self {
            name: "long",
            load: Duration::from_secs(30),
            noisy_failing: 50,
            drain: Duration::from_secs(900),
            enforce_noisy_bound: true,
            ..Self::short()
        }
    }
}

/// What a scenario works with: the API, the accounts destinations live in, the
/// receivers, and (locally) the knobs that break things.
pub struct Context {
    pub api: Api,
    pub accounts: Accounts,
    pub arrivals: Arrivals,
    pub local: Option<system::LocalSystem>,
    /// Names the run's tenants apart from an earlier run's.
    pub run_id: String,
}

impl Context {
    pub fn faults(&self) -> Result<&Faults, SoakError> {
        self.local
            .as_ref()
            .map(|local| &local.faults)
            .ok_or(SoakError::NeedsLocal("faults"))
    }

    pub fn crashes(&self) -> Result<&Crashes, SoakError> {
        self.local
            .as_ref()
            .map(|local| &local.crashes)
            .ok_or(SoakError::NeedsLocal("crashes"))
    }

    /// Deletes a subscriber's destination. A deleted queue takes what it held
    /// with it, so its inbox is read to the end first; locally, the destination
    /// refuses new messages meanwhile (as a deleted one would), so nothing lands
    /// between the last read and the deletion. Deployed, what arrives in that
    /// moment is the harness's to lose.
    async fn delete_destination(&self, subscriber: &Subscriber) -> Result<(), SoakError> {
        self.refusing(subscriber, async {
            self.arrivals.drain(subscriber).await;
            self.accounts.delete(subscriber).await.map_err(SoakError::Fault)
        })
        .await
    }

    /// Makes a deleted destination again. Locally it refuses messages until it
    /// is whole again: a topic without its subscription, or a bus without its
    /// rule, would take messages and drop them, a loss of the harness's making.
    async fn restore_destination(&self, subscriber: &Subscriber) -> Result<(), SoakError> {
        self.refusing(subscriber, async {
            self.accounts.restore(subscriber).await.map_err(SoakError::Fault)
        })
        .await
    }

    /// Runs `step` while (locally) every delivery to `subscriber`'s destination fails.
    async fn refusing<T>(&self, subscriber: &Subscriber, step: impl Future<Output = T>) -> T {
        let Some(local) = &self.local else {
            return step.await;
        };
        let name = format!("refusing-{}", subscriber.name);
        for operation in subscriber.kind.delivered_by() {
            local.faults.inject(Fault {
                name: name.clone(),
                function: None,
                operation: (*operation).into(),
                resource: subscriber.name.clone(),
                fraction: 1.0,
                error: Injected::ServerError,
            });
        }
        let done = step.await;
        local.faults.lift(&name);
        done
    }

    /// Runs `scenario` under `profile`'s load and accounts for every event.
    pub async fn run(&self, scenario: Scenario, profile: &Profile) -> Result<Outcome, SoakError> {
        if scenario.needs_local_faults() && self.local.is_none() {
            return Err(SoakError::NeedsLocal(scenario.name()));
        }
        let tag = format!("{}-{}", scenario.name(), self.run_id);
        let mut loads = Vec::new();
        let mut quiet = Vec::new();
        for i in 0..profile.quiet_tenants {
            let tenant = format!("q{i}-{tag}");
            for (index, kind) in self.accounts.kinds().into_iter().enumerate() {
                quiet.push(self.subscribe(&tenant, kind, index).await?);
            }
            if scenario.audits() {
                self.earn_rule(&tenant).await?;
            }
            loads.push(TenantLoad {
                tenant,
                rate: profile.quiet_rate,
                entities: profile.entities,
            });
        }
        let mut jobs = Vec::new();
        if scenario == Scenario::SendGridRefusing {
            for load in &loads {
                jobs.push((load.tenant.clone(), self.shop(&load.tenant).await?));
            }
        }
        let shoppers: Vec<String> = jobs.iter().map(|(tenant, _)| tenant.clone()).collect();
        let mut extra = Vec::new();
        match scenario {
            Scenario::DestinationGone => {
                let tenant = &loads[0].tenant;
                extra.push(self.subscribe(tenant, Kind::Sqs, 99).await?);
            }
            Scenario::NoisyTenant => {
                let tenant = format!("noisy-{tag}");
                for index in 0..profile.noisy_failing {
                    extra.push(self.subscribe(&tenant, Kind::Missing, index).await?);
                }
                loads.push(TenantLoad {
                    tenant,
                    rate: profile.quiet_rate * profile.noisy_factor,
                    entities: profile.entities,
                });
            }
            _ => {}
        }
        if let Some(local) = &self.local {
            local.calls.take_counted();
            local.calls.take_latency();
        }
        let crashes_before = self.local.as_ref().map_or(0, |l| l.crashes.killed());
        let started = Instant::now();
        let window_start = chrono::Utc::now() - chrono::Duration::seconds(5);
        let loyal: Vec<String> = if scenario.audits() {
            loads
                .iter()
                .take(profile.quiet_tenants)
                .map(|l| l.tenant.clone())
                .collect()
        } else {
            Vec::new()
        };
        // One action a tenant every two of its events.
        let interval = Duration::from_secs_f64(2.0 / profile.quiet_rate.max(0.01));
        let timed_load = async {
            let sent = load::run(&self.api, &loads, profile.load).await;
            (sent, started.elapsed())
        };
        let ((sent, loaded), disturbed, loyalty_loads, mail_runs) = tokio::join!(
            timed_load,
            scenario.disturb(self, &quiet, &extra, profile.load),
            futures_util::future::join_all(loyal.iter().map(|tenant| loyalty::run(
                &self.api,
                tenant,
                interval,
                profile.load
            ))),
            self.notify(&shoppers, &jobs, profile.load)
        );
        let disturbed = disturbed.map_err(|e| {
            tracing::error!(error = %e, "the scenario's fault could not be made");
            e
        });
        let subscribers: Vec<Subscriber> = quiet.iter().chain(&extra).cloned().collect();
        let dead_letters = self.settle(&sent.accepted, &subscribers, profile.drain).await;
        let settled = started.elapsed();
        // The replay worker under the same faults (before they are lifted).
        let replay = match (scenario.audits(), quiet.first()) {
            (true, Some(subscriber)) => Some(self.replay_check(subscriber, window_start, &sent.accepted).await?),
            _ => None,
        };
        let loyalty = match loyalty_loads.is_empty() {
            true => None,
            false => Some(loyalty::check(&self.api, &loyalty_loads).await?),
        };
        let mails = match (mail_runs?, &self.local) {
            (Some(runs), Some(local)) => Some(notifications::check(&local.sendgrid, &shoppers, runs)),
            _ => None,
        };
        let calls = self.local.as_ref().map(|l| l.calls.take_counted()).unwrap_or_default();
        let emulator = self.local.as_ref().map(|l| {
            let (calls, mean) = l.calls.take_latency();
            report::Emulator {
                calls,
                per_second: calls as f64 / started.elapsed().as_secs_f64().max(0.001),
                mean_ms: mean.as_secs_f64() * 1000.0,
            }
        });
        let faults = self.local.as_ref().map(|l| {
            l.crashes.set(0.0, Duration::ZERO);
            let injected = l.faults.injected();
            l.faults.clear();
            injected
        });
        disturbed?;
        let mut rows = reconcile::reconcile(&sent.accepted, &subscribers, &self.arrivals.snapshot(), &dead_letters);
        for row in rows.iter_mut().filter(|r| r.lost > 0) {
            if let Some(event_id) = row.lost_examples.first().cloned() {
                row.first_lost_attempts = self.attempts(row, &event_id).await;
            }
        }
        Ok(Outcome {
            scenario: scenario.name(),
            quiet_tenants: loads
                .iter()
                .filter(|l| l.tenant.starts_with('q'))
                .map(|l| l.tenant.clone())
                .collect(),
            accepted: sent.accepted.len(),
            refused: sent.refused,
            loaded,
            settled,
            rows,
            calls,
            injected: faults.unwrap_or_default(),
            crashes: self.local.as_ref().map_or(0, |l| l.crashes.killed()) - crashes_before,
            replay,
            loyalty,
            mails,
            emulator,
        })
    }

    /// Restocks `tenants`' products while their jobs run every two seconds
    /// through the load (and a few times after); the runs made and the tenant
    /// of each that failed part way, `None` without jobs.
    async fn notify(
        &self,
        tenants: &[String],
        jobs: &[(String, String)],
        load: Duration,
    ) -> Result<Option<(usize, Vec<String>)>, SoakError> {
        let Some(local) = self.local.as_ref().filter(|_| !jobs.is_empty()) else {
            return Ok(None);
        };
        let every = Duration::from_secs(2);
        let (restocked, runs) = tokio::join!(
            self.restock(tenants, load),
            notifications::run_jobs(&local.notifications, &local.sendgrid, jobs, every, load)
        );
        restocked?;
        Ok(Some(runs?))
    }

    async fn subscribe(&self, tenant: &str, kind: Kind, index: usize) -> Result<Subscriber, SoakError> {
        let name = destinations::name_of(tenant, kind, index);
        let subscriber = self.accounts.subscribe(&self.api, tenant, kind, &name).await?;
        self.arrivals.start(&subscriber);
        Ok(subscriber)
    }

    /// Waits, up to `drain`, until every accepted event is in each subscriber's
    /// inbox or dead letters; returns the dead letters found. A subscription's
    /// dead letters are listed again after 2, 4, then every 8 s: listing fifty
    /// failing subscriptions' letters every 2 s was most of what the emulator
    /// served while the noisy tenant's backlog waited.
    async fn settle(
        &self,
        accepted: &[load::Accepted],
        subscribers: &[Subscriber],
        drain: Duration,
    ) -> HashMap<String, HashSet<String>> {
        const EVERY: Duration = Duration::from_secs(2);
        const AT_MOST_EVERY: Duration = Duration::from_secs(8);
        let deadline = Instant::now() + drain;
        let mut dead: HashMap<String, HashSet<String>> = HashMap::new();
        let mut listings: HashMap<&str, (Instant, Duration)> = HashMap::new();
        loop {
            let arrived: HashSet<(String, String)> = self
                .arrivals
                .snapshot()
                .into_iter()
                .map(|a| (a.subscription_id, a.event_id))
                .collect();
            let mut unsettled = 0;
            for subscriber in subscribers {
                let id = &subscriber.subscription_id;
                let missing = |dead: &HashMap<String, HashSet<String>>| {
                    accepted
                        .iter()
                        .filter(|a| a.tenant == subscriber.tenant)
                        .filter(|a| !arrived.contains(&(id.clone(), a.event_id.clone())))
                        .filter(|a| !dead.get(id).is_some_and(|d| d.contains(&a.event_id)))
                        .count()
                };
                if missing(&dead) == 0 {
                    continue;
                }
                let (next, wait) = listings.entry(id).or_insert((Instant::now(), EVERY));
                if Instant::now() < *next {
                    unsettled += missing(&dead);
                    continue;
                }
                *next = Instant::now() + *wait;
                *wait = (*wait * 2).min(AT_MOST_EVERY);
                match self.dead_letters(subscriber).await {
                    Ok(letters) => {
                        dead.insert(id.clone(), letters);
                    }
                    Err(err) => tracing::warn!(error = %err, "could not list dead letters"),
                }
                unsettled += missing(&dead);
            }
            if unsettled == 0 || Instant::now() >= deadline {
                if unsettled > 0 {
                    tracing::warn!(unsettled, "drain time over with deliveries unaccounted for");
                }
                return dead;
            }
            tokio::time::sleep(EVERY).await;
        }
    }

    /// What the service recorded of its attempts to deliver `event_id` to
    /// `row`'s subscription (`GET /api/v1/events/{id}/deliveries`).
    async fn attempts(&self, row: &reconcile::Row, event_id: &str) -> Vec<serde_json::Value> {
        let path = format!("/api/v1/events/{event_id}/deliveries?limit=500");
        match self.api.get(&row.tenant, &path).await {
            Ok(answer) => answer.body["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| a["subscriptionId"] == row.subscription_id.as_str())
                .cloned()
                .collect(),
            Err(err) => vec![serde_json::json!({"error": err.to_string()})],
        }
    }

    /// Every event id among `subscriber`'s dead letters.
    async fn dead_letters(&self, subscriber: &Subscriber) -> Result<HashSet<String>, SoakError> {
        let path = format!(
            "/api/v1/event-subscription/{}/dead-letters?limit=500",
            subscriber.subscription_id
        );
        let items = self.api.get_all(&subscriber.tenant, &path).await?;
        Ok(items
            .iter()
            .filter_map(|i| i["eventId"].as_str().map(str::to_owned))
            .collect())
    }
}
