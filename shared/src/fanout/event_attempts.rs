//! Every attempt to deliver an event, kept under the event so "did event X
//! reach subscription Y?" is one Query: `pk = T#<tenant>#E#<event>`,
//! `sk = ATT#<time>#<subscription>#<attempt>` in the deliveries table, with the
//! history's retention. The fan-out writes them with the rest of its history
//! (history.rs); `GET /api/v1/events/{eventId}/deliveries` reads them.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::history::{ATTEMPT_KEYS, Attempt, AttemptResult};
use super::plan::SubscriptionRef;
use super::subscription_items::SubscriptionItems;
use crate::storage::StorageError;
use crate::tenant::TenantId;
use crate::util::rfc3339_millis;

/// The partition of an event's attempts.
pub(super) fn event_partition(tenant: &TenantId, event_id: &str) -> AttributeValue {
    AttributeValue::S(format!("T#{tenant}#E#{event_id}"))
}

/// An attempt as its event's listing shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventAttempt {
    pub subscription_id: String,
    #[serde(flatten)]
    pub result: AttemptResult,
}

impl EventAttempt {
    pub(super) fn of(subscription: &SubscriptionRef, attempt: &Attempt) -> Self {
        Self {
            subscription_id: subscription.subscription_id.clone(),
            result: attempt.result.clone(),
        }
    }

    /// Oldest first when read in key order: an event's attempts read as its story.
    pub(super) fn sort_key(&self) -> String {
        format!(
            "{ATTEMPT_KEYS}{}#{}#{}",
            rfc3339_millis::format(&self.result.at),
            self.subscription_id,
            self.result.attempt
        )
    }
}

/// The events' attempts in the deliveries table, as the API reads them.
pub struct EventAttempts(SubscriptionItems);

impl EventAttempts {
    pub fn new(items: SubscriptionItems) -> Self {
        Self(items)
    }

    /// An event's attempts, oldest first, `limit` after `cursor` (a sort key
    /// this returned); the cursor of the next page, if any.
    pub async fn page(
        &self,
        tenant: &TenantId,
        event_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<EventAttempt>, Option<String>), StorageError> {
        self.0
            .page_in(event_partition(tenant, event_id), ATTEMPT_KEYS, false, (limit, cursor))
            .await
    }
}
