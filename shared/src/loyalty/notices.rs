//! The engine's outcomes as events, in seed 002's notification shape
//! (`pointsIssued`, `pointsRedeemed`, `pointsExpired`, `transactionAdded`):
//! stored in the events table, they reach subscribers through the fan-out like
//! any other event. Each is built only from what the ledger recorded for its
//! triggering event (its mark and entries) or from that event, under an id
//! derived from the event's, so a redelivered event stores the same notice
//! again, which the events table answers as a replay.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::model::{EntryType, LedgerEntry, Mark};
use crate::events::{CUSTOMER_ENTITY, CUSTOMER_EVENT_PREFIX, CUSTOMER_ID_ATTRIBUTE, Event};
use crate::ids;

/// Entity name of the points notices.
pub const POINTS_ENTITY: &str = "POINTS";

/// Id prefix of the points notices, reserved like the CUSTOMER events' `cus_`.
pub const POINTS_EVENT_PREFIX: &str = "pts_";

/// The event a notice is about.
#[derive(Debug, Clone, Copy)]
pub struct Trigger<'a> {
    pub event_id: &'a str,
    /// `ACTION`, `ORDER`, `TRANSACTION` or `REDEMPTION`.
    pub entity_name: &'a str,
    pub customer: &'a str,
}

impl Trigger<'_> {
    /// A notice named `name` (seed 002's `eventName`) with `data` besides the
    /// customer and the triggering activity, stamped `at`.
    fn notice(&self, entity_name: &str, prefix: &str, name: &str, at: DateTime<Utc>, mut data: Value) -> Event {
        let id = format!("{prefix}{}", ids::digest(&[self.event_id, name]));
        data["customerIdentifiers"] = json!({"customerId": self.customer});
        data["triggeringActivity"] = json!({
            "name": self.entity_name,
            "identifiers": [{"key": "eventId", "value": self.event_id}],
        });
        let payload = json!({"eventName": name, "eventId": id, "createdAt": at.timestamp_millis(), "data": data});
        let key_attributes = BTreeMap::from([
            (CUSTOMER_ID_ATTRIBUTE.to_owned(), self.customer.to_owned()),
            ("source_event_id".to_owned(), self.event_id.to_owned()),
        ]);
        Event::created_by_service(id, entity_name, self.customer, key_attributes, &payload, Utc::now())
    }

    /// The points notices of what the ledger recorded for the event: expired
    /// points it found, then the points it issued or redeemed.
    pub fn points_notices(&self, mark: &Mark, entries: &[LedgerEntry]) -> Vec<Event> {
        let of = |kind: EntryType| entries.iter().filter(move |e| e.entry_type == kind);
        let total = |kind: EntryType| of(kind).map(|e| e.points.unsigned_abs()).sum::<u64>();
        let totals = |mut data: Value| {
            data["programCurrentPoints"] = json!(mark.available);
            data["programLifetimePoints"] = json!(mark.lifetime);
            data
        };
        let mut notices = Vec::new();
        let points =
            |name: &str, data: Value| self.notice(POINTS_ENTITY, POINTS_EVENT_PREFIX, name, mark.at, totals(data));
        if of(EntryType::Expired).next().is_some() {
            notices.push(points(
                "pointsExpired",
                json!({"pointsExpired": total(EntryType::Expired)}),
            ));
        }
        if of(EntryType::Issued).next().is_some() {
            let promotions: Vec<Value> = of(EntryType::Issued)
                .map(|e| {
                    json!({"promotionIdentifier": e.rule_id, "promotionPoints": e.points,
                           "promotionPointsExpiryDate": e.expires_at.map(|at| at.format("%Y-%m-%d").to_string())})
                })
                .collect();
            notices.push(points(
                "pointsIssued",
                json!({"totalPointsIssued": total(EntryType::Issued), "promotionalPointsIssued": promotions}),
            ));
        }
        if of(EntryType::Redeemed).next().is_some() {
            notices.push(points(
                "pointsRedeemed",
                json!({"totalPointsRedeemed": total(EntryType::Redeemed)}),
            ));
        }
        notices
    }

    /// `transactionAdded`, a CUSTOMER event: the transaction's `total` and
    /// `reference` (seed 002's `amount` and `billNumber`), accepted `at`.
    pub fn transaction_added(&self, body: &Value, at: DateTime<Utc>) -> Event {
        let data = json!({"amount": body["transaction"]["total"], "billNumber": body["reference"],
                          "enteredAt": at.timestamp_millis()});
        self.notice(CUSTOMER_ENTITY, CUSTOMER_EVENT_PREFIX, "transactionAdded", at, data)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::events::decode_json;
    use crate::loyalty::{CustomerState, Outcome};
    use crate::rules::Fulfilled;

    const CUSTOMER: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

    fn trigger(entity_name: &'static str) -> Trigger<'static> {
        Trigger {
            event_id: "0d9b2c4e-1f3a-4e5b-8c7d-6a5b4c3d2e1f",
            entity_name,
            customer: CUSTOMER,
        }
    }

    fn payload(event: &Event) -> Value {
        decode_json(
            event
                .event_payload
                .base64_encoded_payload_json
                .as_deref()
                .expect("payload"),
        )
        .expect("json")
    }

    fn issue(
        state: &CustomerState,
        event_id: &str,
        at: DateTime<Utc>,
        points: u64,
        days: Option<i64>,
    ) -> super::super::Effect {
        state.after(&Outcome {
            event_id: event_id.into(),
            at,
            fulfilled: vec![Fulfilled {
                rule_id: "rul_bonus".into(),
                name: "Bonus".into(),
                points,
                points_expire_at: days.map(|d| at + Duration::days(d)),
                reward: None,
            }],
            spend: None,
        })
    }

    #[test]
    fn points_issued_carries_seed_002s_fields_from_the_ledger() {
        // GIVEN a customer with 40 points earns 100 more, expiring in 365 days
        let at = "2026-11-30T10:00:00.123Z".parse().expect("time");
        let before = issue(&CustomerState::default(), "e-0", at, 40, None).next;
        let effect = issue(&before, "e-1", at, 100, Some(365));
        // WHEN its notices are built
        let notices = trigger("ACTION").points_notices(&effect.mark, &effect.entries);
        // THEN one pointsIssued, a POINTS event about the customer
        assert_eq!(notices.len(), 1);
        let notice = &notices[0];
        assert_eq!(
            (notice.entity_name.as_str(), notice.entity_id.as_str()),
            ("POINTS", CUSTOMER)
        );
        assert!(notice.id.starts_with("pts_") && ids::validate_client_id("id", &notice.id).is_ok());
        let body = payload(notice);
        assert_eq!(
            (&body["eventName"], &body["eventId"]),
            (&json!("pointsIssued"), &json!(notice.id))
        );
        assert_eq!(body["createdAt"], json!(at.timestamp_millis()));
        let data = &body["data"];
        assert_eq!(data["customerIdentifiers"]["customerId"], CUSTOMER);
        assert_eq!(
            (
                &data["totalPointsIssued"],
                &data["programCurrentPoints"],
                &data["programLifetimePoints"]
            ),
            (&json!(100), &json!(140), &json!(140))
        );
        assert_eq!(
            data["promotionalPointsIssued"],
            json!([{"promotionIdentifier": "rul_bonus", "promotionPoints": 100, "promotionPointsExpiryDate": "2027-11-30"}])
        );
        assert_eq!(
            data["triggeringActivity"]["identifiers"][0]["value"],
            "0d9b2c4e-1f3a-4e5b-8c7d-6a5b4c3d2e1f"
        );
        // AND built again (a redelivered event), it is the same event
        let again = trigger("ACTION").points_notices(&effect.mark, &effect.entries);
        assert!(again[0].same_content(notice));
    }

    #[test]
    fn a_redemption_that_finds_points_expired_notifies_both() {
        // GIVEN 30 points that expired yesterday and 50 that do not expire
        let then = Utc::now() - Duration::days(10);
        let state = issue(&CustomerState::default(), "e-0", then, 30, Some(8)).next;
        let state = issue(&state, "e-1", then, 50, None).next;
        // WHEN 20 are redeemed
        let effect = state.redeemed("r-1", Utc::now(), 20).expect("enough");
        let notices = trigger("REDEMPTION").points_notices(&effect.mark, &effect.entries);
        // THEN pointsExpired (30), then pointsRedeemed (20), 30 left
        let bodies: Vec<Value> = notices.iter().map(payload).collect();
        assert_eq!(bodies[0]["eventName"], "pointsExpired");
        assert_eq!(bodies[0]["data"]["pointsExpired"], 30);
        assert_eq!(bodies[1]["eventName"], "pointsRedeemed");
        assert_eq!(
            (
                &bodies[1]["data"]["totalPointsRedeemed"],
                &bodies[1]["data"]["programCurrentPoints"]
            ),
            (&json!(20), &json!(30))
        );
        assert_ne!(notices[0].id, notices[1].id);
    }

    #[test]
    fn transaction_added_is_a_customer_event_with_the_amount() {
        let at = Utc::now();
        let body = json!({"transaction": {"total": 49.5}, "reference": "INV-7"});
        let event = trigger("TRANSACTION").transaction_added(&body, at);
        assert_eq!(event.entity_name, "CUSTOMER");
        assert!(event.id.starts_with("cus_"));
        let data = &payload(&event)["data"];
        assert_eq!((&data["amount"], &data["billNumber"]), (&json!(49.5), &json!("INV-7")));
    }
}
