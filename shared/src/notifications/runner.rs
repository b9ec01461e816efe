//! notification-job: one run of a job. Claims the run (once per execution id),
//! finds the shoppers concerned, composes their e-mails, sends them through
//! SendGrid, and records the run and the job's last and next run.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, json};

use super::compose::Composer;
use super::runs::{Claim, Run, RunStatus, RunStore, RunStoreError};
use crate::jobs::{Job, Notification, RetryShoppers};
use crate::projections::{ProductKey, ProductState, ProjectionStore, StoreError, Wishlist};
use crate::rfc3339_millis;
use crate::schedule::{ScheduleExpression, parse_timezone};
use crate::sendgrid::{Address, Mail, SendError, SendGrid, mails};
use crate::storage::{DynamoRecords, RecordError, Records};
use crate::tenant::TenantId;

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
    #[error("invalid invocation: {0}")]
    Invocation(String),
    #[error(transparent)]
    Jobs(#[from] RecordError),
    #[error(transparent)]
    Runs(#[from] RunStoreError),
}

/// Errors kept on a run.
const KEPT_ERRORS: usize = 10;

/// Shoppers a run carries to the next one at most (they are stored on the job).
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

pub struct NotificationRunner {
    pub jobs: DynamoRecords<Job>,
    pub runs: RunStore,
    pub projections: ProjectionStore,
    pub sendgrid: SendGrid,
    pub from: Address,
}

impl NotificationRunner {
    pub async fn run(&self, invocation: Invocation) -> Result<Outcome, RunError> {
        let tenant = TenantId::parse(&invocation.tenant).map_err(|_| RunError::Invocation("tenant".into()))?;
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
        let now = Utc::now();
        let mut run = Run {
            run_id: invocation.execution_id,
            job_id: job.id.clone(),
            scheduled_time: invocation.scheduled_time.unwrap_or(now),
            started_at: now,
            finished_at: None,
            status: RunStatus::Running,
            shoppers: 0,
            emails: 0,
            items: 0,
            failures: 0,
            errors: Vec::new(),
            duration_ms: 0,
        };
        let sent_through = match self.runs.claim(&tenant, &run).await? {
            Claim::Started { sent_through } => sent_through,
            Claim::Taken => {
                tracing::info!(%tenant, job_id = %job.id, run_id = %run.run_id, "this execution already ran");
                return Ok(Outcome::AlreadyRan);
            }
        };
        if let Some(shopper) = &sent_through {
            tracing::warn!(%tenant, job_id = %job.id, run_id = %run.run_id, sent_through = %shopper,
                "an earlier attempt of this run died; carrying on after the last shopper it sent to");
        }
        let retry = match self.send(&tenant, &job, &mut run, sent_through.as_deref()).await {
            Ok(retry) => retry,
            Err(err) => {
                run.errors.push(err.to_string());
                run.status = RunStatus::Failed;
                Vec::new()
            }
        };
        if run.status == RunStatus::Running {
            run.status = match (run.failures, run.emails) {
                (0, _) => RunStatus::Succeeded,
                (_, 0) => RunStatus::Failed,
                _ => RunStatus::Partial,
            };
        }
        run.finished_at = Some(Utc::now());
        run.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        // The job learns of the run even when the run record cannot be written:
        // otherwise the next run would send the same e-mails again.
        self.record_on_job(&tenant, &job, &run, retry).await;
        self.runs.finish(&tenant, &run).await?;
        tracing::info!(%tenant, job_id = %job.id, run_id = %run.run_id, status = ?run.status, shoppers = run.shoppers,
            emails = run.emails, items = run.items, failures = run.failures, "run finished");
        Ok(Outcome::Ran(run))
    }

    /// Composes and sends the run's e-mails in shopper id order, counting on
    /// `run`; skips the shoppers up to `sent_through` (an earlier attempt sent to
    /// them). Returns the shoppers to try again next run.
    async fn send(
        &self,
        tenant: &TenantId,
        job: &Job,
        run: &mut Run,
        sent_through: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let since = job.last_run_at.unwrap_or(job.created_at);
        let (wishlists, products) = self.candidates(tenant, job, since).await?;
        let composer = Composer {
            job,
            since,
            products: &products,
        };
        let carried = self.carried(tenant, job).await?;
        let carried_composer = carried.as_ref().map(|(since, _, products)| Composer {
            job,
            since: *since,
            products,
        });
        // A carried shopper is composed once, from the older time.
        let carried_ids: BTreeSet<&str> = carried
            .iter()
            .flat_map(|(_, wishlists, _)| wishlists.iter().map(|w| w.shopper.value.id.as_str()))
            .collect();
        let mut looked_at: Vec<(&Wishlist, &Composer<'_>)> = wishlists
            .iter()
            .filter(|w| !carried_ids.contains(w.shopper.value.id.as_str()))
            .map(|w| (w, &composer))
            .collect();
        if let (Some((_, carried_wishlists, _)), Some(composer)) = (&carried, &carried_composer) {
            looked_at.extend(carried_wishlists.iter().map(|w| (w, composer)));
        }
        looked_at.retain(|(w, _)| sent_through.is_none_or(|done| w.shopper.value.id.as_str() > done));
        looked_at.sort_by(|(a, _), (b, _)| a.shopper.value.id.cmp(&b.shopper.value.id));
        run.shoppers = looked_at.len() as u64;
        let personalizations: Vec<_> = looked_at
            .iter()
            .filter_map(|(w, composer)| composer.personalization(w))
            .collect();
        let args = Map::from_iter([
            ("tenant".to_owned(), json!(tenant.as_str())),
            ("job_id".to_owned(), json!(job.id)),
            ("run_id".to_owned(), json!(run.run_id)),
        ]);
        let mut retry = Vec::new();
        for mail in mails(&self.from, &job.template_id, &args, personalizations) {
            match self.sendgrid.send(&mail).await {
                // A 400 may be one bad address; 401/403/404/413 concern the whole request.
                Err(SendError::Rejected { status: 400, .. }) if mail.personalizations.len() > 1 => {
                    // One bad address must not cost the other shoppers their e-mail.
                    for single in mail.one_by_one() {
                        let result = self.sendgrid.send(&single).await;
                        if count(run, &single, result) {
                            retry.extend(shoppers_of(&single).map(str::to_owned));
                        }
                    }
                }
                result => {
                    if count(run, &mail, result) {
                        retry.extend(shoppers_of(&mail).map(str::to_owned));
                    }
                }
            }
            if let Some(shopper) = shoppers_of(&mail).last() {
                // Progress is a convenience for a retry; the run goes on without it.
                if let Err(err) = self.runs.sent_through(tenant, run, shopper).await {
                    tracing::warn!(job_id = %run.job_id, run_id = %run.run_id, error = %err, "could not record the run's progress");
                }
            }
        }
        Ok(retry)
    }

    /// The shoppers an earlier run could not mail, their wishlists, and what
    /// changed since that run's comparison time. Reminders need none of it: they
    /// go to every wishlist anyway.
    async fn carried(
        &self,
        tenant: &TenantId,
        job: &Job,
    ) -> Result<Option<(DateTime<Utc>, Vec<Wishlist>, HashMap<ProductKey, ProductState>)>, StoreError> {
        let Some(retry) = job
            .retry_shoppers
            .as_ref()
            .filter(|_| job.notification != Notification::WishlistReminder)
        else {
            return Ok(None);
        };
        let wishlists = self.projections.wishlists(tenant, &retry.shoppers).await?;
        let changed = self.projections.products_changed_since(tenant, retry.since).await?;
        let products = changed.into_iter().map(|s| (s.product.clone(), s)).collect();
        Ok(Some((retry.since, wishlists, products)))
    }

    /// The wishlists to look at, and the product states the e-mails need: every
    /// wishlist for a reminder; otherwise those of shoppers wishing for a product
    /// that changed since the last run.
    async fn candidates(
        &self,
        tenant: &TenantId,
        job: &Job,
        since: DateTime<Utc>,
    ) -> Result<(Vec<Wishlist>, HashMap<ProductKey, ProductState>), StoreError> {
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
        let mut shoppers = BTreeSet::new();
        for state in &changed {
            shoppers.extend(self.projections.shoppers_wishing(tenant, &state.product).await?);
        }
        let shoppers: Vec<String> = shoppers.into_iter().collect();
        let wishlists = self.projections.wishlists(tenant, &shoppers).await?;
        let products = changed.into_iter().map(|s| (s.product.clone(), s)).collect();
        Ok((wishlists, products))
    }

    /// The job's last run (what the next run compares with), next run, and the
    /// shoppers to `retry` then. A run that sent nothing because everything
    /// failed leaves `last_run_at` (and who is carried) alone, so the next run
    /// tries the same changes again.
    async fn record_on_job(&self, tenant: &TenantId, job: &Job, run: &Run, mut retry: Vec<String>) {
        let next = job
            .schedule_expression
            .as_deref()
            .and_then(|e| ScheduleExpression::parse(e).ok())
            .and_then(|expression| {
                let zone = parse_timezone(job.schedule_timezone.as_deref().unwrap_or("UTC"))
                    .ok()?
                    .0;
                expression.next_after(Utc::now(), &zone)
            });
        let next = next.map_or(AttributeValue::Null(true), |t| {
            AttributeValue::S(rfc3339_millis::format(&t))
        });
        let last_run = (run.status != RunStatus::Failed).then_some(run.started_at);
        // Shoppers SendGrid could not take when the run still moves `last_run_at`
        // on: the next run mails them what changed since this run's comparison
        // time (or the older one they were carried from).
        if retry.len() > MAX_RETRY_SHOPPERS {
            tracing::warn!(job_id = %job.id, run_id = %run.run_id, shoppers = retry.len(),
                kept = MAX_RETRY_SHOPPERS, "too many shoppers to retry next run; the rest miss this change");
            retry.truncate(MAX_RETRY_SHOPPERS);
        }
        let since = job.last_run_at.unwrap_or(job.created_at);
        let carried = (!retry.is_empty())
            .then(|| RetryShoppers {
                since: job.retry_shoppers.as_ref().map_or(since, |r| r.since.min(since)),
                shoppers: retry,
            })
            .and_then(|carried| serde_dynamo::to_attribute_value::<_, AttributeValue>(&carried).ok());
        let written = self
            .jobs
            .patch(tenant, &job.id, |update| {
                let update = update
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_values(":next", next);
                match (last_run, carried) {
                    (None, _) => update.update_expression("SET next_run_at = :next"),
                    (Some(at), Some(carried)) => update
                        .update_expression("SET next_run_at = :next, last_run_at = :last, retry_shoppers = :retry")
                        .expression_attribute_values(":last", AttributeValue::S(rfc3339_millis::format(&at)))
                        .expression_attribute_values(":retry", carried),
                    (Some(at), None) => update
                        .update_expression("SET next_run_at = :next, last_run_at = :last REMOVE retry_shoppers")
                        .expression_attribute_values(":last", AttributeValue::S(rfc3339_millis::format(&at))),
                }
            })
            .await;
        if let Err(err) = written {
            tracing::warn!(job_id = %job.id, error = %err, "could not record the run on the job");
        }
    }
}
