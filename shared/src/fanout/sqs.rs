//! Delivery to an SQS queue with SendMessageBatch.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};

use super::delivery::{EntryFailure, Order, call_failure, deliver};
use super::message::{OutgoingMessage, Undelivered};

/// SQS's limit on a whole batch's payload.
const MAX_BATCH_BYTES: usize = 256 * 1024;

pub struct SqsSender {
    client: Client,
    /// Tries per message, the first included.
    attempts: u32,
}

impl SqsSender {
    pub fn new(client: Client, attempts: u32) -> Self {
        Self { client, attempts }
    }

    /// Sends every message to `queue_url`; returns those that could not be delivered.
    pub async fn send(&self, queue_url: &str, messages: Vec<OutgoingMessage>) -> Vec<Undelivered> {
        deliver(
            messages,
            MAX_BATCH_BYTES,
            self.attempts,
            Order::of(queue_url),
            |batch| {
                let entries = batch
                    .iter()
                    .enumerate()
                    .map(|(i, m)| entry(i, m))
                    .collect::<Result<Vec<_>, _>>();
                let request = self.client.send_message_batch().queue_url(queue_url);
                async move {
                    let output = request.set_entries(Some(entries?)).send().await.map_err(call_failure)?;
                    Ok(output
                        .failed()
                        .iter()
                        .filter_map(|f| EntryFailure::from_batch_error(f.id(), f.code(), f.message(), f.sender_fault()))
                        .collect())
                }
            },
        )
        .await
    }
}

/// The batch entry for `message`; its id is its index in the batch.
fn entry(index: usize, message: &OutgoingMessage) -> Result<SendMessageBatchRequestEntry, String> {
    let mut entry = SendMessageBatchRequestEntry::builder()
        .id(index.to_string())
        .message_body(&message.body)
        .set_message_group_id(message.group_id.clone())
        .set_message_deduplication_id(message.dedup_id.clone())
        .set_delay_seconds(message.delay_seconds);
    for (name, value) in &message.attributes {
        let value = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| e.to_string())?;
        entry = entry.message_attributes(name, value);
    }
    entry.build().map_err(|e| e.to_string())
}
