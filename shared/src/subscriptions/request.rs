//! Create/update request bodies, validated into a `SubscriptionDraft` that names
//! every invalid field.

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::destination::{DestinationRules, check_region, check_role_arn};
use super::filter::Filter;
use super::model::{BusTarget, Destination, QueueTarget, SecretInput, TopicTarget};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::events::entity_name;
use crate::ids;
use crate::secrets::MASK;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionRequest {
    id: Option<String>,
    active: Option<bool>,
    entity_type: Option<String>,
    subscribe_create: Option<bool>,
    subscribe_change: Option<bool>,
    subscribe_delete: Option<bool>,
    include_psi: Option<bool>,
    destination: Option<DestinationRequest>,
    /// An EventBridge event pattern the envelope must match.
    filter: Option<serde_json::Value>,
    /// Messages a second, at most.
    rate_limit: Option<i64>,
    /// Optional on update: the version the client read; a newer stored one is 409.
    version: Option<u64>,
    /// Server-set; accepted and ignored so a response can be sent back as is.
    #[serde(default, rename = "createdAt")]
    _created_at: Option<IgnoredAny>,
    #[serde(default, rename = "updatedAt")]
    _updated_at: Option<IgnoredAny>,
    #[serde(default, rename = "delivery")]
    _delivery: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DestinationRequest {
    #[serde(rename = "type")]
    kind: Option<String>,
    sqs: Option<TargetRequest>,
    sns: Option<TargetRequest>,
    event_bridge: Option<TargetRequest>,
}

/// The fields of any target block; which ones belong depends on the block.
/// No `Debug`: it holds the plaintext secret.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TargetRequest {
    queue_url: Option<String>,
    topic_arn: Option<String>,
    event_bus_arn: Option<String>,
    region: Option<String>,
    role_arn: Option<String>,
    access_key: Option<String>,
    access_secret: Option<String>,
}

/// A valid subscription request, before ids, times and secrets are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionDraft {
    pub id: Option<String>,
    /// As sent; an update that leaves it out keeps the stored value.
    pub active: Option<bool>,
    pub entity_type: String,
    pub subscribe_create: bool,
    pub subscribe_change: bool,
    pub subscribe_delete: bool,
    pub include_psi: bool,
    pub destination: Destination<SecretInput>,
    pub filter: Option<Filter>,
    pub rate_limit: Option<u32>,
    pub version: Option<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sqs,
    Sns,
    EventBridge,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Sqs, Kind::Sns, Kind::EventBridge];

    fn name(self) -> &'static str {
        match self {
            Kind::Sqs => "SQS",
            Kind::Sns => "SNS",
            Kind::EventBridge => "EVENTBRIDGE",
        }
    }

    fn block(self) -> &'static str {
        match self {
            Kind::Sqs => "sqs",
            Kind::Sns => "sns",
            Kind::EventBridge => "eventBridge",
        }
    }

    fn fields(self) -> &'static str {
        match self {
            Kind::Sqs => "{queueUrl, region, roleArn? | accessKey?, accessSecret?}",
            Kind::Sns => "{topicArn, region, roleArn? | accessKey?, accessSecret?}",
            Kind::EventBridge => "{eventBusArn, region, roleArn?}",
        }
    }
}

impl SubscriptionRequest {
    pub fn into_draft(self, rules: &DestinationRules) -> Result<SubscriptionDraft, ApiError> {
        let mut errors = FieldErrors::default();
        if let Some(id) = &self.id {
            errors.check(ids::validate_client_id("id", id));
        }
        let entity_type = errors
            .required("entityType", self.entity_type)
            .and_then(|raw| errors.check(entity_name("entityType", &raw)));
        let flags = [self.subscribe_create, self.subscribe_change, self.subscribe_delete].map(|f| f.unwrap_or(false));
        if !flags.contains(&true) {
            errors.push(
                "subscribeCreate",
                "at least one of subscribeCreate, subscribeChange, subscribeDelete must be true",
            );
        }
        let destination = errors
            .required("destination", self.destination)
            .and_then(|d| d.validate(rules, &mut errors));
        let include_psi = self.include_psi.unwrap_or(false);
        // A bus passes events on to any rule that matches; queues and topics reach
        // only the subscriber, who controls their encryption.
        if include_psi && matches!(destination, Some(Destination::EventBridge { .. })) {
            errors.push(
                "includePsi",
                "is allowed only for SQS and SNS destinations: an event bus passes events on to any matching rule",
            );
        }
        // A pattern's error names its part under `filter` (`filter.data.total[0].numeric`).
        let filter = self
            .filter
            .filter(|f| !f.is_null())
            .and_then(|pattern| errors.check(Filter::parse(&pattern).map_err(|e| e.under("filter"))));
        let rate_limit = self.rate_limit.and_then(|rate| errors.check(rate_limit(rate)));
        let draft = destination
            .zip(entity_type)
            .map(|(destination, entity_type)| SubscriptionDraft {
                id: self.id,
                active: self.active,
                entity_type,
                subscribe_create: flags[0],
                subscribe_change: flags[1],
                subscribe_delete: flags[2],
                include_psi,
                destination,
                filter,
                rate_limit,
                version: self.version,
            });
        errors.finish(draft)
    }
}

/// The most a subscription's rate may be: one lane of the paced queue sends
/// batches of ten one after another (fanout/pacing.rs).
pub const MAX_RATE_LIMIT: u32 = 100;

/// `rateLimit`: 1 to [`MAX_RATE_LIMIT`] messages a second.
fn rate_limit(rate: i64) -> Result<u32, FieldError> {
    u32::try_from(rate)
        .ok()
        .filter(|rate| (1..=MAX_RATE_LIMIT).contains(rate))
        .ok_or_else(|| {
            FieldError::new(
                "rateLimit",
                format!("must be 1 to {MAX_RATE_LIMIT} messages a second (leave it out for no limit); got {rate}"),
            )
        })
}

impl DestinationRequest {
    fn validate(self, rules: &DestinationRules, errors: &mut FieldErrors) -> Option<Destination<SecretInput>> {
        let raw_kind = errors.required("destination.type", self.kind)?;
        let kind = errors.check(
            Kind::ALL
                .into_iter()
                .find(|k| k.name().eq_ignore_ascii_case(&raw_kind))
                .ok_or_else(|| {
                    FieldError::new(
                        "destination.type",
                        format!("unknown type {raw_kind:?}; expected SQS, SNS or EVENTBRIDGE"),
                    )
                }),
        )?;
        let mut blocks = [
            (Kind::Sqs, self.sqs),
            (Kind::Sns, self.sns),
            (Kind::EventBridge, self.event_bridge),
        ];
        for (other, block) in &blocks {
            if *other != kind && block.is_some() {
                errors.push(
                    format!("destination.{}", other.block()),
                    format!(
                        "does not belong to type {}: it is the block of type {}; type {} needs destination.{} {}",
                        kind.name(),
                        other.name(),
                        kind.name(),
                        kind.block(),
                        kind.fields()
                    ),
                );
            }
        }
        let block = blocks.iter_mut().find(|(k, _)| *k == kind).and_then(|(_, b)| b.take());
        let field = format!("destination.{}", kind.block());
        let Some(target) = block else {
            errors.push(
                &field,
                format!("is required for type {}: {}", kind.name(), kind.fields()),
            );
            return None;
        };
        target.validate(kind, &field, rules, errors)
    }
}

impl TargetRequest {
    fn validate(
        self,
        kind: Kind,
        block: &str,
        rules: &DestinationRules,
        errors: &mut FieldErrors,
    ) -> Option<Destination<SecretInput>> {
        let field = |name: &str| format!("{block}.{name}");
        let foreign = [
            ("queueUrl", self.queue_url.is_some() && kind != Kind::Sqs),
            ("topicArn", self.topic_arn.is_some() && kind != Kind::Sns),
            ("eventBusArn", self.event_bus_arn.is_some() && kind != Kind::EventBridge),
            ("accessKey", self.access_key.is_some() && kind == Kind::EventBridge),
            (
                "accessSecret",
                self.access_secret.is_some() && kind == Kind::EventBridge,
            ),
        ];
        for (name, _) in foreign.iter().filter(|(_, present)| *present) {
            errors.push(
                field(name),
                format!("is not a field of a type {} destination {}", kind.name(), kind.fields()),
            );
        }
        let region = errors
            .required(&field("region"), self.region)
            .and_then(|r| errors.check(check_region(&field("region"), &r)).map(|()| r));
        let (access_key, access_secret) = credentials(&field, self.access_key, self.access_secret, errors);
        let role_arn = self
            .role_arn
            .and_then(|arn| errors.check(check_role_arn(&field("roleArn"), &arn)).map(|()| arn));
        if role_arn.is_some() && access_key.is_some() {
            errors.push(
                field("roleArn"),
                "goes without accessKey/accessSecret: give one way to reach the destination",
            );
        }
        let destination = match kind {
            Kind::Sqs => {
                let url = errors.required(&field("queueUrl"), self.queue_url)?;
                let region = region?;
                errors.check(rules.check_queue_url(&field("queueUrl"), &url, &region))?;
                Destination::Sqs {
                    sqs: QueueTarget {
                        queue_url: url,
                        region,
                        role_arn,
                        access_key,
                        access_secret,
                    },
                }
            }
            Kind::Sns => {
                let arn = errors.required(&field("topicArn"), self.topic_arn)?;
                let region = region?;
                errors.check(rules.check_topic_arn(&field("topicArn"), &arn, &region))?;
                Destination::Sns {
                    sns: TopicTarget {
                        topic_arn: arn,
                        region,
                        role_arn,
                        access_key,
                        access_secret,
                    },
                }
            }
            Kind::EventBridge => {
                let arn = errors.required(&field("eventBusArn"), self.event_bus_arn)?;
                let region = region?;
                errors.check(rules.check_event_bus_arn(&field("eventBusArn"), &arn, &region))?;
                Destination::EventBridge {
                    event_bridge: BusTarget {
                        event_bus_arn: arn,
                        region,
                        role_arn,
                    },
                }
            }
        };
        Some(destination)
    }
}

/// Access key and secret come together. A secret left out (or sent back masked)
/// with a key means "keep the stored one".
fn credentials(
    field: &impl Fn(&str) -> String,
    key: Option<String>,
    secret: Option<String>,
    errors: &mut FieldErrors,
) -> (Option<String>, Option<SecretInput>) {
    let secret = secret.map(|s| {
        if s == MASK {
            SecretInput::Keep
        } else {
            SecretInput::Plain(s)
        }
    });
    if let Some(SecretInput::Plain(s)) = &secret
        && (s.is_empty() || s.len() > 128 || s.chars().any(char::is_whitespace))
    {
        errors.push(field("accessSecret"), "must be 1-128 characters without spaces");
    }
    match key {
        Some(key) => {
            if !(16..=128).contains(&key.len()) || !key.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
                errors.push(field("accessKey"), "must be an AWS access key id (16-128 of A-Z, 0-9)");
            }
            (Some(key), Some(secret.unwrap_or(SecretInput::Keep)))
        }
        None => {
            if secret.is_some() {
                errors.push(field("accessKey"), "is required with accessSecret");
            }
            (None, None)
        }
    }
}
