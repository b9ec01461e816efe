//! How many entries a call carries (items of a batch write, messages of a batch
//! send, events of a PutEvents): AWS bills DynamoDB writes, EventBridge events
//! and SNS messages by the entry, not by the call, so the load harness counts
//! both.

use serde_json::Value;

/// The entries in `body` of a call to `operation`; 1 for a call that is not a batch.
pub fn entries(operation: &str, body: &[u8]) -> usize {
    let json = || serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
    let counted = match operation {
        "BatchWriteItem" | "BatchGetItem" => json()["RequestItems"]
            .as_object()
            .map(|tables| tables.values().map(count).sum()),
        "SendMessageBatch" | "PutEvents" | "DeleteMessageBatch" => Some(count(&json()["Entries"])),
        "TransactWriteItems" => Some(count(&json()["TransactItems"])),
        // SNS is a form: one `…Entries.member.N.Id=` a message.
        "PublishBatch" => Some(
            String::from_utf8_lossy(body)
                .split('&')
                .filter(|pair| pair.starts_with("PublishBatchRequestEntries.member.") && pair.contains(".Id="))
                .count(),
        ),
        _ => None,
    };
    counted.unwrap_or(1).max(1)
}

/// The length of a JSON array, or of a BatchGetItem table's `Keys`.
fn count(value: &Value) -> usize {
    value
        .as_array()
        .or_else(|| value["Keys"].as_array())
        .map_or(0, Vec::len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_count_their_entries_and_other_calls_one() {
        let write =
            br#"{"RequestItems": {"a": [{"PutRequest": {}}, {"PutRequest": {}}], "b": [{"DeleteRequest": {}}]}}"#;
        assert_eq!(entries("BatchWriteItem", write), 3);
        assert_eq!(
            entries("BatchGetItem", br#"{"RequestItems": {"a": {"Keys": [{}, {}]}}}"#),
            2
        );
        assert_eq!(entries("PutEvents", br#"{"Entries": [{}, {}, {}]}"#), 3);
        let publish = b"Action=PublishBatch&PublishBatchRequestEntries.member.1.Id=0&PublishBatchRequestEntries.member.1.Message=x&PublishBatchRequestEntries.member.2.Id=1";
        assert_eq!(entries("PublishBatch", publish), 2);
        assert_eq!(entries("PutItem", b"{}"), 1);
        assert_eq!(entries("SendMessageBatch", b"not json"), 1);
    }
}
