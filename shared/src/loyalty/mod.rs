//! The points ledger (seed 003's fulfilment): what each customer earned, per
//! tenant. A customer's state lives in its own partition of the loyalty table:
//! `ACCOUNT` (totals, lock, version), `BAL#<day>` (points that expire at the end
//! of that UTC day), `COUNT#<rule>` (fulfilments per rule) and, apart, the
//! entries `LEDGER#<time>#<event>#<rule>` and one `MARK#<event>` per event
//! applied. Every write is one transaction conditioned on the account's version,
//! so a customer's state moves one event at a time, and the event's mark makes a
//! redelivered event a no-op.

mod assessor;
mod dynamo;
mod memory;
mod model;
mod notices;
mod port;

pub use assessor::{AssessError, Assessable, Assessor, AssessorConfig};
pub use dynamo::DynamoLedger;
pub use memory::InMemoryLedger;
pub use model::{AccountView, CustomerState, Effect, EntryType, LedgerEntry, Mark, Outcome, Points, Spend};
pub use notices::{POINTS_ENTITY, POINTS_EVENT_PREFIX, Trigger};
pub use port::{Applied, Change, Ledger};
