//! The routing decision, pure: an event reaches every active subscription of its
//! tenant that follows its entity and whose flag matches its operation.

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

/// The subscriptions (all of the event's tenant) that receive `event`.
pub fn matching<'a>(event: &Event, subscriptions: &'a [Subscription]) -> Vec<&'a Subscription> {
    subscriptions
        .iter()
        .filter(|s| wants(s, &event.entity_name, event.event_payload.operation))
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
}
