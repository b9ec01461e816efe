//! Notification jobs' e-mails (DESIGN §6): what each shopper gets, and links
//! tracked for the job's campaign.

mod compose;
mod links;

pub use compose::Composer;
pub use links::with_utm;
