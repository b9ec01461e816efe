//! How long a delivery may wait for its retries. SQS drops a message older than
//! its queue's retention without a trace (no dead-letter queue ever sees it), so
//! the retry consumer gives up well before that: a delivery first parked more
//! than `RETRY_MAX_AGE_HOURS` ago becomes its subscription's dead letter (the
//! stack bus's, the dead-letter queue's), listed and redriven like any other.

use chrono::{DateTime, Duration, Utc};

use super::plan::Delivery;
use crate::config::{ConfigError, Environment};

pub const MAX_AGE_VARIABLE: &str = "RETRY_MAX_AGE_HOURS";

/// How long the retry queue keeps a message: SQS's maximum, as template.yaml's
/// `FanoutRetryQueue` sets it (local/tests/contract.rs holds them together).
pub const RETRY_QUEUE_RETENTION: Duration = Duration::days(14);

/// What an expired delivery's dead letter says first.
pub const EXPIRED: &str = "EXPIRED";

/// `RETRY_MAX_AGE_HOURS`: 1 to half the retry queue's retention (168), default
/// 48. At most half, so a delivery still has as long again to be received (a
/// backlog) before SQS would drop it.
pub fn max_age(env: &Environment) -> Result<Duration, ConfigError> {
    let longest = RETRY_QUEUE_RETENTION.num_hours() / 2;
    env.duration(MAX_AGE_VARIABLE, Duration::hours, 48, 1..=longest)
}

/// Why `delivery` is given up on, if it was first parked more than `max_age`
/// before `now`; `None` while it may be retried (or its first parking is unknown).
pub fn expired(delivery: &Delivery, max_age: Duration, now: DateTime<Utc>) -> Option<String> {
    let waited = now - delivery.parked_since?;
    (waited > max_age).then(|| format!("{EXPIRED}: retried for {}", in_words(waited)))
}

/// Whole hours, or minutes under an hour.
fn in_words(waited: Duration) -> String {
    match waited.num_hours() {
        0 => format!("{} min", waited.num_minutes()),
        hours => format!("{hours} h"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::fanout::{Origin, OutgoingMessage};
    use crate::tenant::TenantId;

    fn parked(since: Option<DateTime<Utc>>) -> Delivery {
        Delivery {
            message: OutgoingMessage::default(),
            origin: Origin {
                tenant: TenantId::parse("acme").expect("tenant"),
                event_id: "evt-1".into(),
                subscription_id: Some("sub-1".into()),
                psi_fields: Vec::new(),
            },
            failures: 3,
            parked_since: since,
        }
    }

    #[test]
    fn a_delivery_first_parked_longer_ago_than_the_bound_is_expired_with_its_age() {
        let now = Utc::now();
        let bound = Duration::hours(48);
        assert_eq!(
            expired(&parked(Some(now - Duration::hours(49))), bound, now).as_deref(),
            Some("EXPIRED: retried for 49 h")
        );
        assert_eq!(
            expired(&parked(Some(now - Duration::minutes(3))), Duration::zero(), now).as_deref(),
            Some("EXPIRED: retried for 3 min")
        );
        assert_eq!(expired(&parked(Some(now - Duration::hours(47))), bound, now), None);
        assert_eq!(expired(&parked(None), bound, now), None, "unknown: retried");
    }

    #[test]
    fn the_bound_stays_within_half_the_retry_queues_retention() {
        let read = |value: &str| max_age(&Environment::of(&BTreeMap::from([(MAX_AGE_VARIABLE, value)])));
        assert_eq!(read("").expect("default"), Duration::hours(48));
        assert_eq!(read("168").expect("a week"), Duration::hours(168));
        for refused in ["0", "169", "336", "-1", "a day"] {
            assert!(read(refused).is_err(), "{refused}");
        }
    }
}
