//! What was sent against what arrived, per subscription: every accepted event
//! must be in the subscription's inbox or in its dead letters; anything else is
//! lost. Also duplicates, payloads that did not arrive as sent, FIFO order
//! broken within an entity, and ingest-to-delivery latency.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use serde::Serialize;

use super::destinations::{Kind, Subscriber};
use super::load::Accepted;
use super::receivers::Arrival;

/// One subscription's account.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub tenant: String,
    pub kind: &'static str,
    pub subscription_id: String,
    pub accepted: usize,
    pub delivered: usize,
    pub dead_lettered: usize,
    pub lost: usize,
    pub duplicates: usize,
    /// Arrivals whose payload numbers were not the ones sent.
    pub corrupted: usize,
    /// Arrivals on a FIFO destination after a later event of their entity
    /// (retried or not: a FIFO subscription's lanes keep its order through
    /// failures, fanout/pacing.rs).
    pub order_violations: usize,
    pub latency_ms: Percentiles,
    /// Up to five of the lost events, to look up.
    pub lost_examples: Vec<String>,
    /// The service's record of its attempts at the first lost event
    /// (`GET /api/v1/events/{id}/deliveries`), filled in after reconciling.
    pub first_lost_attempts: Vec<serde_json::Value>,
    /// Each delivered event's ingest-to-delivery time.
    #[serde(skip)]
    pub latencies: Vec<Duration>,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Percentiles {
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
}

impl Percentiles {
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let at = |q: f64| {
            let last = samples.len().saturating_sub(1);
            // Nearest rank; samples are few enough for an f64 index.
            let index = ((last as f64) * q).round() as usize;
            samples
                .get(index.min(last))
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        };
        Self {
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
        }
    }
}

/// Each subscriber's row. `dead_letters` holds each subscription's dead-lettered
/// event ids.
pub fn reconcile(
    accepted: &[Accepted],
    subscribers: &[Subscriber],
    arrivals: &[Arrival],
    dead_letters: &HashMap<String, HashSet<String>>,
) -> Vec<Row> {
    let mut by_subscription: HashMap<&str, Vec<&Arrival>> = HashMap::new();
    for arrival in arrivals {
        by_subscription
            .entry(&arrival.subscription_id)
            .or_default()
            .push(arrival);
    }
    subscribers
        .iter()
        .map(|subscriber| {
            let sent: Vec<&Accepted> = accepted.iter().filter(|a| a.tenant == subscriber.tenant).collect();
            let got = by_subscription
                .get(subscriber.subscription_id.as_str())
                .map_or(&[][..], Vec::as_slice);
            row(subscriber, &sent, got, dead_letters.get(&subscriber.subscription_id))
        })
        .collect()
}

fn row(subscriber: &Subscriber, sent: &[&Accepted], got: &[&Arrival], dead: Option<&HashSet<String>>) -> Row {
    let mut first: HashMap<&str, &Arrival> = HashMap::new();
    let mut duplicates = 0;
    let mut firsts_in_order = Vec::new();
    for arrival in got {
        if first.contains_key(arrival.event_id.as_str()) {
            duplicates += 1;
        } else {
            first.insert(&arrival.event_id, arrival);
            firsts_in_order.push(*arrival);
        }
    }
    let late = if subscriber.kind == Kind::Fifo {
        late_arrivals(&firsts_in_order)
    } else {
        Vec::new()
    };
    let mut latencies = Vec::new();
    let (mut delivered, mut dead_lettered) = (0, 0);
    let mut lost = Vec::new();
    for event in sent {
        if let Some(arrival) = first.get(event.event_id.as_str()) {
            delivered += 1;
            latencies.push(arrival.at.saturating_duration_since(event.sent));
        } else if dead.is_some_and(|d| d.contains(&event.event_id)) {
            dead_lettered += 1;
        } else {
            lost.push(event.event_id.clone());
        }
    }
    Row {
        tenant: subscriber.tenant.clone(),
        kind: subscriber.kind.label(),
        subscription_id: subscriber.subscription_id.clone(),
        accepted: sent.len(),
        delivered,
        dead_lettered,
        lost: lost.len(),
        duplicates,
        corrupted: got.iter().filter(|a| !a.exact).count(),
        order_violations: late.len(),
        latency_ms: Percentiles::of(latencies.clone()),
        lost_examples: lost.into_iter().take(5).collect(),
        first_lost_attempts: Vec::new(),
        latencies,
    }
}

/// The events that arrived after a later event of the same entity.
fn late_arrivals(arrivals: &[&Arrival]) -> Vec<String> {
    let mut highest: BTreeMap<&str, u64> = BTreeMap::new();
    let mut late = Vec::new();
    for arrival in arrivals {
        let Some(seq) = arrival.seq else { continue };
        let seen = highest.entry(&arrival.entity).or_insert(seq);
        if seq < *seen {
            late.push(arrival.event_id.clone());
        }
        *seen = (*seen).max(seq);
    }
    late
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn subscriber(kind: Kind) -> Subscriber {
        Subscriber {
            tenant: "acme".into(),
            kind,
            name: "q".into(),
            subscription_id: "sub_1".into(),
            inbox: None,
        }
    }

    fn accepted(id: &str, seq: u64, sent: Instant) -> Accepted {
        Accepted {
            tenant: "acme".into(),
            event_id: id.into(),
            entity: "ORD-1".into(),
            seq,
            sent,
        }
    }

    fn arrival(id: &str, seq: u64, at: Instant) -> Arrival {
        Arrival {
            subscription_id: "sub_1".into(),
            event_id: id.into(),
            entity: "ORD-1".into(),
            seq: Some(seq),
            at,
            exact: true,
        }
    }

    #[test]
    fn an_event_neither_received_nor_dead_lettered_is_lost() {
        // GIVEN four accepted events: two arrived (one twice), one dead-lettered, one nowhere
        let t0 = Instant::now();
        let sent: Vec<_> = (0..4).map(|i| accepted(&format!("e{i}"), i, t0)).collect();
        let later = t0 + Duration::from_millis(100);
        let got = [
            arrival("e0", 0, later),
            arrival("e1", 1, later),
            arrival("e1", 1, later),
        ];
        let dead = HashMap::from([("sub_1".to_owned(), HashSet::from(["e2".to_owned()]))]);
        // WHEN reconciled
        let rows = reconcile(&sent, &[subscriber(Kind::Sqs)], &got, &dead);
        // THEN one is lost, named, and the duplicate counted
        let row = &rows[0];
        assert_eq!(
            (row.accepted, row.delivered, row.dead_lettered, row.lost, row.duplicates),
            (4, 2, 1, 1, 1)
        );
        assert_eq!(row.lost_examples, ["e3"]);
        assert_eq!(row.latency_ms.p99, 100);
    }

    #[test]
    fn a_fifo_arrival_after_a_later_event_of_its_entity_breaks_order() {
        let t0 = Instant::now();
        let sent: Vec<_> = (0..3).map(|i| accepted(&format!("e{i}"), i, t0)).collect();
        let got = [arrival("e0", 0, t0), arrival("e2", 2, t0), arrival("e1", 1, t0)];
        let fifo = reconcile(&sent, &[subscriber(Kind::Fifo)], &got, &HashMap::new());
        assert_eq!(fifo[0].order_violations, 1);
        let standard = reconcile(&sent, &[subscriber(Kind::Sqs)], &got, &HashMap::new());
        assert_eq!(standard[0].order_violations, 0, "standard queues promise no order");
    }
}
