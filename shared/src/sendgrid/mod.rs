//! SendGrid v3 mail send with dynamic templates (DESIGN §6).

mod client;
mod mail;

pub use client::{ClientError, RetryPolicy, SendError, SendGrid};
pub use mail::{Address, MAX_PERSONALIZATIONS, Mail, Personalization, mails};
