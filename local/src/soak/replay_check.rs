//! A replay run under the scenario's faults: the window of the whole load is
//! replayed to one subscription, and the replay must finish (SUCCEEDED) and
//! send every event of the window again, so each arrives a second time.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::destinations::Subscriber;
use super::load::Accepted;
use super::receivers::Arrivals;
use super::{Context, SoakError};

/// How long a replay of a short window may take, crashes and all: each step
/// killed comes back after the replay queue's visibility timeout (moto's 30 s
/// default locally), and four kills in one replay happen in a run now and then
/// (a CI run of 2026-12-07 was stopped at 120 s with the replay RUNNING).
const REPLAY_DEADLINE: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Serialize)]
pub struct ReplayCheck {
    pub replay_id: String,
    /// Its last status (`SUCCEEDED` when it finished).
    pub status: String,
    pub matched: u64,
    pub sent: u64,
    /// Events of the window that did not arrive a second time.
    pub not_resent: usize,
}

impl ReplayCheck {
    pub fn passed(&self) -> bool {
        self.status == "SUCCEEDED" && self.not_resent == 0
    }
}

impl Context {
    /// Replays `[from, now]` to `subscriber` and waits for it to finish and for
    /// every event of `accepted` (the subscriber's tenant's) to arrive again.
    pub(super) async fn replay_check(
        &self,
        subscriber: &Subscriber,
        from: DateTime<Utc>,
        accepted: &[Accepted],
    ) -> Result<ReplayCheck, SoakError> {
        let path = format!("/api/v1/event-subscription/{}/replay", subscriber.subscription_id);
        // `to` a moment ahead: the service takes it as now (toClamped).
        let to = Utc::now() + chrono::Duration::seconds(1);
        let window = json!({"from": from.to_rfc3339(), "to": to.to_rfc3339()});
        let started = self.api.post(&subscriber.tenant, &path, &window).await?;
        let Some(replay_id) = started.body["replayId"].as_str().filter(|_| started.status == 202) else {
            return Err(SoakError::Api(format!("{path}: {} {}", started.status, started.body)));
        };
        let deadline = Instant::now() + REPLAY_DEADLINE;
        let progress_path = format!("{path}s/{replay_id}");
        let mut progress = started.body.clone();
        while progress["status"] == "RUNNING" && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(1)).await;
            progress = self.api.get(&subscriber.tenant, &progress_path).await?.body;
        }
        let wanted: Vec<&str> = accepted
            .iter()
            .filter(|a| a.tenant == subscriber.tenant)
            .map(|a| a.event_id.as_str())
            .collect();
        let not_resent = loop {
            let missing = not_arrived_twice(&self.arrivals, subscriber, &wanted);
            if missing == 0 || Instant::now() >= deadline {
                break missing;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        Ok(ReplayCheck {
            replay_id: replay_id.to_owned(),
            status: progress["status"].as_str().unwrap_or("unknown").to_owned(),
            matched: progress["matched"].as_u64().unwrap_or(0),
            sent: progress["sent"].as_u64().unwrap_or(0),
            not_resent,
        })
    }
}

/// How many of `wanted` have not reached `subscriber` at least twice.
fn not_arrived_twice(arrivals: &Arrivals, subscriber: &Subscriber, wanted: &[&str]) -> usize {
    let mut counts = std::collections::HashMap::new();
    for arrival in arrivals.snapshot() {
        if arrival.subscription_id == subscriber.subscription_id {
            *counts.entry(arrival.event_id).or_insert(0) += 1;
        }
    }
    wanted
        .iter()
        .filter(|id| counts.get(**id).copied().unwrap_or(0) < 2)
        .count()
}
