//! Delivery to an SQS queue: SendMessageBatch, ten entries a call, retrying the
//! entries SQS reports as failed inside a successful answer.

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};

use super::message::{OutgoingMessage, Undelivered, batches};

/// SQS's limit on a whole batch's payload.
const MAX_BATCH_BYTES: usize = 256 * 1024;

pub struct SqsSender {
    client: Client,
    /// Tries per message, the first included.
    attempts: u32,
}

impl SqsSender {
    pub fn new(client: Client, attempts: u32) -> Self {
        Self {
            client,
            attempts: attempts.max(1),
        }
    }

    /// Sends every message to `queue_url`; returns those that could not be delivered.
    pub async fn send(&self, queue_url: &str, messages: Vec<OutgoingMessage>) -> Vec<Undelivered> {
        let mut undelivered = Vec::new();
        for batch in batches(messages, MAX_BATCH_BYTES) {
            undelivered.extend(self.send_batch(queue_url, batch).await);
        }
        undelivered
    }

    async fn send_batch(&self, queue_url: &str, mut pending: Vec<OutgoingMessage>) -> Vec<Undelivered> {
        let mut given_up = Vec::new();
        let mut reasons = vec![String::new(); pending.len()];
        for attempt in 0..self.attempts {
            if attempt > 0 {
                // 50 ms, 100 ms, 200 ms, …: enough for throttling to pass within one invocation.
                tokio::time::sleep(Duration::from_millis(50 << attempt.min(6))).await;
            }
            let entries = match pending
                .iter()
                .enumerate()
                .map(|(i, m)| entry(i, m))
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(entries) => entries,
                Err(reason) => return undeliverable(pending, &reason),
            };
            let result = self
                .client
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await;
            let output = match result {
                Ok(output) => output,
                Err(err) => {
                    reasons = vec![DisplayErrorContext(err).to_string(); pending.len()];
                    continue;
                }
            };
            let mut retry = Vec::new();
            let mut retry_reasons = Vec::new();
            for failure in output.failed() {
                let Some(message) = failure.id().parse::<usize>().ok().and_then(|i| pending.get(i)) else {
                    continue;
                };
                let reason = format!("{}: {}", failure.code(), failure.message().unwrap_or_default());
                if failure.sender_fault() {
                    // The message itself is wrong; sending it again cannot help.
                    given_up.push(Undelivered {
                        message: message.clone(),
                        reason,
                    });
                } else {
                    retry.push(message.clone());
                    retry_reasons.push(reason);
                }
            }
            pending = retry;
            reasons = retry_reasons;
            if pending.is_empty() {
                break;
            }
        }
        given_up.extend(
            pending
                .into_iter()
                .zip(reasons)
                .map(|(message, reason)| Undelivered { message, reason }),
        );
        given_up
    }
}

fn undeliverable(messages: Vec<OutgoingMessage>, reason: &str) -> Vec<Undelivered> {
    messages
        .into_iter()
        .map(|message| Undelivered {
            message,
            reason: reason.to_owned(),
        })
        .collect()
}

/// The batch entry for `message`; its id is its index in the batch.
fn entry(index: usize, message: &OutgoingMessage) -> Result<SendMessageBatchRequestEntry, String> {
    let mut entry = SendMessageBatchRequestEntry::builder()
        .id(index.to_string())
        .message_body(&message.body)
        .set_message_group_id(message.group_id.clone())
        .set_message_deduplication_id(message.dedup_id.clone());
    for (name, value) in &message.attributes {
        let value = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| e.to_string())?;
        entry = entry.message_attributes(*name, value);
    }
    entry.build().map_err(|e| e.to_string())
}
