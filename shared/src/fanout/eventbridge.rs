//! Delivery to an EventBridge bus with PutEvents.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::delivery::{EntryFailure, Order, call_failure, deliver, is_message_fault, tenant_reason};
use super::envelope::bus_detail;
use super::message::{OutgoingMessage, Undelivered};

/// PutEvents' limit on a whole request.
const MAX_BATCH_BYTES: usize = 256 * 1024;

pub struct EventBridgeSender {
    client: Client,
    /// Tries per entry, the first included.
    attempts: u32,
    /// Every entry's `Source`; also the first part of its `DetailType`.
    source: String,
}

impl EventBridgeSender {
    pub fn new(client: Client, attempts: u32, source: impl Into<String>) -> Self {
        Self {
            client,
            attempts,
            source: source.into(),
        }
    }

    /// Puts every message on `bus` (name or ARN); returns those that could not be
    /// delivered. An envelope goes in seed 004's shape: `DetailType`
    /// `<source>/<entity>/<operation>`, `Detail` `{id, timestamp, payload, …}`.
    /// Messages keep the envelope until here, so a parked one can go anywhere.
    pub async fn send(&self, bus: &str, messages: Vec<OutgoingMessage>) -> Vec<Undelivered> {
        deliver(messages, MAX_BATCH_BYTES, self.attempts, Order::None, |batch| {
            let entries: Vec<PutEventsRequestEntry> = batch
                .iter()
                .map(|m| {
                    let detail = bus_detail(&m.body).unwrap_or_else(|| m.body.clone());
                    let detail_type = m.detail_type.as_ref().map(|kind| format!("{}/{kind}", self.source));
                    PutEventsRequestEntry::builder()
                        .source(&self.source)
                        .set_detail_type(detail_type)
                        .detail(detail)
                        .event_bus_name(bus)
                        .set_trace_header(m.trace_header.clone())
                        .build()
                })
                .collect();
            let request = self.client.put_events().set_entries(Some(entries));
            async move {
                let output = request.send().await.map_err(call_failure)?;
                // Results line up with the request's entries; failed ones carry an error code.
                Ok(output
                    .entries()
                    .iter()
                    .enumerate()
                    .filter_map(|(index, result)| {
                        let code = result.error_code()?;
                        Some(EntryFailure {
                            index,
                            reason: tenant_reason(code, result.error_message()),
                            // Only throttling and internal errors are worth another try now.
                            permanent: !matches!(code, "ThrottlingException" | "InternalFailure" | "InternalException"),
                            undeliverable: is_message_fault(code),
                        })
                    })
                    .collect())
            }
        })
        .await
    }
}
