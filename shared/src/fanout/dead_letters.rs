//! Each subscription's dead letters: the deliveries the fan-out gave up on,
//! kept under the subscription (`sk = DEAD#<time>#<event>`) for the tenant to
//! list and redrive, expiring after the retention. Deliveries to the stack's own
//! bus have no subscription: they go to the operator's dead-letter queue instead.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::subscription_items::SubscriptionItems;
use crate::config::{ConfigError, Environment};
use crate::storage::StorageError;
use crate::tenant::TenantId;
use crate::util::rfc3339_millis;

/// Sort-key prefix of dead letters; a page's cursor must start with it.
pub const DEAD_LETTER_KEYS: &str = "DEAD#";

/// Days a subscription's dead letters are kept.
pub const RETENTION_VARIABLE: &str = "DEAD_LETTER_RETENTION_DAYS";

/// `DEAD_LETTER_RETENTION_DAYS`: 1 to 365 days, default 14.
pub fn retention(env: &Environment) -> Result<Duration, ConfigError> {
    env.duration(RETENTION_VARIABLE, Duration::days, 14, 1..=365)
}

/// A delivery the fan-out gave up on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub event_id: String,
    /// Failed attempts (each an invocation's tries).
    pub failures: u32,
    pub last_error: String,
    /// When it was given up on.
    #[serde(with = "rfc3339_millis")]
    pub at: DateTime<Utc>,
    /// The message as the retry queue carries it: its body (the envelope) and
    /// its `delivery` attribute (where it goes, and how).
    pub body: String,
    pub parked: String,
}

impl DeadLetter {
    fn sort_key(&self) -> String {
        format!(
            "{DEAD_LETTER_KEYS}{}#{}",
            rfc3339_millis::format(&self.at),
            self.event_id
        )
    }
}

/// The dead letters in the deliveries table.
pub struct DeadLetters(SubscriptionItems);

impl DeadLetters {
    pub fn new(items: SubscriptionItems) -> Self {
        Self(items)
    }

    /// Keeps each letter under its tenant's subscription.
    pub async fn keep(&self, letters: &[(TenantId, String, DeadLetter)]) -> Result<(), StorageError> {
        // Two copies of one delivery in a batch (a crash's redelivery, a redrive
        // beside a catch-up) share a key, and DynamoDB refuses a batch naming a
        // key twice: one letter each.
        let mut seen = std::collections::HashSet::new();
        let requests = letters
            .iter()
            .filter(|(tenant, subscription_id, letter)| seen.insert((tenant, subscription_id, letter.sort_key())))
            .map(|(tenant, subscription_id, letter)| {
                self.0
                    .put((tenant, subscription_id.as_str()), letter.sort_key(), letter, letter.at)
            })
            .collect::<Result<_, _>>()?;
        self.0.write(requests).await
    }

    /// A subscription's dead letters, oldest first, `limit` after `cursor` (a
    /// sort key this returned); the cursor of the next page, if any.
    pub async fn page(
        &self,
        tenant: &TenantId,
        subscription_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<DeadLetter>, Option<String>), StorageError> {
        self.0
            .page((tenant, subscription_id), DEAD_LETTER_KEYS, false, (limit, cursor))
            .await
    }

    /// Removes `letters` of the subscription (they were sent again).
    pub async fn remove(
        &self,
        tenant: &TenantId,
        subscription_id: &str,
        letters: &[DeadLetter],
    ) -> Result<(), StorageError> {
        let requests = letters
            .iter()
            .map(|letter| self.0.delete((tenant, subscription_id), letter.sort_key()))
            .collect::<Result<_, _>>()?;
        self.0.write(requests).await
    }
}
