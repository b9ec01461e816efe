//! Loyalty rules (seed 003's "assess and fulfil"): which customer events earn
//! what. A rule belongs to one rule set, matches on conditions, and fulfils
//! with points and a reward. The assessor applies them to stored events; basket
//! assessment evaluates them without changing anything.

mod model;
mod request;

pub use model::{Conditions, Fulfilment, ItemConditions, Points, Reward, Rule, RuleSet};
pub use request::RuleRequest;
