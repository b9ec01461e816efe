//! Catching up once a circuit closes: the deliveries the subscription's circuit
//! kept untried (its dead letters whose `lastError` is CIRCUIT_OPEN) are sent
//! again through the retry queue, a page at a time. Each page is a task on the
//! retry queue itself, so no invocation pages a long outage alone; a last pass a
//! little later picks up what invocations that read the subscription before its
//! circuit closed kept meanwhile. A catch-up sends only letters kept up to a
//! minute after the close: if the circuit opens again, what it keeps then waits
//! for the next close instead of being chased page after page. Other dead
//! letters stay for the tenant.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::circuit::CIRCUIT_OPEN;
use super::dead_letters::DeadLetter;
use super::message::OutgoingMessage;
use super::plan::SubscriptionRef;
use super::retry::{RetryQueues, send_again};
use crate::storage::StorageError;
use crate::tenant::TenantId;
use crate::util::rfc3339_millis;

/// The retry-queue message attribute that marks a catch-up task (its body).
pub const CATCH_UP_ATTRIBUTE: &str = "catchUp";

/// Dead letters read per task.
const PAGE: usize = 100;

/// How long after the first pass the last one runs: longer than an invocation
/// that read the subscription before its circuit closed takes to keep its batch.
const LAST_PASS_DELAY_SECONDS: i32 = 30;

/// How long after the close a kept letter is still this catch-up's: past the
/// last pass's delay, with room for the invocations it waits for.
const WINDOW_SECONDS: i64 = 60;

/// One page of a subscription's catch-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatchUp {
    tenant: TenantId,
    subscription_id: String,
    /// Where this page starts (a dead letter's sort key); `None`: the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
    #[serde(default)]
    last_pass: bool,
    /// Letters kept after this are not this catch-up's.
    #[serde(with = "rfc3339_millis")]
    until: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatchUpError {
    #[error("not a catch-up task: {0}")]
    Malformed(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{0} kept deliveries could not be sent again")]
    Unsent(usize),
    #[error("the next page could not be queued: {0}")]
    Queue(String),
}

impl CatchUp {
    fn first(subscription: SubscriptionRef, closed_at: DateTime<Utc>) -> Self {
        Self {
            tenant: subscription.tenant,
            subscription_id: subscription.subscription_id,
            cursor: None,
            last_pass: false,
            until: closed_at + Duration::seconds(WINDOW_SECONDS),
        }
    }

    /// The subscription it catches up.
    pub fn subscription(&self) -> SubscriptionRef {
        SubscriptionRef {
            tenant: self.tenant.clone(),
            subscription_id: self.subscription_id.clone(),
        }
    }

    /// The task after this page: the next page, else the last pass, else none.
    fn next(&self, cursor: Option<String>) -> Option<(Self, Option<i32>)> {
        match cursor {
            Some(cursor) => Some((
                Self {
                    cursor: Some(cursor),
                    ..self.clone()
                },
                None,
            )),
            None if !self.last_pass => Some((
                Self {
                    cursor: None,
                    last_pass: true,
                    ..self.clone()
                },
                Some(LAST_PASS_DELAY_SECONDS),
            )),
            None => None,
        }
    }

    /// The task as a retry-queue message, in its tenant's message group.
    fn message(&self, delay_seconds: Option<i32>) -> OutgoingMessage {
        OutgoingMessage {
            // Serialising plain data into a String cannot fail.
            body: serde_json::to_string(self).unwrap_or_default(),
            attributes: vec![(CATCH_UP_ATTRIBUTE.to_owned(), "1".to_owned())],
            group_id: Some(self.tenant.as_str().to_owned()),
            delay_seconds,
            ..OutgoingMessage::default()
        }
    }

    /// The task a retry-queue message carries, if it carries one.
    pub fn of(body: &str) -> Result<Self, CatchUpError> {
        serde_json::from_str(body).map_err(|e| CatchUpError::Malformed(e.to_string()))
    }
}

impl RetryQueues {
    /// Starts catching up each subscription whose circuit just closed. One that
    /// could not be started keeps its deliveries as dead letters, for redrive.
    pub async fn catch_up(&self, closed: Vec<SubscriptionRef>) {
        if closed.is_empty() {
            return;
        }
        let now = Utc::now();
        let tasks = closed
            .into_iter()
            .map(|s| CatchUp::first(s, now).message(None))
            .collect();
        for unsent in self.sender.send(&self.retry_url, tasks).await {
            tracing::error!(reason = %unsent.reason, "a catch-up could not be started; the kept deliveries stay dead letters");
        }
    }

    /// One page of a catch-up: its kept deliveries sent again and removed, and
    /// the next page queued. An error leaves the task to be received again.
    pub async fn catch_up_page(&self, task: &CatchUp) -> Result<(), CatchUpError> {
        let (letters, cursor) = self
            .dead_letters
            .page(&task.tenant, &task.subscription_id, PAGE, task.cursor.as_deref())
            .await?;
        let (kept, cursor) = this_catch_ups(letters, cursor, task.until);
        let (sent, unsent) = send_again(&self.sender, &self.retry_url, kept).await;
        // Removed once sent: a failure in between sends them again with the
        // task, which consumers deduplicate by eventId.
        self.dead_letters
            .remove(&task.tenant, &task.subscription_id, &sent)
            .await?;
        if unsent > 0 {
            return Err(CatchUpError::Unsent(unsent));
        }
        tracing::info!(tenant = %task.tenant, subscription_id = %task.subscription_id, sent = sent.len(),
            last_pass = task.last_pass, "circuit closed; kept deliveries sent again");
        let Some((next, delay)) = task.next(cursor) else {
            return Ok(());
        };
        match self
            .sender
            .send(&self.retry_url, vec![next.message(delay)])
            .await
            .first()
        {
            None => Ok(()),
            Some(unsent) => Err(CatchUpError::Queue(unsent.reason.clone())),
        }
    }
}

/// Of a page of dead letters (oldest first) and its cursor, the CIRCUIT_OPEN
/// ones kept by `until`, and the cursor if the pages go on: a letter kept
/// after `until` ends them.
fn this_catch_ups(
    letters: Vec<DeadLetter>,
    cursor: Option<String>,
    until: DateTime<Utc>,
) -> (Vec<DeadLetter>, Option<String>) {
    let past_window = letters.iter().any(|letter| letter.at > until);
    let kept = letters
        .into_iter()
        .filter(|letter| letter.at <= until && letter.last_error.starts_with(CIRCUIT_OPEN))
        .collect();
    (kept, cursor.filter(|_| !past_window))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first() -> CatchUp {
        CatchUp::first(
            SubscriptionRef {
                tenant: TenantId::parse("acme").expect("tenant"),
                subscription_id: "sub-1".into(),
            },
            "2026-12-07T17:00:00Z".parse().expect("time"),
        )
    }

    fn letter(event_id: &str, at: &str, last_error: &str) -> DeadLetter {
        DeadLetter {
            event_id: event_id.into(),
            failures: 0,
            last_error: last_error.into(),
            at: at.parse().expect("time"),
            body: String::new(),
            parked: String::new(),
        }
    }

    #[test]
    fn a_catch_up_sends_the_circuits_letters_kept_by_a_minute_after_the_close_and_stops_there() {
        // GIVEN a circuit closed at 17:00, and a page with a letter kept while it
        // was open, one given up on for another reason, and one kept when it
        // opened again at 17:05
        let until = first().until;
        let page = vec![
            letter("e1", "2026-12-07T16:59:00Z", "CIRCUIT_OPEN: kept untried"),
            letter("e2", "2026-12-07T16:59:30Z", "DESTINATION_UNREACHABLE"),
            letter("e3", "2026-12-07T17:05:00Z", "CIRCUIT_OPEN: kept untried"),
        ];
        // WHEN the page is read with more pages after it
        let (kept, cursor) = this_catch_ups(page, Some("DEAD#…".into()), until);
        // THEN only e1 is sent again, and the pages end at e3
        let ids: Vec<_> = kept.iter().map(|l| l.event_id.as_str()).collect();
        assert_eq!(ids, ["e1"]);
        assert_eq!(cursor, None);
    }

    #[test]
    fn pages_follow_the_cursor_then_one_delayed_last_pass_ends_it() {
        // GIVEN a catch-up's first page
        let task = first();
        // WHEN a page left a cursor, THEN the next page starts there, at once
        let (next, delay) = task
            .next(Some("DEAD#2026-12-07T10:00:00.000Z#evt-9".into()))
            .expect("next");
        assert_eq!(next.cursor.as_deref(), Some("DEAD#2026-12-07T10:00:00.000Z#evt-9"));
        assert_eq!((next.last_pass, delay), (false, None));
        // WHEN the pages ran out, THEN a last pass reads them all again, later
        let (last, delay) = next.next(None).expect("last pass");
        assert_eq!((last.cursor.clone(), last.last_pass, delay), (None, true, Some(30)));
        // AND after the last pass's pages, nothing
        assert_eq!(last.next(None), None);
    }

    #[test]
    fn a_task_travels_as_its_tenants_retry_message_and_reads_back() {
        let task = first();
        let message = task.message(Some(30));
        assert_eq!(message.group_id.as_deref(), Some("acme"));
        assert_eq!(message.delay_seconds, Some(30));
        assert!(message.attributes.iter().any(|(name, _)| name == CATCH_UP_ATTRIBUTE));
        assert_eq!(CatchUp::of(&message.body).expect("task"), task);
        assert!(CatchUp::of("{}").is_err());
    }
}
