//! Each tenant's own e-mail identity: the SendGrid API key and sender address its
//! notification jobs send with. Set through the API, kept in Secrets Manager
//! under a name made from the tenant id, never answered back. A tenant's jobs
//! send with its own key only; the stack's key is a fallback the operator grants
//! tenant by tenant (`StackSenderTenants`).

mod choice;
mod memory;
mod request;
mod secrets_manager;
mod store;

pub use choice::{SenderChoice, SenderError};
pub use memory::InMemorySenders;
pub use request::{SenderRequest, SenderView};
pub use secrets_manager::{PREFIX_VARIABLE, SecretsManagerSenders};
pub use store::{SenderStore, StoredAddress, StoredSender};
