//! The routing decision, pure: an event reaches every active subscription of its
//! tenant that follows its entity, whose flag matches its operation, and whose
//! content filter (if any) matches its envelope.

use serde_json::Value;

use super::envelope::Envelope;
use crate::events::{Event, Operation};
use crate::subscriptions::Subscription;

/// Whether `subscription` wants an event of `entity_name` with `operation`.
/// CREATE/BULK_CREATE → subscribeCreate, UPDATE/BULK_UPDATE → subscribeChange,
/// DELETE/BULK_DELETE → subscribeDelete; READ matches no flag.
pub fn wants(subscription: &Subscription, entity_name: &str, operation: Operation) -> bool {
    let flag = match operation {
        Operation::Create | Operation::BulkCreate => subscription.subscribe_create,
        Operation::Update | Operation::BulkUpdate => subscription.subscribe_change,
        Operation::Delete | Operation::BulkDelete => subscription.subscribe_delete,
        Operation::Read => false,
    };
    flag && subscription.active && subscription.entity_type == entity_name
}

/// The subscriptions (all of `tenant`'s) that receive `event`: those that follow
/// it and whose content filter, if any, matches the envelope they would receive
/// (sensitive fields masked unless they include them; no subscription or replay
/// id).
pub fn matching<'a>(tenant: &str, event: &Event, subscriptions: &'a [Subscription]) -> Vec<&'a Subscription> {
    let mut envelopes: [Option<Value>; 2] = [None, None];
    subscriptions
        .iter()
        .filter(|s| wants(s, &event.entity_name, event.event_payload.operation))
        .filter(|s| {
            let Some(filter) = &s.filter else {
                return true;
            };
            let envelope = envelopes[usize::from(s.include_psi)].get_or_insert_with(|| {
                let envelope = if s.include_psi {
                    Envelope::revealing(tenant, event, None)
                } else {
                    Envelope::new(tenant, event, None)
                };
                serde_json::to_value(&envelope).unwrap_or_else(|err| {
                    tracing::warn!(event_id = %event.id, error = %err, "envelope unreadable for content filters; delivered unfiltered");
                    Value::Null
                })
            });
            // An envelope that could not be read is delivered: a filter never loses an event by fault.
            envelope.is_null() || filter.matches(envelope)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscriptions::fixtures;

    fn subscription(entity: &str, create: bool, change: bool, delete: bool, active: bool) -> Subscription {
        Subscription {
            active,
            entity_type: entity.to_owned(),
            subscribe_create: create,
            subscribe_change: change,
            subscribe_delete: delete,
            include_psi: false,
            ..fixtures::subscription("sub-1")
        }
    }

    #[test]
    fn every_operation_against_every_flag() {
        use Operation::*;
        // (operation, create flag wanted, change flag wanted, delete flag wanted)
        let table = [
            (Create, true, false, false),
            (BulkCreate, true, false, false),
            (Update, false, true, false),
            (BulkUpdate, false, true, false),
            (Delete, false, false, true),
            (BulkDelete, false, false, true),
            (Read, false, false, false),
        ];
        for (operation, create, change, delete) in table {
            for (flags, expected) in [
                ((true, false, false), create),
                ((false, true, false), change),
                ((false, false, true), delete),
                ((true, true, true), create || change || delete),
            ] {
                let s = subscription("ORDER", flags.0, flags.1, flags.2, true);
                assert_eq!(wants(&s, "ORDER", operation), expected, "{operation:?} with {flags:?}");
            }
        }
    }

    #[test]
    fn inactive_and_other_entities_never_match() {
        let all = |entity, active| subscription(entity, true, true, true, active);
        assert!(!wants(&all("ORDER", false), "ORDER", Operation::Create));
        assert!(!wants(&all("CUSTOMER", true), "ORDER", Operation::Create));
        assert!(wants(&all("ORDER", true), "ORDER", Operation::Create));
    }
    /// An ORDER create with `payload`, `phone` marked sensitive.
    fn order(payload: &str) -> Event {
        crate::events::fixtures::event("ORDER", payload, &["phone"])
    }

    fn filtered(id: &str, pattern: serde_json::Value, include_psi: bool) -> Subscription {
        Subscription {
            id: id.into(),
            include_psi,
            filter: Some(crate::subscriptions::Filter::parse(&pattern).expect("pattern")),
            rate_limit: None,
            ..subscription("ORDER", true, false, false, true)
        }
    }

    #[test]
    fn a_content_filter_matches_the_envelope_its_subscriber_would_receive() {
        let subscriptions = [
            subscription("ORDER", true, false, false, true),
            filtered(
                "big",
                serde_json::json!({"data": {"total": [{"numeric": [">=", 100]}]}}),
                false,
            ),
            filtered(
                "ca",
                serde_json::json!({"entityName": ["ORDER"], "data": {"country": [{"anything-but": ["US"]}]}}),
                false,
            ),
            // Masked for a subscription without includePsi: its filter sees "****".
            filtered(
                "masked",
                serde_json::json!({"data": {"phone": [{"prefix": "+44"}]}}),
                false,
            ),
            filtered(
                "revealed",
                serde_json::json!({"data": {"phone": [{"prefix": "+44"}]}}),
                true,
            ),
        ];
        let ids = |payload: &str| -> Vec<String> {
            matching("acme", &order(payload), &subscriptions)
                .iter()
                .map(|s| s.id.clone())
                .collect()
        };
        assert_eq!(
            ids(r#"{"total": 120.5, "country": "CA", "phone": "+44 20 7946 0999"}"#),
            ["sub-1", "big", "ca", "revealed"]
        );
        assert_eq!(ids(r#"{"total": 99, "country": "US"}"#), ["sub-1"]);
    }
}
