//! SendGrid v3 mail send with dynamic templates (docs/architecture.md).

mod client;
mod mail;
mod mailer;
mod sender;

pub use client::{ClientError, RetryPolicy, SendError, SendGrid};
pub use mail::{Address, MAX_PERSONALIZATIONS, Mail, Personalization, mails};
pub use mailer::{Mailer, Outbox};
pub use sender::{ApiKey, Sender};
