//! SendGrid v3 `/v3/mail/send` bodies for dynamic templates: one personalization
//! per shopper, at most 1,000 per request.

use serde::Serialize;
use serde_json::{Map, Value};

/// SendGrid's limit on personalizations in one request.
pub const MAX_PERSONALIZATIONS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One shopper's e-mail: who, and the data the template renders.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Personalization {
    pub to: Vec<Address>,
    pub dynamic_template_data: Value,
}

/// One `/v3/mail/send` request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mail {
    pub from: Address,
    pub template_id: String,
    pub personalizations: Vec<Personalization>,
    /// Echoed in SendGrid's event webhooks (job and run ids), so deliveries and
    /// bounces can be traced to a run.
    pub custom_args: Map<String, Value>,
}

impl Mail {
    /// The same message as one request per shopper.
    pub fn one_by_one(&self) -> Vec<Mail> {
        self.personalizations
            .iter()
            .map(|p| Mail {
                from: self.from.clone(),
                template_id: self.template_id.clone(),
                personalizations: vec![p.clone()],
                custom_args: self.custom_args.clone(),
            })
            .collect()
    }
}

/// The requests that send `personalizations`: the same message, 1,000 shoppers each.
pub fn mails(
    from: &Address,
    template_id: &str,
    custom_args: &Map<String, Value>,
    personalizations: Vec<Personalization>,
) -> Vec<Mail> {
    personalizations
        .chunks(MAX_PERSONALIZATIONS)
        .map(|chunk| Mail {
            from: from.clone(),
            template_id: template_id.to_owned(),
            personalizations: chunk.to_vec(),
            custom_args: custom_args.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn splits_into_requests_of_at_most_a_thousand_shoppers() {
        let from = Address {
            email: "shop@example.com".into(),
            name: Some("Shop".into()),
        };
        let shoppers: Vec<Personalization> = (0..2500)
            .map(|i| Personalization {
                to: vec![Address {
                    email: format!("s{i}@example.com"),
                    name: None,
                }],
                dynamic_template_data: json!({"items": []}),
            })
            .collect();
        let args = Map::from_iter([("job_id".to_owned(), json!("job-1"))]);
        let requests = mails(&from, "d-1", &args, shoppers);
        let sizes: Vec<usize> = requests.iter().map(|m| m.personalizations.len()).collect();
        assert_eq!(sizes, [1000, 1000, 500]);
        assert_eq!(
            serde_json::to_value(&requests[2]).expect("json")["personalizations"][0],
            json!({"to": [{"email": "s2000@example.com"}], "dynamic_template_data": {"items": []}})
        );
        assert_eq!(
            serde_json::to_value(&requests[0]).expect("json")["custom_args"],
            json!({"job_id": "job-1"})
        );
    }
}
