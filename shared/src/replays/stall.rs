//! A stalled replay: RUNNING, yet no step advanced and nobody resumed it for
//! `STALLED_AFTER`. Its task was lost: the worker died between recording a
//! step and queueing the next and the message was not redelivered, or the task
//! went to the dead-letter queue. get-replay answers it `stalled` (a GET writes
//! nothing); replay-subscription, refusing a second replay for it, queues its
//! step again, so the replay ends and its lock with it.

use chrono::{DateTime, Duration, Utc};

use super::model::{Replay, ReplayStatus};
use super::queue::ReplayQueue;
use super::store::Replays;
use super::worker::ReplayError;
use crate::tenant::TenantId;

/// Longer than the replay queue's visibility timeout (6 minutes), so a step
/// whose worker failed is received again, and queues its next, before anyone
/// calls its replay stalled.
pub const STALLED_AFTER: Duration = Duration::minutes(10);

impl Replay {
    /// Whether it is running but has not moved since `now - STALLED_AFTER`.
    pub fn stalled(&self, now: DateTime<Utc>) -> bool {
        let moved = [Some(self.started_at), self.advanced_at, self.resumed_at]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(self.started_at);
        self.status == ReplayStatus::Running && moved < now - STALLED_AFTER
    }
}

/// Queues the step of `replay` again if it is stalled at `now`; the replay as
/// resumed, or `None` when it was not stalled or another caller resumed it
/// first (one resume per stall: a page sent twice at most).
pub async fn resume_if_stalled(
    replays: &Replays,
    queue: &ReplayQueue,
    tenant: &TenantId,
    replay: &Replay,
    now: DateTime<Utc>,
) -> Result<Option<Replay>, ReplayError> {
    if !replay.stalled(now) || !replays.resume(tenant, replay, now).await? {
        return Ok(None);
    }
    queue.send(&replay.task(tenant)).await?;
    tracing::warn!(%tenant, replay_id = %replay.replay_id, step = replay.step, "stalled replay resumed");
    Ok(Some(Replay {
        resumed_at: Some(now),
        ..replay.clone()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay(started: &str, advanced: Option<&str>, resumed: Option<&str>) -> Replay {
        let at = |text: &str| text.parse::<DateTime<Utc>>().expect("time");
        Replay {
            advanced_at: advanced.map(at),
            resumed_at: resumed.map(at),
            ..Replay::running_since(started)
        }
    }

    #[test]
    fn a_running_replay_is_stalled_once_nothing_moved_it_for_the_bound() {
        let now = "2026-11-30T12:00:00Z".parse().expect("now");
        // GIVEN replays that last moved 11 minutes ago (started, advanced or resumed)
        let quiet = replay("2026-11-30T11:49:00Z", None, None);
        let advanced_long_ago = replay("2026-11-30T11:00:00Z", Some("2026-11-30T11:49:00Z"), None);
        // AND ones that moved 9 minutes ago
        let advanced = replay("2026-11-30T11:00:00Z", Some("2026-11-30T11:51:00Z"), None);
        let resumed = replay(
            "2026-11-30T11:00:00Z",
            Some("2026-11-30T11:01:00Z"),
            Some("2026-11-30T11:51:00Z"),
        );
        let ended = Replay {
            status: ReplayStatus::Succeeded,
            ..quiet.clone()
        };
        // THEN only the running ones quiet for longer than the bound are stalled
        assert!(quiet.stalled(now));
        assert!(advanced_long_ago.stalled(now));
        assert!(!advanced.stalled(now));
        assert!(!resumed.stalled(now));
        assert!(!ended.stalled(now));
    }
}
