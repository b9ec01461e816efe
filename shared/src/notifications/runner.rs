//! notification-job: one run of a job. Leases the run (once per execution id),
//! finds the shoppers concerned, composes their e-mails, sends them through
//! SendGrid, and records the run and the job's last and next run.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use aws_config::SdkConfig;
use chrono::{DateTime, TimeDelta, Utc};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Deserialize;
use serde_json::{Map, json};

use super::compose::Composer;
use super::config::{NotificationConfig, sendgrid_api_key};
use super::lease::{JobUpdate, Lease, Progress, Ran};
use super::port::Runs;
use super::runs::{RUN_LEASE, Run, RunStatus, RunStore};
use crate::config::ConfigError;
use crate::ids;
use crate::jobs::{Job, Notification, RetryOverflow, RetryShoppers};
use crate::projections::{ProductKey, ProductState, ProjectionStore, Projections, Wishlist};
use crate::schedule::next_fire;
use crate::senders::{SecretsManagerSenders, SenderChoice, SenderError, SenderStore};
use crate::sendgrid::{ApiKey, Mail, Mailer, RetryPolicy, SendError, SendGrid, Sender, mails};
use crate::storage::schema::JOB_RECORDS;
use crate::storage::{DynamoRecords, RecordError, Records, StorageError};
use crate::tenant::{TenantId, TenantList};
use crate::util::rfc3339_millis;

/// What Scheduler sends (schedule-sync sets it up), or a run started by hand.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    pub tenant: String,
    pub job_id: String,
    /// Scheduler's `<aws.scheduler.scheduled-time>`; now when absent.
    #[serde(default)]
    pub scheduled_time: Option<DateTime<Utc>>,
    /// Scheduler's `<aws.scheduler.execution-id>`.
    pub execution_id: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The job is unknown, inactive or deleted: nothing to do.
    Skipped(String),
    /// This execution id already ran.
    AlreadyRan,
    Ran(Run),
}

impl Outcome {
    /// What notification-job answers its invoker.
    pub fn answer(&self) -> serde_json::Value {
        match self {
            Self::Skipped(reason) => json!({"outcome": "skipped", "reason": reason}),
            Self::AlreadyRan => json!({"outcome": "already_ran"}),
            Self::Ran(run) => json!({"outcome": "ran", "run": run}),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Jobs(#[from] RecordError),
    #[error(transparent)]
    Runs(#[from] StorageError),
    /// Another attempt of the execution runs it, or died less than a lease ago.
    #[error("another attempt of this execution holds it; retry after the lease ({} s)", RUN_LEASE.as_secs())]
    Busy,
    /// The tenant's other jobs hold every run slot (`MAX_CONCURRENT_RUNS_PER_TENANT`).
    #[error("the tenant runs as many jobs at once as it may; retry when one ends")]
    TenantBusy,
}

/// Errors kept on a run.
const KEPT_ERRORS: usize = 10;

/// Queries for the shoppers wishing for changed products run at once at most.
const WISHERS_QUERIES_AT_ONCE: usize = 8;

/// Shoppers a run carries to the next one on the job item; more are spilled
/// into items of their own (the job item must stay small).
const MAX_RETRY_SHOPPERS: usize = 1000;

/// The shopper ids a request addresses.
fn shoppers_of(mail: &Mail) -> impl Iterator<Item = &str> {
    mail.personalizations
        .iter()
        .filter_map(|p| p.dynamic_template_data["shopper"]["id"].as_str())
}

/// Adds a request's outcome to the run's counts. True when its shoppers are
/// worth trying again next run: SendGrid was unavailable, not refusing them.
fn count(run: &mut Run, mail: &Mail, result: Result<(), SendError>) -> bool {
    let shoppers = mail.personalizations.len() as u64;
    let unavailable = matches!(result, Err(SendError::Unavailable { .. }));
    match result {
        Ok(()) => {
            run.emails += shoppers;
            run.items += mail
                .personalizations
                .iter()
                .map(|p| p.dynamic_template_data["items"].as_array().map_or(0, Vec::len) as u64)
                .sum::<u64>();
        }
        Err(err) => {
            tracing::warn!(job_id = %run.job_id, run_id = %run.run_id, shoppers, error = %err, "e-mails not sent");
            run.failures += shoppers;
            if run.errors.len() < KEPT_ERRORS {
                run.errors.push(err.to_string());
            }
        }
    }
    unavailable
}

/// The runner, over any jobs, runs, projections, mailer and tenants' senders
/// (DynamoDB, SendGrid and Secrets Manager when deployed).
pub struct NotificationRunner<
    J = DynamoRecords<Job>,
    R = RunStore,
    P = ProjectionStore,
    M = SendGrid,
    S = SecretsManagerSenders,
> {
    pub jobs: J,
    pub runs: R,
    pub projections: P,
    pub mailer: M,
    /// Who each tenant's e-mails go out as.
    pub senders: SenderChoice<S>,
    /// How long before its start a run's window of changes ends
    /// ([`CHANGES_SETTLE`]; tests that write and run at once set zero).
    pub settle: TimeDelta,
}

impl NotificationRunner {
    /// The runner as deployed: mail goes to `SENDGRID_BASE_URL`.
    pub async fn build(sdk: &SdkConfig, config: NotificationConfig) -> Result<Self, ConfigError> {
        let sendgrid = SendGrid::new(&config.sendgrid_base_url, RetryPolicy::default())
            .map_err(NotificationConfig::invalid_base_url)?;
        Self::sending_through(sdk, config, sendgrid).await
    }

    /// The runner for `config`, sending through `sendgrid`; the stack's key is
    /// read from its secret when some tenant may send with it.
    pub async fn sending_through(
        sdk: &SdkConfig,
        config: NotificationConfig,
        sendgrid: SendGrid,
    ) -> Result<Self, ConfigError> {
        let secrets = aws_sdk_secretsmanager::Client::new(sdk);
        let (stack, stack_tenants) = match config.stack_sender {
            Some(stack) => {
                let key = sendgrid_api_key(&secrets, &stack.key_secret_arn).await?;
                let sender = Sender {
                    key: ApiKey::new(key),
                    from: stack.from,
                };
                (Some(sender), stack.tenants)
            }
            None => (None, TenantList::default()),
        };
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        Ok(Self {
            jobs: DynamoRecords::new(dynamodb.clone(), &config.jobs_table, JOB_RECORDS),
            runs: RunStore::new(dynamodb.clone(), &config.jobs_table).with_slots(config.runs_per_tenant),
            projections: ProjectionStore::new(dynamodb, config.projections_table),
            mailer: sendgrid,
            senders: SenderChoice {
                store: SecretsManagerSenders::new(secrets, config.tenant_secrets_prefix),
                stack,
                stack_tenants,
            },
            settle: CHANGES_SETTLE,
        })
    }
}

impl<J, R, P, M, S> NotificationRunner<J, R, P, M, S>
where
    J: Records<Job>,
    R: Runs,
    P: Projections,
    M: Mailer,
    S: SenderStore,
{
    pub async fn run(&self, invocation: Invocation) -> Result<Outcome, RunError> {
        // A retry could not make a malformed invocation valid: skip it, said once.
        let Ok(tenant) = TenantId::parse(&invocation.tenant) else {
            tracing::warn!("invocation with an invalid tenant; skipped");
            return Ok(Outcome::Skipped("invalid tenant".into()));
        };
        if ids::validate_client_id("jobId", &invocation.job_id).is_err() {
            tracing::warn!(%tenant, "invocation with an invalid job id; skipped");
            return Ok(Outcome::Skipped("invalid job id".into()));
        }
        let Some(job) = self.jobs.get(&tenant, &invocation.job_id).await? else {
            return Ok(Outcome::Skipped("no such job".into()));
        };
        let job = job.value;
        if job.deleted || !job.is_active {
            let why = if job.deleted {
                "the job is deleted"
            } else {
                "the job is inactive"
            };
            tracing::info!(%tenant, job_id = %job.id, why, "no run");
            return Ok(Outcome::Skipped(why.into()));
        }
        let started = Instant::now();
        // Kept to the millisecond, as stored; the run's cut-off is taken from it.
        let now = rfc3339_millis::ceil(Utc::now());
        let mut run = Run::starting(
            invocation.execution_id,
            job.id.clone(),
            invocation.scheduled_time.unwrap_or(now),
            now,
        );
        let resumed = match self.runs.lease(&tenant, &run).await? {
            Lease::Started(resumed) => resumed,
            Lease::Finished => {
                tracing::info!(%tenant, job_id = %job.id, run_id = %run.run_id, "this execution already ran");
                return Ok(Outcome::AlreadyRan);
            }
            Lease::Busy => return Err(RunError::Busy),
            Lease::TenantBusy => return Err(RunError::TenantBusy),
        };
        // Read again under the job's lock: an execution that finished since the
        // first read moved the job on, and its changes must not be sent twice.
        let job = match self.jobs.get(&tenant, &job.id).await? {
            Some(current) => current.value,
            None => job,
        };
        if let Some(shopper) = &resumed.progress.sent_through {
            tracing::warn!(%tenant, job_id = %job.id, run_id = %run.run_id, sent_through = %shopper,
                "an earlier attempt of this run died; carrying on after the last shopper it reached");
        }
        let mut progress = resumed.progress.clone();
        let window = Window::of(&job, resumed.first_started_at - self.settle);
        let sent = match window {
            Some(window) => self.send(&tenant, &job, window, &mut run, &mut progress).await,
            None => {
                // A later execution finished first and mailed past this one's cut-off
                // (its retry came late): nothing is left for this one to send.
                tracing::info!(%tenant, job_id = %job.id, run_id = %run.run_id, "a later execution covered this one's changes");
                Ok(())
            }
        };
        if let Err(err) = sent {
            match err {
                // Without its progress kept, a later retry could send twice: stop here
                // and let Lambda retry the whole invocation once the lease is over.
                SendRunError::Progress(err) => return Err(err.into()),
                SendRunError::Read(err) => run.fail(err.to_string()),
                SendRunError::Sender(err) => run.fail(err.to_string()),
            }
        }
        if run.status == RunStatus::Running {
            // The execution's e-mails, an earlier attempt's included.
            run.status = match (progress.failures, progress.emails) {
                (0, _) => RunStatus::Succeeded,
                (_, 0) => RunStatus::Failed,
                _ => RunStatus::Partial,
            };
        }
        run.finished_at = Some(Utc::now().max(run.started_at));
        run.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let spilled = (progress.spilled_chunks > 0).then(|| RetryOverflow {
            run_id: run.run_id.clone(),
            chunks: progress.spilled_chunks,
            shoppers: progress.spilled_shoppers,
        });
        let job_update = JobUpdate {
            next_run_at: next_run(&job),
            // A run that sent nothing leaves the comparison time alone, so the next
            // run tries the same changes again (and the same carried shoppers).
            ran: window.filter(|_| run.status != RunStatus::Failed).map(|window| Ran {
                at: window.until,
                retry: progress.retry,
                overflow: spilled.clone(),
            }),
        };
        let moved_on = self.runs.finish(&tenant, &run, &job_update).await? && job_update.ran.is_some();
        // Whichever spilled shoppers the job no longer points at go: those this run
        // took over, or else this run's own.
        let left_behind = if moved_on {
            job.retry_overflow.as_ref()
        } else {
            spilled.as_ref()
        };
        if let Some(overflow) = left_behind {
            self.forget(&tenant, &job.id, overflow).await;
        }
        log_finished(&tenant, &job.id, &run);
        Ok(Outcome::Ran(run))
    }

    /// Composes and sends the run's e-mails in shopper id order, counting on
    /// `run` and keeping `progress` (cumulative over the execution's attempts) on
    /// the lease after each request; skips the shoppers an earlier attempt reached.
    async fn send(
        &self,
        tenant: &TenantId,
        job: &Job,
        Window { since, until }: Window,
        run: &mut Run,
        progress: &mut Progress,
    ) -> Result<(), SendRunError> {
        let sender = self.senders.for_tenant(tenant).await.map_err(SendRunError::Sender)?;
        let (wishlists, products) = self.candidates(tenant, job, since).await.map_err(SendRunError::Read)?;
        let composer = Composer {
            job,
            since,
            until,
            products: &products,
        };
        let carried = self.carried(tenant, job).await.map_err(SendRunError::Read)?;
        let carried_composers: Vec<(Composer<'_>, &[Wishlist])> = carried
            .groups
            .iter()
            .map(|(since, wishlists)| {
                let composer = Composer {
                    job,
                    since: *since,
                    until,
                    products: &carried.products,
                };
                (composer, wishlists.as_slice())
            })
            .collect();
        // Each shopper once: from the oldest time it is carried from, else as a candidate.
        let mut looked_at: BTreeMap<&str, (&Wishlist, &Composer<'_>)> = BTreeMap::new();
        for (composer, wishlists) in carried_composers.iter().rev() {
            for wishlist in *wishlists {
                looked_at.insert(wishlist.shopper.value.id.as_str(), (wishlist, composer));
            }
        }
        for wishlist in &wishlists {
            looked_at
                .entry(wishlist.shopper.value.id.as_str())
                .or_insert((wishlist, &composer));
        }
        let reached = progress.sent_through.clone();
        looked_at.retain(|id, _| reached.as_deref().is_none_or(|done| *id > done));
        run.shoppers = looked_at.len() as u64;
        let personalizations: Vec<_> = looked_at
            .values()
            .filter_map(|(wishlist, composer)| composer.personalization(wishlist))
            .collect();
        let since_of = |shopper: &str| looked_at.get(shopper).map_or(since, |(_, composer)| composer.since);
        let args = Map::from_iter([
            ("tenant".to_owned(), json!(tenant.as_str())),
            ("job_id".to_owned(), json!(job.id)),
            ("run_id".to_owned(), json!(run.run_id)),
        ]);
        let before = (progress.emails, progress.items, progress.failures);
        for mail in mails(&sender.from, &job.template_id, &args, personalizations) {
            let mut unavailable = Vec::new();
            match self.mailer.send(&sender.key, &mail).await {
                // A 400 may be one bad address; 401/403/404/413 concern the whole request.
                Err(SendError::Rejected { status: 400, .. }) if mail.personalizations.len() > 1 => {
                    // One bad address must not cost the other shoppers their e-mail.
                    for single in mail.one_by_one() {
                        let result = self.mailer.send(&sender.key, &single).await;
                        if count(run, &single, result) {
                            unavailable.extend(shoppers_of(&single).map(str::to_owned));
                        }
                    }
                }
                result => {
                    if count(run, &mail, result) {
                        unavailable.extend(shoppers_of(&mail).map(str::to_owned));
                    }
                }
            }
            // Reminders go to every wishlist anyway: nobody is carried.
            if job.notification != Notification::WishlistReminder {
                let mut spill = Vec::new();
                let mut on_job: usize = progress.retry.iter().map(|r| r.shoppers.len()).sum();
                for shopper in &unavailable {
                    if on_job < MAX_RETRY_SHOPPERS {
                        carry(&mut progress.retry, since_of(shopper), shopper);
                        on_job += 1;
                    } else {
                        carry(&mut spill, since_of(shopper), shopper);
                    }
                }
                if !spill.is_empty() {
                    self.runs
                        .spill(tenant, run, progress.spilled_chunks, &spill)
                        .await
                        .map_err(SendRunError::Progress)?;
                    progress.spilled_chunks += 1;
                    progress.spilled_shoppers += spill.iter().map(|r| r.shoppers.len() as u64).sum::<u64>();
                }
            }
            progress.sent_through = shoppers_of(&mail).last().map(str::to_owned);
            (progress.emails, progress.items, progress.failures) =
                (before.0 + run.emails, before.1 + run.items, before.2 + run.failures);
            self.runs
                .progress(tenant, run, progress)
                .await
                .map_err(SendRunError::Progress)?;
        }
        Ok(())
    }

    /// Removes spilled shoppers no job points at; one left (a failure here) is
    /// never read again.
    async fn forget(&self, tenant: &TenantId, job_id: &str, overflow: &RetryOverflow) {
        if let Err(err) = self.runs.forget_spilled(tenant, job_id, overflow).await {
            tracing::warn!(%tenant, job_id, run_id = %overflow.run_id, error = %err, "spilled shoppers not removed");
        }
    }

    /// The shoppers earlier runs could not mail, by the time their changes count
    /// from, and every product changed since the oldest of those times.
    async fn carried(&self, tenant: &TenantId, job: &Job) -> Result<Carried, StorageError> {
        let mut carried = Carried::default();
        let mut groups = job.retry_shoppers.clone();
        if let Some(overflow) = &job.retry_overflow {
            let spilled = self.runs.spilled(tenant, &job.id, overflow).await?;
            let found: u64 = spilled.iter().map(|r| r.shoppers.len() as u64).sum();
            if found < overflow.shoppers {
                tracing::warn!(%tenant, job_id = %job.id, expected = overflow.shoppers, found,
                    "some carried shoppers' items expired or are gone; they miss these changes");
            }
            groups.extend(spilled);
        }
        let Some(oldest) = groups.iter().map(|r| r.since).min() else {
            return Ok(carried);
        };
        for group in &groups {
            let wishlists = self.projections.wishlists(tenant, &group.shoppers).await?;
            carried.groups.push((group.since, wishlists));
        }
        carried.groups.sort_by_key(|(since, _)| *since);
        let changed = self.projections.products_changed_since(tenant, oldest).await?;
        carried.products = changed.into_iter().map(|s| (s.product.clone(), s)).collect();
        Ok(carried)
    }

    /// The wishlists to look at, and the product states the e-mails need: every
    /// wishlist for a reminder; otherwise those of shoppers wishing for a product
    /// that changed since the last run.
    async fn candidates(
        &self,
        tenant: &TenantId,
        job: &Job,
        since: DateTime<Utc>,
    ) -> Result<(Vec<Wishlist>, HashMap<ProductKey, ProductState>), StorageError> {
        if job.notification == Notification::WishlistReminder {
            let wishlists = self.projections.all_wishlists(tenant).await?;
            let keys: BTreeSet<ProductKey> = wishlists
                .iter()
                .flat_map(|w| w.present().map(|i| i.product()))
                .collect();
            let keys: Vec<ProductKey> = keys.into_iter().collect();
            let states = self.projections.products(tenant, &keys).await?;
            let products = states.into_iter().map(|s| (s.product.clone(), s)).collect();
            return Ok((wishlists, products));
        }
        let changed = self.projections.products_changed_since(tenant, since).await?;
        // One Query per changed product, a few at a time rather than one after another.
        let products: Vec<ProductKey> = changed.iter().map(|s| s.product.clone()).collect();
        let per_product: Vec<Vec<String>> = stream::iter(products)
            .map(|product| async move { self.projections.shoppers_wishing(tenant, &product).await })
            .buffer_unordered(WISHERS_QUERIES_AT_ONCE)
            .try_collect()
            .await?;
        let shoppers: BTreeSet<String> = per_product.into_iter().flatten().collect();
        let shoppers: Vec<String> = shoppers.into_iter().collect();
        let wishlists = self.projections.wishlists(tenant, &shoppers).await?;
        let products = changed.into_iter().map(|s| (s.product.clone(), s)).collect();
        Ok((wishlists, products))
    }
}

/// When the job's schedule fires next, after now.
/// What a finished run logs. A FAILED or PARTIAL run is a warning: the
/// template's `NotificationRunsNotSucceededMetric` counts those lines (message
/// `RUN_FINISHED`, `status` `Failed` or `Partial`), whatever the log level.
fn log_finished(tenant: &TenantId, job_id: &str, run: &Run) {
    let succeeded = matches!(run.status, RunStatus::Succeeded);
    let (shoppers, emails, items, failures) = (run.shoppers, run.emails, run.items, run.failures);
    if succeeded {
        tracing::info!(%tenant, job_id, run_id = %run.run_id, status = ?run.status, shoppers, emails, items, failures, "{RUN_FINISHED}");
    } else {
        tracing::warn!(%tenant, job_id, run_id = %run.run_id, status = ?run.status, shoppers, emails, items, failures, "{RUN_FINISHED}");
    }
}

/// The message of `log_finished`'s line, which an operator alarm matches.
pub const RUN_FINISHED: &str = "run finished";

fn next_run(job: &Job) -> Option<DateTime<Utc>> {
    next_fire(
        job.schedule_expression.as_deref()?,
        job.schedule_timezone.as_deref(),
        Utc::now(),
    )
}

/// Adds `shopper` to the group of `retry` carried from `since`.
fn carry(retry: &mut Vec<RetryShoppers>, since: DateTime<Utc>, shopper: &str) {
    match retry.iter_mut().find(|r| r.since == since) {
        Some(group) if !group.shoppers.iter().any(|s| s == shopper) => group.shoppers.push(shopper.to_owned()),
        Some(_) => {}
        None => retry.push(RetryShoppers {
            since,
            shoppers: vec![shopper.to_owned()],
        }),
    }
}

/// How long a product change may take from being stamped (the projector's
/// clock) to being readable: one PutItem and its SDK retries. A run counts the
/// changes stamped up to its start less this, so none of them is still on its
/// way when it reads; the rest go to the next run.
const CHANGES_SETTLE: TimeDelta = TimeDelta::seconds(5);

/// The recording times whose changes a run mails: after the last run's cut-off,
/// up to this run's. Consecutive windows meet, so each change is in one.
#[derive(Debug, Clone, Copy)]
struct Window {
    since: DateTime<Utc>,
    until: DateTime<Utc>,
}

impl Window {
    /// The window of an execution cut off at `cut_off` (the same for every
    /// attempt of it); `None` when a later execution already moved the job past
    /// it. A job created less than a settle ago gets an empty window.
    fn of(job: &Job, cut_off: DateTime<Utc>) -> Option<Self> {
        match job.last_run_at {
            Some(last) if last > cut_off => None,
            Some(since) => Some(Self { since, until: cut_off }),
            None => Some(Self {
                since: job.created_at,
                until: cut_off.max(job.created_at),
            }),
        }
    }
}

/// Shoppers earlier runs could not mail, with what their e-mails need.
#[derive(Default)]
struct Carried {
    /// Oldest first: each group's time and its shoppers' wishlists.
    groups: Vec<(DateTime<Utc>, Vec<Wishlist>)>,
    products: HashMap<ProductKey, ProductState>,
}

/// Why sending stopped early.
enum SendRunError {
    /// The candidates could not be read: the run fails, and the job is not moved on.
    Read(StorageError),
    /// The tenant has no sender, or it could not be read: likewise.
    Sender(SenderError),
    /// The progress could not be kept: the invocation fails, for Lambda to retry.
    Progress(StorageError),
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::notifications::InMemoryRuns;
    use crate::projections::{InMemoryProjections, Shopper, WishlistItem};
    use crate::senders::InMemorySenders;
    use crate::sendgrid::{Address, Outbox};
    use crate::storage::InMemoryRecords;
    use crate::testing::{hours_ago, job, tenant};

    type Jobs = Arc<InMemoryRecords<Job>>;
    type MemoryRunner = NotificationRunner<Jobs, InMemoryRuns, InMemoryProjections, Outbox, InMemorySenders>;

    /// The stack's sender, granted to every tenant unless a test says otherwise.
    fn stack_sender() -> Sender {
        Sender {
            key: ApiKey::new("SG.stack"),
            from: Address {
                email: "shop@example.com".into(),
                name: None,
            },
        }
    }

    /// A back-in-stock job `job-1` of tenant acme, run over memory.
    async fn runner(outbox: Outbox, lease: Duration) -> MemoryRunner {
        let jobs: Jobs = Arc::default();
        jobs.create(&tenant("acme"), "job-1", job("job-1", Notification::BackInStock))
            .await
            .expect("job");
        NotificationRunner {
            runs: InMemoryRuns::new(jobs.clone()).with_lease(lease),
            jobs,
            projections: InMemoryProjections::default(),
            mailer: outbox,
            senders: SenderChoice {
                store: InMemorySenders::default(),
                stack: Some(stack_sender()),
                stack_tenants: TenantList::all(),
            },
            settle: CHANGES_SETTLE,
        }
    }

    impl MemoryRunner {
        /// `shopper` has `product` on their wishlist.
        async fn wishes(&self, shopper: &str, product: &str) {
            let person: Shopper =
                serde_json::from_value(json!({"id": shopper, "email": format!("{shopper}@example.com")}))
                    .expect("shopper");
            let item: WishlistItem = serde_json::from_value(json!({
                "product_id": product, "name": product, "url": format!("https://shop.example/{product}")
            }))
            .expect("item");
            let at = hours_ago(3);
            self.projections
                .update_wishlist(&tenant("acme"), shopper, |stored| {
                    let mut wishlist = stored.unwrap_or_else(|| Wishlist::new(at, person.clone()));
                    wishlist.set_item(at, person.clone(), product.to_owned(), Some(item.clone()));
                    Some(wishlist)
                })
                .await
                .expect("wishlist");
        }

        /// `product` was out of stock before the job was created, and came back
        /// half an hour ago (well before any run's cut-off).
        async fn restocked(&self, product: &str) {
            let key = ProductKey::new(product, None);
            self.projections
                .update_product(&tenant("acme"), &key, |_| {
                    let mut state = ProductState::new(key.clone());
                    state.apply(hours_ago(2), hours_ago(2), None, Some(0), None);
                    let back = Utc::now() - TimeDelta::minutes(30);
                    state.apply(back, back, None, Some(5), None);
                    Some(state)
                })
                .await
                .expect("product");
        }

        async fn run_execution(&self, execution: &str) -> Result<Outcome, RunError> {
            self.run(Invocation {
                tenant: "acme".into(),
                job_id: "job-1".into(),
                scheduled_time: None,
                execution_id: execution.into(),
            })
            .await
        }

        async fn job(&self) -> Job {
            self.jobs
                .get(&tenant("acme"), "job-1")
                .await
                .expect("read")
                .expect("job")
                .value
        }
    }

    fn ran(outcome: Result<Outcome, RunError>) -> Run {
        match outcome {
            Ok(Outcome::Ran(run)) => run,
            other => panic!("expected a run, got {other:?}"),
        }
    }

    fn unavailable() -> SendError {
        SendError::Unavailable {
            attempts: 5,
            last: "503".into(),
        }
    }

    #[tokio::test]
    async fn a_run_mails_the_shoppers_whose_wished_product_is_back_and_moves_the_job_on() {
        // GIVEN A and B wish for P1, back in stock; C wishes for P2, unchanged
        let runner = runner(Outbox::default(), RUN_LEASE).await;
        for (shopper, product) in [("A", "P1"), ("B", "P1"), ("C", "P2")] {
            runner.wishes(shopper, product).await;
        }
        runner.restocked("P1").await;
        // WHEN the job runs
        let run = ran(runner.run_execution("exec-1").await);
        // THEN one request mails A and B, and the job remembers the run
        assert_eq!(runner.mailer.sent(), [["A", "B"]]);
        assert_eq!(
            (run.status, run.shoppers, run.emails, run.failures),
            (RunStatus::Succeeded, 2, 2, 0)
        );
        let job = runner.job().await;
        assert_eq!(job.last_run_at, Some(run.started_at - CHANGES_SETTLE));
        assert!(job.next_run_at.is_some());
        // The run as stored: times to the millisecond.
        let latest = runner.runs.latest(&tenant("acme"), "job-1", 5).await.expect("runs");
        assert_eq!(latest.len(), 1);
        assert_eq!(
            (latest[0].run_id.as_str(), latest[0].status, latest[0].emails),
            ("exec-1", RunStatus::Succeeded, 2)
        );
    }

    #[tokio::test]
    async fn a_tenant_with_its_own_key_sends_with_it_and_as_its_own_sender() {
        // GIVEN acme set its own key and sender
        let mut runner = runner(Outbox::default(), RUN_LEASE).await;
        let own = Sender {
            key: ApiKey::new("SG.acme"),
            from: Address {
                email: "news@acme.example".into(),
                name: Some("Acme".into()),
            },
        };
        runner.senders.store.put(&tenant("acme"), &own).await.expect("put");
        runner.wishes("A", "P1").await;
        runner.restocked("P1").await;
        // WHEN the job runs THEN the e-mail goes out with acme's key, as acme
        ran(runner.run_execution("exec-1").await);
        assert_eq!(
            runner.mailer.sent_as(),
            [(
                "SG.acme".to_owned(),
                "news@acme.example".to_owned(),
                vec!["A".to_owned()]
            )]
        );
        // GIVEN acme took its key back and is not granted the stack's
        runner.senders.store.delete(&tenant("acme")).await.expect("delete");
        runner.senders.stack_tenants = TenantList::parse("globex");
        runner.restocked("P1").await;
        // WHEN the job runs THEN nothing is sent, the run says why, and the job
        // keeps its changes for a run that has a key
        let before = runner.job().await.last_run_at;
        let run = ran(runner.run_execution("exec-2").await);
        assert_eq!(run.status, RunStatus::Failed);
        assert!(
            run.errors[0].contains("PUT /api/v1/settings/sendgrid"),
            "{:?}",
            run.errors
        );
        assert_eq!(runner.mailer.sent().len(), 1);
        assert_eq!(runner.job().await.last_run_at, before);
    }

    #[tokio::test]
    async fn one_refused_address_costs_only_its_shopper() {
        // GIVEN SendGrid refuses B's address
        let outbox = Outbox::default().failing_for(
            "B",
            SendError::Rejected {
                status: 400,
                body: "invalid email".into(),
            },
        );
        let runner = runner(outbox, RUN_LEASE).await;
        for shopper in ["A", "B", "C"] {
            runner.wishes(shopper, "P1").await;
        }
        runner.restocked("P1").await;
        // WHEN the job runs
        let run = ran(runner.run_execution("exec-1").await);
        // THEN the request is sent again one shopper at a time: A and C get theirs
        assert_eq!(runner.mailer.sent(), [["A"], ["C"]]);
        assert_eq!((run.status, run.emails, run.failures), (RunStatus::Partial, 2, 1));
        assert!(run.errors[0].contains("invalid email"));
        // AND a refused shopper is not carried: retrying cannot help
        assert!(runner.job().await.retry_shoppers.is_empty());
    }

    #[tokio::test]
    async fn shoppers_sendgrid_could_not_take_are_carried_to_the_next_run() {
        // GIVEN a bad address (0bad, a 400) and SendGrid unavailable for B
        let outbox = Outbox::default()
            .failing_for(
                "0bad",
                SendError::Rejected {
                    status: 400,
                    body: "invalid email".into(),
                },
            )
            .failing_for("B", unavailable());
        let runner = runner(outbox, RUN_LEASE).await;
        for shopper in ["0bad", "A", "B"] {
            runner.wishes(shopper, "P1").await;
        }
        runner.restocked("P1").await;
        // WHEN the job runs
        let first = ran(runner.run_execution("exec-1").await);
        // THEN A is mailed and B is carried, from the time its change counts from
        assert_eq!(runner.mailer.sent(), [["A"]]);
        assert_eq!(first.status, RunStatus::Partial);
        let carried = runner.job().await.retry_shoppers;
        assert_eq!(carried.len(), 1);
        assert_eq!(carried[0].shoppers, ["B"]);
        // WHEN SendGrid is back and the next run finds no new change
        runner.mailer.heal("B");
        let second = ran(runner.run_execution("exec-2").await);
        // THEN B gets the e-mail it missed, and nobody is carried any more
        assert_eq!(runner.mailer.sent(), [vec!["A"], vec!["B"]]);
        assert_eq!((second.status, second.emails), (RunStatus::Succeeded, 1));
        assert!(runner.job().await.retry_shoppers.is_empty());
    }

    #[tokio::test]
    async fn shoppers_beyond_what_the_job_holds_are_carried_in_items_of_their_own() {
        // GIVEN 2,500 shoppers wishing for P1, back in stock, and SendGrid unable
        // to take the second and third requests (1,500 shoppers)
        let outbox = Outbox::default()
            .failing_for("s1000", unavailable())
            .failing_for("s2000", unavailable());
        let runner = runner(outbox, RUN_LEASE).await;
        let shoppers: Vec<String> = (0..2500).map(|i| format!("s{i:04}")).collect();
        for shopper in &shoppers {
            runner.wishes(shopper, "P1").await;
        }
        runner.restocked("P1").await;
        // WHEN the job runs
        let first = ran(runner.run_execution("exec-1").await);
        // THEN 1,000 shoppers are carried on the job and 500 more in an item
        assert_eq!(
            (first.status, first.emails, first.failures),
            (RunStatus::Partial, 1000, 1500)
        );
        let job = runner.job().await;
        assert_eq!(job.retry_shoppers.iter().map(|r| r.shoppers.len()).sum::<usize>(), 1000);
        let overflow = job.retry_overflow.clone().expect("overflow");
        assert_eq!(
            (overflow.run_id.as_str(), overflow.chunks, overflow.shoppers),
            ("exec-1", 1, 500)
        );
        // WHEN SendGrid is back and the next run finds no new change
        runner.mailer.heal("s1000");
        runner.mailer.heal("s2000");
        let second = ran(runner.run_execution("exec-2").await);
        // THEN every carried shopper gets the e-mail, once, and nothing is carried any more
        assert_eq!((second.status, second.emails), (RunStatus::Succeeded, 1500));
        let mut mailed: Vec<String> = runner.mailer.sent().into_iter().flatten().collect();
        mailed.sort();
        assert_eq!(mailed, shoppers);
        let job = runner.job().await;
        assert!(job.retry_shoppers.is_empty() && job.retry_overflow.is_none());
        // AND the item the job pointed at is gone
        let left = runner
            .runs
            .spilled(&tenant("acme"), "job-1", &overflow)
            .await
            .expect("read");
        assert!(left.is_empty());
    }

    #[tokio::test]
    async fn a_run_that_sent_nothing_leaves_no_spilled_shoppers_behind() {
        // GIVEN 2,001 shoppers wishing for P1, back in stock, and SendGrid taking none
        let outbox = ["s0000", "s1000", "s2000"]
            .into_iter()
            .fold(Outbox::default(), |outbox, shopper| {
                outbox.failing_for(shopper, unavailable())
            });
        let runner = runner(outbox, RUN_LEASE).await;
        for i in 0..2001 {
            runner.wishes(&format!("s{i:04}"), "P1").await;
        }
        runner.restocked("P1").await;
        // WHEN the job runs
        let run = ran(runner.run_execution("exec-1").await);
        // THEN the run failed, the job is left for the next run to try the same
        // changes, and the shoppers it spilled are gone with it
        assert_eq!((run.status, run.failures), (RunStatus::Failed, 2001));
        let job = runner.job().await;
        assert!(job.last_run_at.is_none() && job.retry_overflow.is_none());
        let spilled = RetryOverflow {
            run_id: "exec-1".into(),
            chunks: 2,
            shoppers: 1001,
        };
        let left = runner
            .runs
            .spilled(&tenant("acme"), "job-1", &spilled)
            .await
            .expect("read");
        assert!(left.is_empty(), "{left:?}");
    }

    #[tokio::test]
    async fn a_retry_takes_over_a_dead_attempt_and_carries_on_after_the_last_shopper_it_reached() {
        // GIVEN an attempt that mailed A and died (its lease is over at once here)
        let runner = runner(Outbox::default(), Duration::ZERO).await;
        for shopper in ["A", "B", "C"] {
            runner.wishes(shopper, "P1").await;
        }
        runner.restocked("P1").await;
        let started = Utc::now() - chrono::Duration::minutes(10);
        let dead = Run::starting("exec-1".into(), "job-1".into(), started, started);
        let acme = tenant("acme");
        assert!(matches!(runner.runs.lease(&acme, &dead).await, Ok(Lease::Started(_))));
        let reached_a = Progress {
            sent_through: Some("A".into()),
            emails: 1,
            items: 1,
            ..Progress::default()
        };
        runner.runs.progress(&acme, &dead, &reached_a).await.expect("progress");
        // WHEN Lambda's retry of the same execution runs
        let run = ran(runner.run_execution("exec-1").await);
        // THEN only B and C are mailed, the execution counts A's e-mail, and the
        // dead attempt's run is closed as failed
        assert_eq!(runner.mailer.sent(), [["B", "C"]]);
        assert_eq!((run.status, run.shoppers, run.emails), (RunStatus::Succeeded, 2, 2));
        let runs = runner.runs.latest(&acme, "job-1", 5).await.expect("runs");
        assert_eq!(runs.len(), 2);
        assert_eq!((runs[1].status, runs[1].emails), (RunStatus::Failed, 1));
        // AND the job's changes count from the first attempt's cut-off (as stored)
        assert_eq!(
            runner.job().await.last_run_at,
            Some(rfc3339_millis::stored(started) - CHANGES_SETTLE)
        );
    }

    #[tokio::test]
    async fn a_late_retry_of_an_execution_a_later_one_overtook_sends_nothing() {
        // GIVEN an attempt of exec-1 that died ten minutes ago, before mailing anyone
        let runner = runner(Outbox::default(), Duration::ZERO).await;
        runner.wishes("A", "P1").await;
        runner.wishes("B", "P1").await;
        runner.restocked("P1").await;
        let started = Utc::now() - chrono::Duration::minutes(10);
        let dead = Run::starting("exec-1".into(), "job-1".into(), started, started);
        let acme = tenant("acme");
        assert!(matches!(runner.runs.lease(&acme, &dead).await, Ok(Lease::Started(_))));
        // AND exec-2 ran since, mailed A and B, and left B carried to the next run
        // (as when SendGrid was unavailable for B's request)
        ran(runner.run_execution("exec-2").await);
        let stored = runner.jobs.get(&acme, "job-1").await.expect("read").expect("job");
        let carrying = Job {
            retry_shoppers: vec![RetryShoppers {
                since: stored.value.last_run_at.expect("moved on"),
                shoppers: vec!["B".into()],
            }],
            ..stored.value
        };
        runner
            .jobs
            .replace(&acme, "job-1", carrying, stored.version)
            .await
            .expect("carry B");
        let moved_on = runner.job().await;
        // WHEN Lambda's retry of exec-1 comes
        let run = ran(runner.run_execution("exec-1").await);
        // THEN it mails nobody and leaves the job as exec-2 left it, for the next
        // execution to mail B
        assert_eq!(runner.mailer.sent(), [["A", "B"]], "exec-2's request only");
        assert_eq!((run.status, run.emails), (RunStatus::Succeeded, 0));
        let job = runner.job().await;
        assert_eq!(
            (job.last_run_at, job.retry_shoppers),
            (moved_on.last_run_at, moved_on.retry_shoppers)
        );
    }

    #[tokio::test]
    async fn an_execution_runs_once_and_a_live_attempt_makes_a_retry_wait() {
        // GIVEN an execution that ran
        let runner = runner(Outbox::default(), RUN_LEASE).await;
        runner.wishes("A", "P1").await;
        runner.restocked("P1").await;
        ran(runner.run_execution("exec-1").await);
        // WHEN it is delivered again THEN it does not run again
        assert!(matches!(runner.run_execution("exec-1").await, Ok(Outcome::AlreadyRan)));
        assert_eq!(runner.mailer.sent().len(), 1);
        // GIVEN another execution held by a live attempt
        let live = Run::starting("exec-2".into(), "job-1".into(), Utc::now(), Utc::now());
        runner.runs.lease(&tenant("acme"), &live).await.expect("lease");
        // WHEN a retry of it comes THEN it waits for the lease
        assert!(matches!(runner.run_execution("exec-2").await, Err(RunError::Busy)));
    }

    #[tokio::test]
    async fn an_inactive_or_unknown_job_is_skipped() {
        let runner = runner(Outbox::default(), RUN_LEASE).await;
        let paused = Job {
            is_active: false,
            ..runner.job().await
        };
        runner
            .jobs
            .replace(&tenant("acme"), "job-1", paused, 1)
            .await
            .expect("pause");
        assert!(matches!(runner.run_execution("exec-1").await, Ok(Outcome::Skipped(_))));
        let unknown = runner
            .run(Invocation {
                tenant: "acme".into(),
                job_id: "nope".into(),
                scheduled_time: None,
                execution_id: "x".into(),
            })
            .await;
        assert!(matches!(unknown, Ok(Outcome::Skipped(_))));
    }

    #[test]
    fn a_run_that_did_not_succeed_logs_the_warning_the_operator_alarm_counts() {
        // GIVEN logs formatted as in Lambda (JSON, fields under `fields`), at WARN
        let lines = crate::testing::Lines::default();
        let writer = lines.clone();
        let subscriber = lambda_http::tracing::subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::WARN)
            .with_writer(move || writer.clone())
            .finish();
        // WHEN a failed, a partial and a succeeded run finish
        tracing::subscriber::with_default(subscriber, || {
            for status in [RunStatus::Failed, RunStatus::Partial, RunStatus::Succeeded] {
                let mut run = Run::starting("exec".into(), "job-1".into(), Utc::now(), Utc::now());
                run.status = status;
                log_finished(&tenant("acme"), "job-1", &run);
            }
        });
        // THEN two lines match template.yaml's NotificationRunsNotSucceededMetric
        // pattern (local/tests/contract.rs holds the template to these fields)
        let text = lines.text();
        let logged: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
        let matched: Vec<&str> = logged
            .iter()
            .filter(|l| l["fields"]["message"] == RUN_FINISHED)
            .filter_map(|l| l["fields"]["status"].as_str())
            .collect();
        assert_eq!(matched, ["Failed", "Partial"]);
    }
}
