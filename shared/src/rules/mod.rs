//! Loyalty rules (seed 003's "assess and fulfil"): which customer events earn
//! what. A rule belongs to one rule set, matches on conditions, and fulfils
//! with points and a reward. The assessor applies them to stored events; basket
//! assessment evaluates them without changing anything.

mod assess;
mod model;
mod occasion;
mod request;

pub use assess::{Fulfilled, assess};
pub use model::{Conditions, Fulfilment, ItemConditions, Points, Reward, Rule, RuleSet};
pub use occasion::{Line, Occasion, OccasionKind};
pub use request::RuleRequest;
