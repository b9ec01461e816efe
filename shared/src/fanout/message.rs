//! A message for one destination, before it is handed to SQS, SNS or EventBridge.

/// One delivery: the envelope's JSON and what the destination needs around it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub body: String,
    /// String attributes (SQS message attributes, SNS message attributes).
    pub attributes: Vec<(String, String)>,
    /// FIFO destinations: the message group (entity id) and deduplication id.
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    /// EventBridge only: `<entity>/<operation>`; the sender puts the stack's source
    /// and a `/` before it.
    pub detail_type: Option<String>,
    /// SQS only: how long the queue hides the message (the retry queue's backoff).
    pub delay_seconds: Option<i32>,
    /// EventBridge only: the event's trace as `TraceHeader` (X-Ray's form).
    pub trace_header: Option<String>,
}

/// A message every attempt failed to deliver, with the last reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undelivered {
    /// Its position in the messages given to the sender.
    pub index: usize,
    pub message: OutgoingMessage,
    pub reason: String,
    /// The destination refused the message itself (malformed, too long): no retry
    /// can deliver it. A destination that refuses access or is missing is not this.
    pub permanent: bool,
}

/// Entries per batch call, for SendMessageBatch, PublishBatch and PutEvents alike.
pub const MAX_BATCH_ENTRIES: usize = 10;

/// Splits messages into calls of at most ten entries and `max_bytes` of bodies;
/// each message keeps its position in `messages`.
pub fn batches(messages: Vec<OutgoingMessage>, max_bytes: usize) -> Vec<Vec<(usize, OutgoingMessage)>> {
    let mut batches: Vec<Vec<(usize, OutgoingMessage)>> = Vec::new();
    let mut bytes = 0;
    for (index, message) in messages.into_iter().enumerate() {
        let size = message.body.len();
        match batches.last_mut() {
            Some(batch) if batch.len() < MAX_BATCH_ENTRIES && bytes + size <= max_bytes => {
                bytes += size;
                batch.push((index, message));
            }
            _ => {
                bytes = size;
                batches.push(vec![(index, message)]);
            }
        }
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(size: usize) -> OutgoingMessage {
        OutgoingMessage {
            body: "x".repeat(size),
            ..OutgoingMessage::default()
        }
    }

    #[test]
    fn batches_hold_at_most_ten_entries_and_the_byte_limit() {
        let sizes = |batches: &[Vec<(usize, OutgoingMessage)>]| batches.iter().map(Vec::len).collect::<Vec<_>>();
        assert_eq!(
            sizes(&batches((0..25).map(|_| message(1)).collect(), 1000)),
            [10, 10, 5]
        );
        assert_eq!(sizes(&batches((0..4).map(|_| message(400)).collect(), 1000)), [2, 2]);
        assert!(batches(Vec::new(), 1000).is_empty());
    }
}
