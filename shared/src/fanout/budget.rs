//! Each tenant's share of one invocation: deliveries to its subscriptions beyond
//! the budget go to the retry queue at once (their failures not counted), so a
//! tenant with many subscriptions never makes a batch run out of time — which would
//! have Lambda retry the other tenants' records with it.

use std::collections::HashMap;

use super::dispatch::Failed;
use super::plan::DeliveryPlan;
use crate::tenant::TenantId;

/// What a deferred delivery's parked message says.
pub const DEFERRED: &str = "DEFERRED: over this invocation's share for the tenant; sent by the retry consumer";

/// `plan` with at most `budget` subscription deliveries per tenant, and the rest.
/// The stack's own bus is not counted: it gets one entry per event. FIFO targets
/// are never deferred (a deferred message would arrive after later ones of its
/// group): they count, and are sent.
pub fn within_budget(plan: DeliveryPlan, budget: usize) -> (DeliveryPlan, Vec<Failed>) {
    let mut used: HashMap<TenantId, usize> = HashMap::new();
    let mut kept = DeliveryPlan::new();
    let mut deferred = Vec::new();
    for (target, deliveries) in plan {
        let ordered = target.is_fifo();
        for delivery in deliveries {
            let counted = delivery.origin.subscription_id.is_some();
            let spent = used.entry(delivery.origin.tenant.clone()).or_default();
            if counted && *spent >= budget && !ordered {
                deferred.push(Failed {
                    target: target.clone(),
                    delivery,
                    reason: DEFERRED.to_owned(),
                    permanent: false,
                });
                continue;
            }
            if counted {
                *spent += 1;
            }
            kept.entry(target.clone()).or_default().push(delivery);
        }
    }
    (kept, deferred)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fanout::{Delivery, Target};

    fn delivery(tenant: &str, subscription: Option<&str>) -> Delivery {
        Delivery::of(tenant, subscription)
    }

    fn queue(name: &str) -> Target {
        Target::Queue {
            url: format!("https://sqs.eu-west-1.amazonaws.com/123456789012/{name}"),
            region: "eu-west-1".into(),
            credentials: None,
            role: None,
        }
    }

    #[test]
    fn each_tenant_gets_its_share_and_the_rest_waits_on_the_retry_queue() {
        // GIVEN acme with five deliveries, globex with one, and the stack's bus entries
        let mut plan = DeliveryPlan::new();
        plan.insert(
            queue("a"),
            (0..5).map(|i| delivery("acme", Some(&format!("s{i}")))).collect(),
        );
        plan.insert(queue("g"), vec![delivery("globex", Some("s"))]);
        plan.insert(
            Target::own_bus("bus"),
            vec![delivery("acme", None), delivery("globex", None)],
        );
        // WHEN each tenant's share is two
        let (kept, deferred) = within_budget(plan, 2);
        // THEN acme sends two and defers three; globex and the bus are untouched
        assert_eq!(kept[&queue("a")].len(), 2);
        assert_eq!(kept[&queue("g")].len(), 1);
        assert_eq!(kept[&Target::own_bus("bus")].len(), 2);
        assert_eq!(deferred.len(), 3);
        assert!(
            deferred
                .iter()
                .all(|f| f.delivery.origin.tenant.as_str() == "acme" && !f.permanent)
        );
    }

    #[test]
    fn in_a_retry_batch_one_tenants_ten_deliveries_leave_anothers_alone() {
        // GIVEN a retry batch (ten messages, SQS's batch size) full of acme's
        // deliveries but one of globex's
        let mut plan = DeliveryPlan::new();
        plan.insert(
            queue("a"),
            (0..9).map(|i| delivery("acme", Some(&format!("s{i}")))).collect(),
        );
        plan.insert(queue("g"), vec![delivery("globex", Some("s"))]);
        // WHEN the smallest share a deployment may set is applied
        let (kept, deferred) = within_budget(plan, 10);
        // THEN nothing waits: each tenant's share is its own, and no retry is deferred
        assert_eq!((kept[&queue("a")].len(), kept[&queue("g")].len()), (9, 1));
        assert!(deferred.is_empty());
    }

    #[test]
    fn a_fifo_target_is_sent_whole_to_keep_its_order() {
        let mut plan = DeliveryPlan::new();
        plan.insert(
            queue("a.fifo"),
            (0..5).map(|i| delivery("acme", Some(&format!("s{i}")))).collect(),
        );
        let (kept, deferred) = within_budget(plan, 2);
        assert_eq!((kept[&queue("a.fifo")].len(), deferred.len()), (5, 0));
    }
}
