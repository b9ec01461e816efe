//! A value's recent changes by event time, so that events arriving out of order
//! land in their place, a duplicate changes nothing, and a notification job can
//! ask what the value was at its last run.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Changes kept per value: plenty between two runs of any job.
const KEEP: usize = 32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "T: Serialize + serde::de::DeserializeOwned")]
pub struct History<T> {
    /// Oldest first, at most one entry per time.
    changes: Vec<(DateTime<Utc>, T)>,
}

impl<T> Default for History<T> {
    fn default() -> Self {
        Self { changes: Vec::new() }
    }
}

impl<T: Clone + PartialEq> History<T> {
    /// Records `value` as of `at`; false when an entry for that time exists (a
    /// duplicate event) or it is older than everything kept.
    pub fn record(&mut self, at: DateTime<Utc>, value: T) -> bool {
        let position = self.changes.partition_point(|(t, _)| *t < at);
        if self.changes.get(position).is_some_and(|(t, _)| *t == at) || (self.changes.len() >= KEEP && position == 0) {
            return false;
        }
        self.changes.insert(position, (at, value));
        if self.changes.len() > KEEP {
            self.changes.remove(0);
        }
        true
    }

    /// The latest value.
    pub fn current(&self) -> Option<&T> {
        self.changes.last().map(|(_, v)| v)
    }

    /// The value as of `at` (the last change at or before it); `None` when
    /// nothing that old is known.
    pub fn as_of(&self, at: DateTime<Utc>) -> Option<&T> {
        let position = self.changes.partition_point(|(t, _)| *t <= at);
        position.checked_sub(1).map(|i| &self.changes[i].1)
    }

    /// The time of the last change from a value for which `from` holds to one
    /// for which `to` holds.
    pub fn last_transition(&self, from: impl Fn(&T) -> bool, to: impl Fn(&T) -> bool) -> Option<DateTime<Utc>> {
        self.last_change_where(|before, after| from(before) && to(after))
    }

    /// The time of the last change for which `changed(before, after)` holds.
    pub fn last_change_where(&self, changed: impl Fn(&T, &T) -> bool) -> Option<DateTime<Utc>> {
        self.changes
            .windows(2)
            .rev()
            .find(|pair| changed(&pair[0].1, &pair[1].1))
            .map(|pair| pair[1].0)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn out_of_order_and_duplicate_changes_keep_time_order() {
        let t0 = DateTime::UNIX_EPOCH;
        let at = |s: i64| t0 + Duration::seconds(s);
        let mut stock = History::default();
        assert!(stock.record(at(10), 0));
        assert!(stock.record(at(30), 7));
        // an older event arriving late takes its place; the latest stays current
        assert!(stock.record(at(20), 3));
        assert!(!stock.record(at(20), 3), "a duplicate changes nothing");
        assert_eq!(stock.current(), Some(&7));
        assert_eq!(stock.as_of(at(25)), Some(&3));
        assert_eq!(stock.as_of(at(5)), None);
        assert_eq!(stock.last_transition(|q| *q <= 0, |q| *q > 0), Some(at(20)));
    }

    #[test]
    fn keeps_the_latest_changes_only() {
        let mut prices = History::default();
        for i in 0..40 {
            prices.record(DateTime::UNIX_EPOCH + chrono::Duration::seconds(i), i);
        }
        assert_eq!(prices.changes.len(), KEEP);
        assert!(!prices.record(DateTime::UNIX_EPOCH, -1), "older than everything kept");
        assert_eq!(prices.current(), Some(&39));
    }
}
