//! A customer's ledger state, its entries, and what one event adds.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use crate::rules::Fulfilled;
use crate::util::rfc3339_millis;

/// The day points without expiry are kept under.
pub const NEVER: NaiveDate = NaiveDate::MAX;

/// A customer's state as read before a change: the account (if any), points by
/// the day they expire, and fulfilments per rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerState {
    /// `None` until the customer's first event is applied.
    pub version: Option<u64>,
    pub created_at: Option<DateTime<Utc>>,
    pub locked: bool,
    pub lifetime: u64,
    pub spend_lifetime: f64,
    /// The year `spend_annual` is for.
    pub spend_year: i32,
    pub spend_annual: f64,
    pub balances: BTreeMap<NaiveDate, u64>,
    pub counts: BTreeMap<String, u32>,
}

impl CustomerState {
    /// Points that have not expired by `now` (a day's points last to its end).
    pub fn available(&self, now: DateTime<Utc>) -> u64 {
        let today = now.date_naive();
        self.balances
            .range(today..)
            .fold(0u64, |sum, (_, points)| sum.saturating_add(*points))
    }

    /// How often the customer had `rule_id`.
    pub fn fulfilled(&self, rule_id: &str) -> u32 {
        self.counts.get(rule_id).copied().unwrap_or(0)
    }

    /// What `outcome` does: the state after it, and its ledger entries (their
    /// balances after each, in order), the points it finds expired first.
    pub fn after(&self, outcome: &Outcome) -> Effect {
        // The ledger keeps times to the millisecond, as DynamoDB stores them.
        let at = outcome.at.trunc_subsecs(3);
        let mut next = self.successor(at);
        let mut balance = self.available(at);
        let mut entries = self.expiries(&outcome.event_id, at);
        for fulfilled in &outcome.fulfilled {
            *next.counts.entry(fulfilled.rule_id.clone()).or_default() += 1;
            if fulfilled.points == 0 {
                continue;
            }
            let day = fulfilled.points_expire_at.map_or(NEVER, |at| at.date_naive());
            // Points last to the end of their day: the entry says so.
            let expires_at = fulfilled.points_expire_at.map(|_| end_of(day));
            let bucket = next.balances.entry(day).or_default();
            *bucket = bucket.saturating_add(fulfilled.points);
            next.lifetime = next.lifetime.saturating_add(fulfilled.points);
            balance = balance.saturating_add(fulfilled.points);
            entries.push(LedgerEntry {
                entry_id: format!("{}:{}", outcome.event_id, fulfilled.rule_id),
                event_id: outcome.event_id.clone(),
                rule_id: Some(fulfilled.rule_id.clone()),
                entry_type: EntryType::Issued,
                points: i64::try_from(fulfilled.points).unwrap_or(i64::MAX),
                balance_after: balance,
                created_at: at,
                expires_at,
            });
        }
        if let Some(Spend(amount)) = outcome.spend {
            next.spend_lifetime += amount;
            // Events may come out of order: an earlier year's only adds to the lifetime.
            let year = at.year();
            if year == self.spend_year {
                next.spend_annual = self.spend_annual + amount;
            } else if year > self.spend_year {
                (next.spend_year, next.spend_annual) = (year, amount);
            }
        }
        next.prune(at);
        self.effect(next, entries, at)
    }

    /// The account as the API answers it.
    pub fn view(&self, customer_id: &str, now: DateTime<Utc>) -> AccountView {
        AccountView {
            customer_id: customer_id.to_owned(),
            created_at: self.created_at.unwrap_or(now),
            locked: self.locked,
            points: Points {
                available: self.available(now),
                pending: 0,
                lifetime: self.lifetime,
            },
            spend: SpendView {
                annual: if self.spend_year == now.year() {
                    self.spend_annual
                } else {
                    0.0
                },
                lifetime: self.spend_lifetime,
            },
        }
    }
}

/// The last millisecond of `day` (UTC).
fn end_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_milli_opt(23, 59, 59, 999)
        .map_or(DateTime::<Utc>::MAX_UTC, |t| t.and_utc())
}

/// What one event did to a customer, kept as the event's mark: a redemption
/// answers a resend with it, and the event's notifications carry its totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// When the change was made: its entries' time.
    #[serde(with = "rfc3339_millis")]
    pub at: DateTime<Utc>,
    /// The available points before and after it.
    pub starting: u64,
    pub available: u64,
    pub lifetime: u64,
}

/// One event's change to a customer: the state after it, its entries, its mark.
#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    pub next: CustomerState,
    pub entries: Vec<LedgerEntry>,
    pub mark: Mark,
}

impl CustomerState {
    /// This state, one version on, the customer created at `at` if it is new.
    fn successor(&self, at: DateTime<Utc>) -> CustomerState {
        let mut next = self.clone();
        next.version = Some(self.version.map_or(1, |v| v + 1));
        next.created_at = Some(self.created_at.unwrap_or(at));
        next
    }

    fn effect(&self, next: CustomerState, entries: Vec<LedgerEntry>, at: DateTime<Utc>) -> Effect {
        let mark = Mark {
            at,
            starting: self.available(at),
            available: next.available(at),
            lifetime: next.lifetime,
        };
        Effect { next, entries, mark }
    }

    /// One EXPIRED entry for each day whose points had expired by `at` (they
    /// left the available balance then; the change that prunes their bucket
    /// records it).
    fn expiries(&self, event_id: &str, at: DateTime<Utc>) -> Vec<LedgerEntry> {
        let balance = self.available(at);
        self.balances
            .range(..at.date_naive())
            .filter(|(_, points)| **points > 0)
            .map(|(day, points)| LedgerEntry {
                entry_id: format!("{event_id}:expired:{}", day.format("%Y-%m-%d")),
                event_id: event_id.to_owned(),
                rule_id: None,
                entry_type: EntryType::Expired,
                points: -i64::try_from(*points).unwrap_or(i64::MAX),
                balance_after: balance,
                created_at: at,
                expires_at: Some(end_of(*day)),
            })
            .collect()
    }

    /// Drops the buckets that are empty or expired by `at` (their items go).
    fn prune(&mut self, at: DateTime<Utc>) {
        let today = at.date_naive();
        self.balances.retain(|day, points| *points > 0 && *day >= today);
    }

    /// What redeeming `quantity` points at `at` does (the soonest to expire
    /// go first); `None` when fewer are available.
    pub fn redeemed(&self, event_id: &str, at: DateTime<Utc>, quantity: u64) -> Option<Effect> {
        let at = at.trunc_subsecs(3);
        let pending = self.available(at).checked_sub(quantity)?;
        let mut next = self.successor(at);
        let mut left = quantity;
        for (_, points) in next.balances.range_mut(at.date_naive()..) {
            let taken = left.min(*points);
            *points -= taken;
            left -= taken;
            if left == 0 {
                break;
            }
        }
        next.prune(at);
        let mut entries = self.expiries(event_id, at);
        entries.push(LedgerEntry {
            entry_id: format!("{event_id}:redemption"),
            event_id: event_id.to_owned(),
            rule_id: None,
            entry_type: EntryType::Redeemed,
            points: -i64::try_from(quantity).unwrap_or(i64::MAX),
            balance_after: pending,
            created_at: at,
            expires_at: None,
        });
        Some(self.effect(next, entries, at))
    }
}

/// What one event adds to a customer: its fulfilments and, for orders and
/// transactions, its spend.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub event_id: String,
    /// When the event was accepted: the entries' time, and what expiry counts from.
    pub at: DateTime<Utc>,
    pub fulfilled: Vec<Fulfilled>,
    pub spend: Option<Spend>,
}

/// An order's or transaction's `total`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spend(pub f64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntryType {
    Issued,
    Redeemed,
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    pub entry_id: String,
    pub event_id: String,
    pub rule_id: Option<String>,
    #[serde(rename = "type")]
    pub entry_type: EntryType,
    pub points: i64,
    pub balance_after: u64,
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339_millis::option")]
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub customer_id: String,
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
    pub locked: bool,
    pub points: Points,
    pub spend: SpendView,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Points {
    pub available: u64,
    pub pending: u64,
    pub lifetime: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SpendView {
    pub annual: f64,
    pub lifetime: f64,
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn fulfilled(rule: &str, points: u64, expires: Option<DateTime<Utc>>) -> Fulfilled {
        Fulfilled {
            rule_id: rule.into(),
            name: rule.into(),
            points,
            points_expire_at: expires,
            reward: None,
        }
    }

    #[test]
    fn an_earlier_years_order_arriving_late_adds_to_the_lifetime_spend_only() {
        let now = Utc::now();
        let order = |at: DateTime<Utc>, amount: f64| Outcome {
            event_id: format!("e-{amount}"),
            at,
            fulfilled: Vec::new(),
            spend: Some(Spend(amount)),
        };
        let this_year = CustomerState::default().after(&order(now, 100.0)).next;
        let late = this_year.after(&order(now - Duration::days(400), 40.0)).next;
        assert_eq!((late.spend_annual, late.spend_lifetime), (100.0, 140.0));
    }

    #[test]
    fn a_redemption_takes_the_soonest_expiring_points_and_empties_their_bucket() {
        let now = Utc::now();
        let earn = Outcome {
            event_id: "e-1".into(),
            at: now,
            fulfilled: vec![
                fulfilled("soon", 30, Some(now + Duration::days(1))),
                fulfilled("later", 50, Some(now + Duration::days(10))),
            ],
            spend: None,
        };
        let state = CustomerState::default().after(&earn).next;
        let redeemed = state.redeemed("r-1", now, 40).expect("enough");
        let (mark, entry) = (redeemed.mark, &redeemed.entries[0]);
        assert_eq!((mark.starting, mark.available, entry.points), (80, 40, -40));
        // The soon bucket is gone (its item is deleted); 40 are left of the later one.
        assert_eq!(redeemed.next.balances.values().copied().collect::<Vec<_>>(), [40]);
        assert!(state.redeemed("r-2", now, 81).is_none());
    }

    #[test]
    fn an_outcome_adds_points_by_expiry_day_and_expired_ones_leave_the_balance() {
        let now = Utc::now();
        let outcome = Outcome {
            event_id: "e-1".into(),
            at: now,
            fulfilled: vec![
                fulfilled("rul_a", 100, Some(now + Duration::days(2))),
                fulfilled("rul_b", 50, None),
                fulfilled("rul_reward_only", 0, None),
            ],
            spend: Some(Spend(129.9)),
        };
        let Effect {
            next: state, entries, ..
        } = CustomerState::default().after(&outcome);
        assert_eq!(state.version, Some(1));
        assert_eq!((state.available(now), state.lifetime), (150, 150));
        assert_eq!(entries.iter().map(|e| e.balance_after).collect::<Vec<_>>(), [100, 150]);
        assert_eq!((state.fulfilled("rul_a"), state.fulfilled("rul_reward_only")), (1, 1));
        assert_eq!(state.spend_annual, 129.9);
        // Three days on, rul_a's points have expired; the lifetime total stays.
        let later = now + Duration::days(3);
        assert_eq!(
            (state.available(later), state.view("c", later).points.lifetime),
            (50, 150)
        );
        // AND the next change records their expiry before what it earns
        let next = Outcome {
            event_id: "e-2".into(),
            at: later,
            fulfilled: vec![fulfilled("rul_b", 5, None)],
            spend: None,
        };
        let effect = state.after(&next);
        let recorded: Vec<_> = effect
            .entries
            .iter()
            .map(|e| (e.entry_type, e.points, e.balance_after))
            .collect();
        assert_eq!(recorded, [(EntryType::Expired, -100, 50), (EntryType::Issued, 5, 55)]);
        assert_eq!((effect.mark.starting, effect.mark.available), (50, 55));
        assert_eq!(effect.next.balances.len(), 1, "the expired day's bucket goes");
    }
}
