//! Lambda's SQS event source, locally: receives from a queue, hands the messages
//! over as an SQS event, and deletes those the function did not report as failed.

use std::collections::HashMap;
use std::future::Future;

use aws_lambda_events::event::sqs::{SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageAttributeValue, MessageSystemAttributeName};

pub struct QueuePoller {
    client: Client,
    queue_url: String,
    /// SQS long polling: how long a receive waits for a first message.
    wait_seconds: i32,
}

impl QueuePoller {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            wait_seconds: 0,
        }
    }

    /// Each receive waits up to `seconds` for a first message (long polling).
    pub fn waiting(self, seconds: i32) -> Self {
        Self {
            wait_seconds: seconds,
            ..self
        }
    }

    /// Receives up to ten messages and hands them to `handler`, which returns
    /// the ids of those it failed; the others are deleted. Returns how many
    /// messages were handed over.
    pub async fn poll_into<F, Fut>(&self, handler: F) -> Result<usize, String>
    where
        F: FnOnce(Vec<SqsMessage>) -> Fut,
        Fut: Future<Output = Vec<String>>,
    {
        let received = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .wait_time_seconds(self.wait_seconds)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?
            .messages
            .unwrap_or_default();
        if received.is_empty() {
            return Ok(0);
        }
        let receipts: HashMap<String, String> = received
            .iter()
            .filter_map(|m| Some((m.message_id.clone()?, m.receipt_handle.clone()?)))
            .collect();
        let count = received.len();
        let failed = handler(received.iter().map(lambda_message).collect()).await;
        let done: Vec<DeleteMessageBatchRequestEntry> = receipts
            .iter()
            .filter(|(id, _)| !failed.contains(id))
            .enumerate()
            .map(|(i, (_, receipt))| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(receipt)
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<_, _>>()?;
        if !done.is_empty() {
            self.client
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(done))
                .send()
                .await
                .map_err(|e| DisplayErrorContext(e).to_string())?;
        }
        Ok(count)
    }
}

/// The message as Lambda's SQS event source would deliver it.
fn lambda_message(message: &Message) -> SqsMessage {
    let mut event = SqsMessage::default();
    event.message_id = message.message_id.clone();
    event.receipt_handle = message.receipt_handle.clone();
    event.body = message.body.clone();
    event.md5_of_body = message.md5_of_body.clone();
    // Lambda passes SQS's own attributes (SentTimestamp, a FIFO message's MessageGroupId, …).
    event.attributes = message
        .attributes
        .iter()
        .flatten()
        .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
        .collect();
    event.message_attributes = message
        .message_attributes
        .iter()
        .flatten()
        .map(|(name, value)| (name.clone(), lambda_attribute(value)))
        .collect();
    event
}

fn lambda_attribute(value: &MessageAttributeValue) -> SqsMessageAttribute {
    let mut attribute = SqsMessageAttribute::default();
    attribute.string_value = value.string_value.clone();
    attribute.data_type = Some(value.data_type.clone());
    attribute
}
