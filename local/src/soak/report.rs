//! A scenario's outcome: the reconciled rows, the figures the docs publish, and
//! what makes the run fail.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use serde::Serialize;

use super::loyalty::LoyaltyCheck;
use super::notifications::MailCheck;
use super::reconcile::{Percentiles, Row};
use super::replay_check::ReplayCheck;

/// Functions the harness itself calls while it settles (not part of an event's cost).
const HARNESS_CALLS: [&str; 1] = ["list-dead-letters"];

#[derive(Debug, Serialize)]
pub struct Outcome {
    pub scenario: &'static str,
    pub quiet_tenants: Vec<String>,
    pub accepted: usize,
    /// POSTs not accepted, with why.
    pub refused: Vec<String>,
    /// How long the load ran, and until every event was accounted for.
    pub loaded: Duration,
    pub settled: Duration,
    pub rows: Vec<Row>,
    /// (function, operation, entries) of every AWS call the functions made.
    #[serde(skip)]
    pub calls: Vec<(String, String, usize)>,
    /// Calls each injected fault broke.
    pub injected: Vec<(String, u64)>,
    /// Invocations killed mid-batch.
    pub crashes: u64,
    /// The replay run after the load, if the scenario runs one.
    pub replay: Option<ReplayCheck>,
    /// The loyalty ledgers' invariants, if the scenario earns and spends points.
    pub loyalty: Option<LoyaltyCheck>,
    /// The shoppers' e-mails, if the scenario runs notification jobs.
    pub mails: Option<MailCheck>,
    /// How busy the emulator was (locally): a figure moto's one core bounds
    /// shows here as calls slower than in the steady run.
    pub emulator: Option<Emulator>,
}

/// The functions' calls to the emulator from the load's start to the end of the checks.
#[derive(Debug, Clone, Serialize)]
pub struct Emulator {
    pub calls: usize,
    pub per_second: f64,
    pub mean_ms: f64,
}

/// Totals over a scenario's rows.
#[derive(Debug, Default, Serialize)]
pub struct Totals {
    pub deliveries: usize,
    pub delivered: usize,
    pub dead_lettered: usize,
    pub lost: usize,
    pub duplicates: usize,
    pub corrupted: usize,
    pub order_violations: usize,
}

impl Outcome {
    pub fn totals(&self) -> Totals {
        self.rows.iter().fold(Totals::default(), |t, r| Totals {
            deliveries: t.deliveries + r.accepted,
            delivered: t.delivered + r.delivered,
            dead_lettered: t.dead_lettered + r.dead_lettered,
            lost: t.lost + r.lost,
            duplicates: t.duplicates + r.duplicates,
            corrupted: t.corrupted + r.corrupted,
            order_violations: t.order_violations + r.order_violations,
        })
    }

    /// Latency over the quiet tenants' deliveries.
    pub fn quiet_latency(&self) -> Percentiles {
        Percentiles::of(
            self.rows
                .iter()
                .filter(|r| self.quiet_tenants.contains(&r.tenant))
                .flat_map(|r| r.latencies.iter().copied())
                .collect(),
        )
    }

    /// AWS calls per accepted event, by function.
    pub fn calls_per_event(&self) -> BTreeMap<String, f64> {
        let mut counts: BTreeMap<String, f64> = BTreeMap::new();
        for (function, _, _) in self.own_calls() {
            *counts.entry(function.clone()).or_default() += 1.0;
        }
        let events = self.accepted.max(1) as f64;
        counts.values_mut().for_each(|c| *c /= events);
        counts
    }

    /// AWS calls and their entries (what AWS bills by: items, messages, events)
    /// per accepted event, by function and operation.
    pub fn operations_per_event(&self) -> BTreeMap<(String, String), (f64, f64)> {
        let mut counts: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
        for (function, operation, entries) in self.own_calls() {
            let count = counts.entry((function.clone(), operation.clone())).or_default();
            count.0 += 1.0;
            count.1 += *entries as f64;
        }
        let events = self.accepted.max(1) as f64;
        for (calls, entries) in counts.values_mut() {
            *calls /= events;
            *entries /= events;
        }
        counts
    }

    /// The calls the stack's functions made, not the harness's own reads.
    fn own_calls(&self) -> impl Iterator<Item = &(String, String, usize)> {
        self.calls
            .iter()
            .filter(|(function, _, _)| !HARNESS_CALLS.contains(&function.as_str()))
    }

    /// Why this scenario fails the run (empty when it passes).
    pub fn problems(&self) -> Vec<String> {
        let t = self.totals();
        let mut problems = Vec::new();
        for (count, what) in [
            (t.lost, "deliveries lost"),
            (t.order_violations, "FIFO order violations"),
            (t.corrupted, "payloads corrupted"),
            (self.refused.len(), "events refused by the API"),
        ] {
            if count > 0 {
                problems.push(format!("{}: {count} {what}", self.scenario));
            }
        }
        if let Some(mails) = self.mails.as_ref().filter(|m| !m.passed()) {
            problems.push(format!(
                "{}: shoppers not mailed exactly once a change: {mails:?}",
                self.scenario
            ));
        }
        if let Some(loyalty) = self.loyalty.as_ref().filter(|l| !l.passed()) {
            problems.push(format!("{}: a loyalty invariant broke: {loyalty:?}", self.scenario));
        }
        if let Some(replay) = self.replay.as_ref().filter(|r| !r.passed()) {
            problems.push(format!(
                "{}: the replay did not finish whole: {replay:?}",
                self.scenario
            ));
        }
        problems
    }

    /// The scenario's table, for people.
    pub fn render(&self) -> String {
        let t = self.totals();
        let q = self.quiet_latency();
        let mut out = format!(
            "\n== {}: {} events accepted ({:.1}/s) over {:.0} s, settled after {:.0} s\n",
            self.scenario,
            self.accepted,
            self.accepted as f64 / self.loaded.as_secs_f64().max(0.001),
            self.loaded.as_secs_f64(),
            self.settled.as_secs_f64(),
        );
        let _ = writeln!(
            out,
            "   deliveries {}: delivered {}, dead-lettered {}, LOST {}, duplicates {}, corrupted {}, order violations {}; quiet tenants' latency p50/p95/p99 {}/{}/{} ms",
            t.deliveries,
            t.delivered,
            t.dead_lettered,
            t.lost,
            t.duplicates,
            t.corrupted,
            t.order_violations,
            q.p50,
            q.p95,
            q.p99
        );
        if let Some(e) = &self.emulator {
            let _ = writeln!(
                out,
                "   emulator: {} calls from the functions ({:.0}/s), {:.1} ms each on average",
                e.calls, e.per_second, e.mean_ms
            );
        }
        if let Some(r) = &self.replay {
            let _ = writeln!(
                out,
                "   replay of the window to one subscription: {} (matched {}, sent {}), events not sent again: {}",
                r.status, r.matched, r.sent, r.not_resent
            );
        }
        if let Some(m) = &self.mails {
            let _ = writeln!(
                out,
                "   e-mails: {} runs ({} failed part way), {} SendGrid calls refused (429/503); (shopper, restocked product) mailed once {}, never {}, twice or more {} (and {} after a failed run), unexpected {} {:?}",
                m.runs,
                m.failed_runs,
                m.refused_calls,
                m.mailed_once,
                m.never_mailed,
                m.duplicates,
                m.duplicates_after_failed_runs,
                m.unexpected,
                m.extra_examples
            );
        }
        if let Some(l) = &self.loyalty {
            let _ = writeln!(
                out,
                "   loyalty: {} customers, {} actions, {} redemptions, {} refused; balance ≠ ledger {}, negative {}, applied twice {}, not earned {}",
                l.customers,
                l.actions,
                l.redemptions,
                l.refused,
                l.unbalanced,
                l.negative,
                l.applied_twice,
                l.not_earned
            );
            for refused in &l.refused_examples {
                let _ = writeln!(out, "   loyalty refused: {refused}");
            }
        }
        if !self.injected.is_empty() || self.crashes > 0 {
            let _ = writeln!(
                out,
                "   faults: {:?}, invocations killed: {}",
                self.injected, self.crashes
            );
        }
        let _ = writeln!(
            out,
            "   {:<34} {:<14} {:>8} {:>9} {:>5} {:>5} {:>4} {:>7} {:>5} {:>7} {:>7} {:>7}",
            "tenant",
            "destination",
            "accepted",
            "delivered",
            "dead",
            "lost",
            "dup",
            "corrupt",
            "order",
            "p50 ms",
            "p95 ms",
            "p99 ms"
        );
        for r in &self.rows {
            let _ = writeln!(
                out,
                "   {:<34} {:<14} {:>8} {:>9} {:>5} {:>5} {:>4} {:>7} {:>5} {:>7} {:>7} {:>7}{}",
                r.tenant,
                r.kind,
                r.accepted,
                r.delivered,
                r.dead_lettered,
                r.lost,
                r.duplicates,
                r.corrupted,
                r.order_violations,
                r.latency_ms.p50,
                r.latency_ms.p95,
                r.latency_ms.p99,
                if r.lost > 0 {
                    format!("  lost e.g. {:?}", r.lost_examples)
                } else {
                    String::new()
                }
            );
        }
        for r in self.rows.iter().filter(|r| r.lost > 0) {
            let _ = writeln!(
                out,
                "   {} {}: the service's attempts at {:?}: {}",
                r.tenant,
                r.kind,
                r.lost_examples.first(),
                serde_json::Value::from(r.first_lost_attempts.clone())
            );
        }
        for refused in self.refused.iter().take(5) {
            let _ = writeln!(out, "   refused: {refused}");
        }
        out
    }
}
