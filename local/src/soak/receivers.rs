//! The subscribers' side: every inbox is read all through the run, and each
//! message is recorded with the moment it arrived, its event and subscription,
//! and whether its payload's numbers came through digit for digit.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use serde_json::Value;

use super::destinations::{Inbox, Kind, Subscriber};
use super::load::{EXACT_DECIMAL, EXACT_INTEGER};

/// One message as a subscriber saw it.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub subscription_id: String,
    pub event_id: String,
    pub entity: String,
    pub seq: Option<u64>,
    pub at: Instant,
    /// The payload's numbers arrived as sent.
    pub exact: bool,
}

/// Every arrival so far, in the order each inbox gave them.
#[derive(Clone, Default)]
pub struct Arrivals(Arc<Mutex<Vec<Arrival>>>);

impl Arrivals {
    pub fn snapshot(&self) -> Vec<Arrival> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn record(&self, arrivals: Vec<Arrival>) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend(arrivals);
    }

    /// Reads `subscriber`'s inbox for the rest of the process.
    pub fn start(&self, subscriber: &Subscriber) {
        if let Some(inbox) = subscriber.inbox.clone() {
            let (arrivals, kind) = (self.clone(), subscriber.kind);
            tokio::spawn(async move {
                loop {
                    match arrivals.receive(&inbox, kind, 1).await {
                        Ok(_) => {}
                        // A deleted queue, until it is restored.
                        Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
                    }
                }
            });
        }
    }

    /// Reads `subscriber`'s inbox until it is empty: what it held before it is
    /// deleted.
    pub async fn drain(&self, subscriber: &Subscriber) {
        if let Some(inbox) = &subscriber.inbox {
            while let Ok(1..) = self.receive(inbox, subscriber.kind, 0).await {}
        }
    }

    /// One receive of up to ten messages (deleted once recorded); how many came.
    async fn receive(&self, inbox: &Inbox, kind: Kind, wait_seconds: i32) -> Result<usize, String> {
        let messages = inbox
            .sqs
            .receive_message()
            .queue_url(&inbox.url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait_seconds)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .messages
            .unwrap_or_default();
        let at = Instant::now();
        let arrivals = messages
            .iter()
            .filter_map(|m| arrival(m.body.as_deref()?, kind, at))
            .collect();
        self.record(arrivals);
        let done: Vec<_> = messages
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle.clone()?)
                    .build()
                    .ok()
            })
            .collect();
        if !done.is_empty() {
            inbox
                .sqs
                .delete_message_batch()
                .queue_url(&inbox.url)
                .set_entries(Some(done))
                .send()
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(messages.len())
    }
}

/// A message body as an arrival: the envelope (SQS, SNS raw delivery) or an
/// EventBridge event whose `detail` is the entry the fan-out put.
fn arrival(body: &str, kind: Kind, at: Instant) -> Option<Arrival> {
    let parsed: Value = serde_json::from_str(body).ok()?;
    let (event_id, subscription_id, data) = match parsed.get("detail") {
        Some(detail) => (&detail["id"], &detail["subscriptionId"], &detail["payload"]),
        None => (&parsed["eventId"], &parsed["subscriptionId"], &parsed["data"]),
    };
    // moto's EventBridge re-encodes events through Python floats on the way to a
    // rule's queue: only the integer can be checked there.
    let exact = body.contains(EXACT_INTEGER) && (kind == Kind::Bus || body.contains(EXACT_DECIMAL));
    Some(Arrival {
        subscription_id: subscription_id.as_str()?.to_owned(),
        event_id: event_id.as_str()?.to_owned(),
        entity: data["entity"].as_str().unwrap_or_default().to_owned(),
        seq: data["seq"].as_u64(),
        at,
        exact,
    })
}
