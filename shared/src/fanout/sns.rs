//! Delivery to an SNS topic with PublishBatch.

use aws_sdk_sns::Client;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};

use super::delivery::{EntryFailure, Order, call_failure, deliver};
use super::message::{OutgoingMessage, Undelivered};

/// SNS's limit on a whole batch's payload.
const MAX_BATCH_BYTES: usize = 256 * 1024;

pub struct SnsSender {
    client: Client,
    /// Tries per message, the first included.
    attempts: u32,
}

impl SnsSender {
    pub fn new(client: Client, attempts: u32) -> Self {
        Self { client, attempts }
    }

    /// Publishes every message to `topic_arn`; returns those that could not be delivered.
    pub async fn send(&self, topic_arn: &str, messages: Vec<OutgoingMessage>) -> Vec<Undelivered> {
        deliver(
            messages,
            MAX_BATCH_BYTES,
            self.attempts,
            Order::of(topic_arn),
            |batch| {
                let entries = batch
                    .iter()
                    .enumerate()
                    .map(|(i, m)| entry(i, m))
                    .collect::<Result<Vec<_>, _>>();
                let request = self.client.publish_batch().topic_arn(topic_arn);
                async move {
                    let output = request
                        .set_publish_batch_request_entries(Some(entries?))
                        .send()
                        .await
                        .map_err(call_failure)?;
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

fn entry(index: usize, message: &OutgoingMessage) -> Result<PublishBatchRequestEntry, String> {
    let mut entry = PublishBatchRequestEntry::builder()
        .id(index.to_string())
        .message(&message.body)
        .set_message_group_id(message.group_id.clone())
        .set_message_deduplication_id(message.dedup_id.clone());
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
