//! Personal data in answers: the payload fields an event definition marks
//! `isPsiData` (listed in the event's `definition.psiFields`), as a caller
//! without the personal-data scope sees them: `"****"`, as subscribers without
//! `includePsi` and masked secrets read. The rest of the payload stays as sent.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::value::RawValue;

use super::{Event, decode_json_text};
use crate::secrets::MASK;
use crate::util::raw_json::{RawObject, is_null, raw};

/// The JSON object `payload` with its non-null members named in `fields`
/// masked; `None` when it has none (or is not an object), so that an
/// unchanged payload is never re-encoded. A name sent twice is masked in every
/// copy when any copy is not null: the text goes out with all of them, whichever
/// one a reader of the last (definition validation) saw.
pub fn masked_members<'a>(payload: &RawValue, fields: impl IntoIterator<Item = &'a String>) -> Option<Box<RawValue>> {
    let mut object = RawObject::parse(payload.get())?;
    let mut masked = false;
    for name in fields {
        if object.get_all(name).any(|value| !is_null(value)) {
            object.set(name, raw(MASK));
            masked = true;
        }
    }
    masked.then(|| object.to_raw())
}

impl Event {
    /// The event with its payload's PSI fields masked (the payload re-encoded
    /// in standard base64 when one was).
    #[must_use]
    pub fn psi_masked(mut self) -> Self {
        let Some(fields) = self
            .definition
            .as_ref()
            .map(|d| &d.psi_fields)
            .filter(|f| !f.is_empty())
        else {
            return self;
        };
        let payload = &mut self.event_payload.base64_encoded_payload_json;
        let Some(encoded) = payload.as_deref() else {
            return self;
        };
        match decode_json_text(encoded) {
            Ok(json) => {
                if let Some(masked) = masked_members(&json, fields) {
                    *payload = Some(STANDARD.encode(masked.get()));
                }
            }
            // Validated at ingest, so never expected; what cannot be read cannot
            // be masked, so it is not shown.
            Err(_) => *payload = None,
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(payload: &str, psi_fields: &[&str]) -> Event {
        crate::events::fixtures::event("PURCHASEEVENT", payload, psi_fields)
    }

    fn payload_of(event: &Event) -> String {
        let encoded = event
            .event_payload
            .base64_encoded_payload_json
            .as_deref()
            .expect("payload");
        String::from_utf8(STANDARD.decode(encoded).expect("base64")).expect("utf-8")
    }

    #[test]
    fn psi_members_read_masked_and_the_rest_as_sent() {
        // GIVEN a payload with a PSI phone, a null PSI email and a number no f64 holds
        let sent = r#"{"phone": "+44 20 7946 0000", "email": null, "amount": 0.12345678901234567890}"#;
        let masked = event(sent, &["phone", "email", "absent"]).psi_masked();
        // THEN only the phone is masked; the rest keeps its text
        assert_eq!(
            payload_of(&masked),
            r#"{"phone":"****","email":null,"amount":0.12345678901234567890}"#
        );
        assert_eq!(masked.definition.map(|d| d.psi_fields.len()), Some(3));
    }

    #[test]
    fn a_psi_member_sent_twice_is_masked_in_every_copy() {
        // GIVEN a phone sent twice, the last copy null (what validation reads), and
        // an email sent twice, both null
        let sent = r#"{"phone":"+44 20 7946 0000","email":null,"phone":null,"email":null}"#;
        // WHEN it is masked THEN no copy of the phone reads in the clear
        let masked = event(sent, &["phone", "email"]).psi_masked();
        assert_eq!(
            payload_of(&masked),
            r#"{"phone":"****","email":null,"phone":"****","email":null}"#
        );
    }

    #[test]
    fn a_payload_without_psi_members_is_not_re_encoded() {
        let sent = r#"{"amount": 1}"#;
        let original = event(sent, &["phone"]);
        assert_eq!(original.clone().psi_masked(), original);
        let undefined = Event {
            definition: None,
            ..event(r#"{"phone": "x"}"#, &[])
        };
        assert_eq!(undefined.clone().psi_masked(), undefined);
        let not_an_object = event("[1, 2]", &["phone"]);
        assert_eq!(not_an_object.clone().psi_masked(), not_an_object);
        let raw = serde_json::value::to_raw_value(&json!({"a": 1})).expect("raw");
        assert!(masked_members(&raw, &[]).is_none());
    }
}
