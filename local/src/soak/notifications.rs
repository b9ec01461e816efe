//! Notification runs under the load, with SendGrid answering 429 and 5xx to a
//! share of its calls: each quiet tenant's shoppers wish for products that are
//! out of stock, some come back in stock while the load runs, and the tenant's
//! back-in-stock job runs every few seconds (as Scheduler would invoke it).
//! Afterwards, each shopper must have been mailed each restocked product they
//! wished for exactly once (in a mail SendGrid accepted), and no other.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use base64::Engine;
use serde::Serialize;
use serde_json::{Value, json};
use shared::notifications::{Invocation, NotificationRunner, Outcome};

use super::{Context, SoakError};
use crate::sendgrid_stub::SendGridStub;

const SHOPPERS: usize = 6;
/// Products each tenant's shoppers wish for; the last never comes back.
const PRODUCTS: [&str; 4] = ["P0", "P1", "P2", "P3"];
/// Runs after the faults end, to mail what failed before (carried shoppers).
const CLEAN_RUNS: usize = 4;

/// The mails' outcome over every quiet tenant.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MailCheck {
    pub runs: usize,
    /// Runs that ended in an error part way (a store call failed). Lambda would
    /// retry such an execution after its lease and carry on where it stopped;
    /// the harness starts a new execution instead, which mails again what the
    /// failed one had mailed: a tenant's pairs mailed twice after one of its runs
    /// failed are counted apart (`duplicates_after_failed_runs`).
    pub failed_runs: usize,
    /// SendGrid calls answered 429 or 5xx.
    pub refused_calls: usize,
    /// (shopper, restocked product wished) pairs mailed exactly once.
    pub mailed_once: usize,
    /// Pairs never mailed.
    pub never_mailed: usize,
    /// Pairs mailed more than once (of tenants none of whose runs failed).
    pub duplicates: usize,
    /// Pairs mailed more than once, of tenants one of whose runs failed part way.
    pub duplicates_after_failed_runs: usize,
    /// Products mailed that were not restocked or not wished for.
    pub unexpected: usize,
    /// Up to five of them, with how often each was mailed.
    pub extra_examples: Vec<String>,
}

impl MailCheck {
    /// Every change mailed, once (unless a run of its tenant failed part way), and nothing else.
    pub fn passed(&self) -> bool {
        self.never_mailed == 0 && self.duplicates == 0 && self.unexpected == 0
    }
}

/// What a shopper of `tenant` wishes for: two products, by turns.
fn wishes(shopper: usize) -> [&'static str; 2] {
    [
        PRODUCTS[shopper % PRODUCTS.len()],
        PRODUCTS[(shopper + 1) % PRODUCTS.len()],
    ]
}

fn email(tenant: &str, shopper: usize) -> String {
    format!("{tenant}-s{shopper}@example.com")
}

impl Context {
    /// Posts an event of `entity` with `payload` for `tenant`.
    async fn post_entity(
        &self,
        tenant: &str,
        entity: &str,
        operation: &str,
        id: &str,
        payload: &Value,
    ) -> Result<(), SoakError> {
        let body = json!({
            "entity_id": id, "entity_name": entity, "event_source": "APPLICATION", "event_type": "ENTITY_EVENT",
            "event_payload": {"operation": operation, "entity_id": id,
                "base64_encoded_payload_json": base64::engine::general_purpose::STANDARD.encode(payload.to_string())}
        });
        let answer = self.api.post(tenant, "/api/v1/events", &body).await?;
        if answer.status != 201 {
            return Err(SoakError::Api(format!(
                "{entity} event for {tenant}: {} {}",
                answer.status, answer.body
            )));
        }
        Ok(())
    }

    /// Wishlists and empty stock for `tenant`, and its back-in-stock job; the
    /// job id.
    pub(super) async fn shop(&self, tenant: &str) -> Result<String, SoakError> {
        for shopper in 0..SHOPPERS {
            let items: Vec<Value> = wishes(shopper)
                .iter()
                .map(|p| json!({"product_id": p, "name": p, "url": format!("https://shop.example/p/{p}")}))
                .collect();
            let payload = json!({"shopper": {"id": format!("s{shopper}"), "email": email(tenant, shopper), "name": "Shopper"},
                "items": items});
            self.post_entity(tenant, "WISHLIST", "CREATE", &format!("s{shopper}"), &payload)
                .await?;
        }
        for product in PRODUCTS {
            self.post_entity(
                tenant,
                "INVENTORY_LEVEL",
                "UPDATE",
                product,
                &json!({"product_id": product, "quantity": 0}),
            )
            .await?;
        }
        let job = json!({"notification": "BACK_IN_STOCK", "template_id": "d-restock", "number_of_items_in_email": 4,
            "job_parameters": {"campaign_id": "soak"}, "schedule": "0 9 * * *",
            "is_active": true, "is_scheduled": true, "deleted": false});
        let answer = self.api.post(tenant, "/api/v1/jobs", &job).await?;
        answer.body["id"]
            .as_str()
            .filter(|_| answer.status == 201)
            .map(str::to_owned)
            .ok_or_else(|| SoakError::Setup(format!("job for {tenant}: {} {}", answer.status, answer.body)))
    }

    /// Restocks all products but the last, a third and two thirds into `load`.
    pub(super) async fn restock(&self, tenants: &[String], load: Duration) -> Result<(), SoakError> {
        for (at, products) in [(load / 3, &PRODUCTS[..2]), (load / 3, &PRODUCTS[2..3])] {
            tokio::time::sleep(at).await;
            for tenant in tenants {
                for product in products {
                    let payload = json!({"product_id": product, "quantity": 5});
                    self.post_entity(tenant, "INVENTORY_LEVEL", "UPDATE", product, &payload)
                        .await?;
                }
            }
        }
        Ok(())
    }
}

/// Runs each tenant's job every `every` until `until`, then `CLEAN_RUNS` more
/// times once SendGrid answers well again; returns the runs made, and the
/// tenant of each that failed part way.
pub async fn run_jobs(
    runner: &NotificationRunner,
    sendgrid: &SendGridStub,
    jobs: &[(String, String)],
    every: Duration,
    until: Duration,
) -> Result<(usize, Vec<String>), SoakError> {
    let started = Instant::now();
    let mut runs = 0;
    let failed = std::sync::Mutex::new(Vec::new());
    let failed = &failed;
    let run_all = |label: String| {
        let label = label.clone();
        async move {
            for (tenant, job) in jobs {
                let invocation = Invocation {
                    tenant: tenant.clone(),
                    job_id: job.clone(),
                    scheduled_time: None,
                    execution_id: format!("{label}-{}", uuid::Uuid::now_v7().simple()),
                };
                match runner.run(invocation).await {
                    Ok(Outcome::Ran(_) | Outcome::AlreadyRan) => {}
                    Ok(Outcome::Skipped(why)) => return Err(SoakError::Setup(format!("job skipped: {why}"))),
                    Err(err) => {
                        tracing::error!(error = %err, "notification run failed part way");
                        failed
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push(tenant.clone());
                    }
                }
            }
            Ok::<(), SoakError>(())
        }
    };
    while started.elapsed() < until {
        run_all(format!("soak-{runs}")).await?;
        runs += 1;
        tokio::time::sleep(every).await;
    }
    sendgrid.answer_randomly(0.0, 0.0);
    for clean in 0..CLEAN_RUNS {
        tokio::time::sleep(every).await;
        run_all(format!("clean-{clean}")).await?;
        runs += 1;
    }
    let failed = std::mem::take(&mut *failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    Ok((runs, failed))
}

/// Each (shopper, restocked product) must be in exactly one accepted mail.
pub fn check(sendgrid: &SendGridStub, tenants: &[String], (runs, failed): (usize, Vec<String>)) -> MailCheck {
    let mut mailed: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut refused_calls = 0;
    for received in sendgrid.received() {
        if received.status != 202 {
            refused_calls += 1;
            continue;
        }
        for personalization in received.body["personalizations"].as_array().into_iter().flatten() {
            let to = personalization["to"][0]["email"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            for item in personalization["dynamic_template_data"]["items"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let product = item["product_id"].as_str().unwrap_or_default().to_owned();
                *mailed.entry((to.clone(), product)).or_default() += 1;
            }
        }
    }
    let restocked: BTreeSet<&str> = PRODUCTS[..3].iter().copied().collect();
    let mut check = MailCheck {
        runs,
        failed_runs: failed.len(),
        refused_calls,
        ..MailCheck::default()
    };
    let mut expected = BTreeSet::new();
    let mut excused = BTreeSet::new();
    for tenant in tenants {
        for shopper in 0..SHOPPERS {
            for product in wishes(shopper).into_iter().filter(|p| restocked.contains(p)) {
                let pair = (email(tenant, shopper), product.to_owned());
                if failed.contains(tenant) {
                    excused.insert(pair.clone());
                }
                expected.insert(pair);
            }
        }
    }
    let ours = |to: &str| tenants.iter().any(|t| to.starts_with(&format!("{t}-s")));
    for pair in &expected {
        match mailed.get(pair).copied().unwrap_or(0) {
            0 => check.never_mailed += 1,
            1 => check.mailed_once += 1,
            _ if excused.contains(pair) => check.duplicates_after_failed_runs += 1,
            _ => check.duplicates += 1,
        }
    }
    check.unexpected = mailed
        .keys()
        .filter(|pair| ours(&pair.0) && !expected.contains(*pair))
        .count();
    check.extra_examples = mailed
        .iter()
        .filter(|(pair, times)| ours(&pair.0) && (**times > 1 || !expected.contains(*pair)))
        .take(5)
        .map(|((to, product), times)| format!("{to} {product} ×{times}"))
        .collect();
    check
}
