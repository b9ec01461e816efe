//! Limits AWS enforces on the messages the stack sends and moto does not: FIFO
//! group and deduplication ids (1-128 ASCII letters, digits and punctuation), SNS
//! and EventBridge's 256 KiB per message and per call, ten entries a batch. A call
//! past one is refused as the service would refuse it.

use serde_json::Value;

use super::request::Request;

/// SNS's and EventBridge's limit on a message, and on a whole batch call.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
const MAX_BATCH_ENTRIES: usize = 10;

/// A limit the request breaks: the service's error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub code: &'static str,
    pub message: String,
}

fn breach(code: &'static str, message: impl Into<String>) -> Breach {
    Breach {
        code,
        message: message.into(),
    }
}

/// The first limit `request` breaks, if any.
pub fn check(request: &Request<'_>) -> Result<(), Breach> {
    match request.target {
        Some("AmazonSQS.SendMessage" | "AmazonSQS.SendMessageBatch") => sqs(request.body),
        Some("AWSEvents.PutEvents") => events(request.body),
        Some(_) => Ok(()),
        None if request.path.starts_with("/schedules/") => Ok(()),
        None => sns(request.body),
    }
}

fn fifo_id(field: &str, value: &str) -> Result<(), Breach> {
    let valid = (1..=128).contains(&value.len()) && value.chars().all(|c| c.is_ascii_graphic());
    if valid {
        Ok(())
    } else {
        Err(breach(
            "InvalidParameterValue",
            format!("{field} can only contain alphanumeric and punctuation characters, 1-128 of them"),
        ))
    }
}

fn sqs(body: &[u8]) -> Result<(), Breach> {
    let body: Value = serde_json::from_slice(body).map_err(|e| breach("InvalidParameterValue", e.to_string()))?;
    let entries: Vec<&Value> = match body["Entries"].as_array() {
        Some(entries) => entries.iter().collect(),
        None => vec![&body],
    };
    if entries.len() > MAX_BATCH_ENTRIES {
        return Err(breach("TooManyEntriesInBatchRequest", "at most 10 entries a batch"));
    }
    for entry in entries {
        for field in ["MessageGroupId", "MessageDeduplicationId"] {
            if let Some(value) = entry[field].as_str() {
                fifo_id(field, value)?;
            }
        }
    }
    Ok(())
}

fn sns(body: &[u8]) -> Result<(), Breach> {
    let form: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let mut entries: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    let mut total = 0;
    for (key, value) in &form {
        // `Message`, or `PublishBatchRequestEntries.member.N.Message`; attributes
        // (`….MessageAttributes.entry.M.Name|Value.StringValue`) count too.
        let (entry, field) = match key.strip_prefix("PublishBatchRequestEntries.member.") {
            Some(rest) => rest.split_once('.').unwrap_or((rest, "")),
            None => ("", key.as_str()),
        };
        let counted = field == "Message" || field.starts_with("MessageAttributes.") && !field.ends_with("DataType");
        if counted {
            *entries.entry(entry.to_owned()).or_default() += value.len();
            total += value.len();
        }
        if field == "MessageGroupId" || field == "MessageDeduplicationId" {
            fifo_id(field, value).map_err(|b| breach("InvalidParameter", b.message))?;
        }
    }
    if entries.keys().filter(|k| !k.is_empty()).count() > MAX_BATCH_ENTRIES {
        return Err(breach("TooManyEntriesInBatchRequest", "at most 10 entries a batch"));
    }
    if let Some((_, size)) = entries.iter().find(|(_, size)| **size > MAX_MESSAGE_BYTES) {
        return Err(breach(
            "InvalidParameter",
            format!("Message too long: {size} bytes; the limit is {MAX_MESSAGE_BYTES}"),
        ));
    }
    if total > MAX_MESSAGE_BYTES {
        return Err(breach("BatchRequestTooLong", format!("the batch is {total} bytes")));
    }
    Ok(())
}

fn events(body: &[u8]) -> Result<(), Breach> {
    let body: Value = serde_json::from_slice(body).map_err(|e| breach("ValidationException", e.to_string()))?;
    let entries = body["Entries"].as_array().map(Vec::as_slice).unwrap_or_default();
    if entries.len() > MAX_BATCH_ENTRIES {
        return Err(breach("ValidationException", "at most 10 entries a call"));
    }
    // PutEvents sizes an entry by its Source, DetailType, Detail and Resources,
    // plus 14 bytes for the time.
    let size = |entry: &Value| {
        let text = |field: &str| entry[field].as_str().map_or(0, str::len);
        let resources: usize = entry["Resources"]
            .as_array()
            .map_or(0, |r| r.iter().filter_map(Value::as_str).map(str::len).sum());
        14 + text("Source") + text("DetailType") + text("Detail") + resources
    };
    for entry in entries {
        let text = |field: &str| entry[field].as_str().unwrap_or_default();
        if !(1..=128).contains(&text("DetailType").len()) {
            return Err(breach("ValidationException", "DetailType must be 1 to 128 characters"));
        }
        let source = text("Source");
        if !(1..=256).contains(&source.len()) || source.starts_with("aws.") {
            return Err(breach(
                "ValidationException",
                "Source must be 1 to 256 characters and not aws.*",
            ));
        }
    }
    let total: usize = entries.iter().map(size).sum();
    if total > MAX_MESSAGE_BYTES {
        return Err(breach(
            "ValidationException",
            format!("Total size of the entries in the request is over the limit: {total} bytes"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(target: &'static str, body: &str) -> Result<(), Breach> {
        check(&Request {
            method: "POST",
            path: "/",
            query: "",
            target: Some(target),
            body: body.as_bytes(),
        })
    }

    #[test]
    fn fifo_ids_must_be_ascii_graphic_and_at_most_128() {
        assert!(
            json(
                "AmazonSQS.SendMessageBatch",
                r#"{"Entries":[{"MessageGroupId":"ORD-1"}]}"#
            )
            .is_ok()
        );
        for bad in ["ORD 1", "Bestellung-Ä", &"x".repeat(129), ""] {
            let body = serde_json::json!({"Entries": [{"MessageGroupId": bad}]}).to_string();
            assert_eq!(
                json("AmazonSQS.SendMessageBatch", &body).map_err(|b| b.code),
                Err("InvalidParameterValue"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn sns_and_eventbridge_take_256_kib() {
        let big = "x".repeat(MAX_MESSAGE_BYTES + 1);
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("Action", "Publish")
            .append_pair("Message", &big)
            .finish();
        let request = Request {
            method: "POST",
            path: "/",
            query: "",
            target: None,
            body: form.as_bytes(),
        };
        assert_eq!(check(&request).map_err(|b| b.code), Err("InvalidParameter"));
        let entry = serde_json::json!({"Source": "s", "DetailType": "d", "Detail": big});
        let body = serde_json::json!({"Entries": [entry]}).to_string();
        assert_eq!(
            json("AWSEvents.PutEvents", &body).map_err(|b| b.code),
            Err("ValidationException")
        );
        let fits = serde_json::json!({"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}"}]}).to_string();
        assert!(json("AWSEvents.PutEvents", &fits).is_ok());
        for entry in [
            serde_json::json!({"Source": "s", "DetailType": "d".repeat(129), "Detail": "{}"}),
            serde_json::json!({"Source": "aws.s3", "DetailType": "d", "Detail": "{}"}),
        ] {
            let body = serde_json::json!({"Entries": [entry]}).to_string();
            assert_eq!(
                json("AWSEvents.PutEvents", &body).map_err(|b| b.code),
                Err("ValidationException")
            );
        }
    }
}
