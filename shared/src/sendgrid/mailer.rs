//! The mailer port: what a notification run sends e-mails through. `SendGrid`
//! sends them; `Outbox` keeps them in memory and fails as a test tells it to.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Mutex, MutexGuard};

use super::client::{SendError, SendGrid};
use super::mail::Mail;
use super::sender::ApiKey;

pub trait Mailer: Send + Sync {
    /// Sends `mail` with `key`; Ok once the provider accepted it.
    fn send(&self, key: &ApiKey, mail: &Mail) -> impl Future<Output = Result<(), SendError>> + Send;
}

impl Mailer for SendGrid {
    async fn send(&self, key: &ApiKey, mail: &Mail) -> Result<(), SendError> {
        SendGrid::send(self, key, mail).await
    }
}

/// E-mails in memory, for unit tests.
#[derive(Default)]
pub struct Outbox {
    state: Mutex<OutboxState>,
}

#[derive(Default)]
struct OutboxState {
    /// Every request accepted, with the key it was sent with.
    sent: Vec<(ApiKey, Mail)>,
    /// Shopper id → what a request addressing them gets back.
    failures: BTreeMap<String, SendError>,
}

impl Outbox {
    /// A request that addresses `shopper` fails with `error` (a 400 for one bad
    /// address, an outage, …).
    pub fn failing_for(self, shopper: &str, error: SendError) -> Self {
        self.lock().failures.insert(shopper.to_owned(), error);
        self
    }

    /// From now on requests addressing `shopper` pass.
    pub fn heal(&self, shopper: &str) {
        self.lock().failures.remove(shopper);
    }

    /// The shopper ids each accepted request addressed, in order.
    pub fn sent(&self) -> Vec<Vec<String>> {
        self.lock().sent.iter().map(|(_, mail)| shoppers(mail)).collect()
    }

    /// Each accepted request's key, sender address and shopper ids, in order.
    pub fn sent_as(&self) -> Vec<(String, String, Vec<String>)> {
        self.lock()
            .sent
            .iter()
            .map(|(key, mail)| (key.expose().to_owned(), mail.from.email.clone(), shoppers(mail)))
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, OutboxState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn shoppers(mail: &Mail) -> Vec<String> {
    mail.personalizations
        .iter()
        .filter_map(|p| p.dynamic_template_data["shopper"]["id"].as_str().map(str::to_owned))
        .collect()
}

impl Mailer for Outbox {
    async fn send(&self, key: &ApiKey, mail: &Mail) -> Result<(), SendError> {
        let mut state = self.lock();
        let failure = shoppers(mail)
            .iter()
            .find_map(|shopper| state.failures.get(shopper).cloned());
        match failure {
            Some(error) => Err(error),
            None => {
                state.sent.push((key.clone(), mail.clone()));
                Ok(())
            }
        }
    }
}
