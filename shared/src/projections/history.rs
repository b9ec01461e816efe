//! A value's recent changes by event time, so that events arriving out of order
//! land in their place and a duplicate changes nothing. Each change also keeps
//! when it was recorded, so a notification job can ask what the projection
//! showed at its last run (event times are the clients' clocks; runs are ours).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Changes kept per value: plenty between two runs of any job.
const KEEP: usize = 32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "T: Serialize + serde::de::DeserializeOwned")]
pub struct History<T> {
    /// Oldest event first, at most one entry per event time.
    changes: Vec<Change<T>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Change<T> {
    at: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
    value: T,
}

impl<T> Default for History<T> {
    fn default() -> Self {
        Self { changes: Vec::new() }
    }
}

impl<T: Clone + PartialEq> History<T> {
    /// Records `value` as of event time `at`, written at `recorded_at`; false when
    /// an entry for that time exists (a duplicate event) or it is older than
    /// everything kept.
    pub fn record(&mut self, at: DateTime<Utc>, recorded_at: DateTime<Utc>, value: T) -> bool {
        let position = self.changes.partition_point(|c| c.at < at);
        if self.changes.get(position).is_some_and(|c| c.at == at) || (self.changes.len() >= KEEP && position == 0) {
            return false;
        }
        self.changes.insert(position, Change { at, recorded_at, value });
        if self.changes.len() > KEEP {
            self.changes.remove(0);
        }
        true
    }

    /// The latest value.
    pub fn current(&self) -> Option<&T> {
        self.changes.last().map(|c| &c.value)
    }

    /// The value as of event time `at` (the last change at or before it); `None`
    /// when nothing that old is known.
    pub fn as_of(&self, at: DateTime<Utc>) -> Option<&T> {
        let position = self.changes.partition_point(|c| c.at <= at);
        position.checked_sub(1).map(|i| &self.changes[i].value)
    }

    /// What the projection showed at `when`: the latest (by event time) of the
    /// changes recorded by then. Before anything was recorded, the first value
    /// recorded after it stands in, so a run compares with what it first learned.
    pub fn seen_at(&self, when: DateTime<Utc>) -> Option<&T> {
        let seen = self
            .changes
            .iter()
            .filter(|c| c.recorded_at <= when)
            .max_by_key(|c| c.at);
        seen.or_else(|| self.changes.iter().min_by_key(|c| c.recorded_at))
            .map(|c| &c.value)
    }

    /// Whether `changed(then, now)` holds from what the projection showed at
    /// `since` to what it showed at `until`, and still holds for the current
    /// value (a product sold out again since is not announced back in stock).
    pub fn changed_between(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        changed: impl Fn(&T, &T) -> bool,
    ) -> bool {
        match (self.seen_at(since), self.seen_at(until), self.current()) {
            (Some(then), Some(now), Some(current)) => changed(then, now) && changed(then, current),
            _ => false,
        }
    }

    /// Whether the value came to one for which `to` holds by `until`, from one for
    /// which `from` held at `since` or at any recording in between, and `to`
    /// still holds now. So a product sold out and back within one window counts,
    /// and one sold out again since `until` waits for the window that sees it
    /// come back.
    pub fn came_to(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        from: impl Fn(&T) -> bool,
        to: impl Fn(&T) -> bool,
    ) -> bool {
        let recorded_between = self
            .changes
            .iter()
            .filter(|c| c.recorded_at > since && c.recorded_at <= until)
            .map(|c| c.recorded_at);
        let was = std::iter::once(since)
            .chain(recorded_between)
            .any(|when| self.seen_at(when).is_some_and(&from));
        was && self.seen_at(until).is_some_and(&to) && self.current().is_some_and(&to)
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
            .find(|pair| changed(&pair[0].value, &pair[1].value))
            .map(|pair| pair[1].at)
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
        assert!(stock.record(at(10), at(11), 0));
        assert!(stock.record(at(30), at(31), 7));
        // an older event arriving late takes its place; the latest stays current
        assert!(stock.record(at(20), at(40), 3));
        assert!(!stock.record(at(20), at(41), 3), "a duplicate changes nothing");
        assert_eq!(stock.current(), Some(&7));
        assert_eq!(stock.as_of(at(25)), Some(&3));
        assert_eq!(stock.as_of(at(5)), None);
        assert_eq!(stock.last_transition(|q| *q <= 0, |q| *q > 0), Some(at(20)));
        // what a run at 35 saw: the changes recorded by then, latest by event time
        assert_eq!(stock.seen_at(at(35)), Some(&7));
        assert_eq!(stock.seen_at(at(12)), Some(&0));
        assert_eq!(
            stock.seen_at(at(5)),
            Some(&0),
            "before anything: the first value learned"
        );
    }

    #[test]
    fn a_value_comes_to_a_state_in_the_window_that_sees_it() {
        let at = |s: i64| DateTime::UNIX_EPOCH + Duration::seconds(s);
        let (out, back) = (|q: &i64| *q <= 0, |q: &i64| *q > 0);
        let mut stock = History::default();
        stock.record(at(1), at(1), 0);
        stock.record(at(15), at(15), 5);
        // back at 15: in the window (10, 20] only
        assert!(stock.came_to(at(10), at(20), out, back));
        assert!(!stock.came_to(at(20), at(30), out, back));
        // sold out again at 25 (before a run cut off at 20 reads): not announced now...
        stock.record(at(25), at(25), 0);
        assert!(!stock.came_to(at(10), at(20), out, back));
        // ...but when it comes back within the next window, though the stock at
        // both of that window's ends is 5
        stock.record(at(28), at(28), 5);
        assert!(stock.came_to(at(20), at(30), out, back));
        assert!(!stock.came_to(at(30), at(40), out, back));
    }

    #[test]
    fn keeps_the_latest_changes_only() {
        let mut prices = History::default();
        for i in 0..40 {
            let t = DateTime::UNIX_EPOCH + chrono::Duration::seconds(i);
            prices.record(t, t, i);
        }
        assert_eq!(prices.changes.len(), KEEP);
        assert!(
            !prices.record(DateTime::UNIX_EPOCH, DateTime::UNIX_EPOCH, -1),
            "older than everything kept"
        );
        assert_eq!(prices.current(), Some(&39));
    }
}
