//! Counts per second in the rates table (`pk`, `used`, `expires_at`): what the
//! tenant API rate (http/rate.rs) and subscriptions' delivery rates
//! (fanout/pacing.rs) take their grants from. One UpdateItem adds what a caller
//! asks for and answers the new count, so callers in any number of containers
//! never share out more than the limit between them.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

/// How long a second's counter is kept (DynamoDB's TTL removes it some time after).
const COUNTER_SECONDS: i64 = 120;

#[derive(Debug, Clone)]
pub struct SecondCounter {
    client: Client,
    table: String,
}

impl SecondCounter {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Adds `want + spent` to counter `key` of second `at` (`spent`: what the
    /// caller already used without asking); how many of the `want` fit under `limit`.
    pub async fn take(&self, key: &str, at: i64, want: u32, spent: u32, limit: u32) -> Result<u32, String> {
        let added = want.saturating_add(spent);
        let answer = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("{key}#{at}")))
            .update_expression("ADD used :added SET expires_at = if_not_exists(expires_at, :expires)")
            .expression_attribute_values(":added", AttributeValue::N(added.to_string()))
            .expression_attribute_values(":expires", AttributeValue::N((at + COUNTER_SECONDS).to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
        let used: u64 = answer
            .attributes
            .and_then(|item| {
                item.get("used")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
            })
            .ok_or("the counter answered no count")?;
        Ok(fitting(used, want, limit))
    }
}

/// Of `want` just added to a counter now at `used`, how many fit under `limit`.
fn fitting(used: u64, want: u32, limit: u32) -> u32 {
    let before = used.saturating_sub(u64::from(want));
    let room = u64::from(limit).saturating_sub(before);
    u32::try_from(room.min(u64::from(want))).unwrap_or(want)
}

#[cfg(test)]
mod tests {
    use super::fitting;

    #[test]
    fn a_grant_is_what_was_left_under_the_limit_before_the_ask() {
        // GIVEN a limit of 10
        // THEN asking 4 at a count of 4 (0 before) fits all, at 12 (8 before) 2, at 14 none
        assert_eq!(fitting(4, 4, 10), 4);
        assert_eq!(fitting(12, 4, 10), 2);
        assert_eq!(fitting(14, 4, 10), 0);
    }
}
