//! A subscription as stored and returned, with the seed's camelCase field names.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::secrets::SealedSecret;
use crate::util::rfc3339_millis;

/// How a request gives a subscriber secret: a new plaintext, or "keep the stored
/// one" (left out, or sent back masked as a response showed it).
#[derive(Clone, PartialEq, Eq)]
pub enum SecretInput {
    Plain(String),
    Keep,
}

/// Never prints the plaintext, whatever logs a draft.
impl std::fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Plain(_) => "Plain(****)",
            Self::Keep => "Keep",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueTarget<S = SealedSecret> {
    pub queue_url: String,
    pub region: String,
    /// A role in the subscriber's account that this service assumes, with the
    /// tenant id as ExternalId, to deliver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_secret: Option<S>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicTarget<S = SealedSecret> {
    pub topic_arn: String,
    pub region: String,
    /// A role in the subscriber's account that this service assumes, with the
    /// tenant id as ExternalId, to deliver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_secret: Option<S>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusTarget {
    pub event_bus_arn: String,
    pub region: String,
    /// A role in the subscriber's account that this service assumes, with the
    /// tenant id as ExternalId, to deliver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
}

/// `{"type": "SQS", "sqs": {...}}`: the type names which block carries the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Destination<S = SealedSecret> {
    #[serde(rename = "SQS")]
    Sqs { sqs: QueueTarget<S> },
    #[serde(rename = "SNS")]
    Sns { sns: TopicTarget<S> },
    #[serde(rename = "EVENTBRIDGE")]
    EventBridge {
        #[serde(rename = "eventBridge")]
        event_bridge: BusTarget,
    },
}

impl<S> Destination<S> {
    /// The subscriber's own access key and secret, when it has them.
    pub fn credentials(&self) -> Option<(&str, &S)> {
        let (key, secret) = match self {
            Self::Sqs { sqs } => (&sqs.access_key, &sqs.access_secret),
            Self::Sns { sns } => (&sns.access_key, &sns.access_secret),
            Self::EventBridge { .. } => return None,
        };
        key.as_deref().zip(secret.as_ref())
    }

    /// The role this service assumes to deliver, when the subscriber gave one.
    pub fn role_arn(&self) -> Option<&str> {
        match self {
            Self::Sqs { sqs } => sqs.role_arn.as_deref(),
            Self::Sns { sns } => sns.role_arn.as_deref(),
            Self::EventBridge { event_bridge } => event_bridge.role_arn.as_deref(),
        }
    }

    /// The queue URL, topic ARN or bus ARN, and the name of its field.
    pub fn address(&self) -> (&str, &'static str) {
        match self {
            Self::Sqs { sqs } => (&sqs.queue_url, "queueUrl"),
            Self::Sns { sns } => (&sns.topic_arn, "topicArn"),
            Self::EventBridge { event_bridge } => (&event_bridge.event_bus_arn, "eventBusArn"),
        }
    }

    /// The region the target is in.
    pub fn region(&self) -> &str {
        match self {
            Self::Sqs { sqs } => &sqs.region,
            Self::Sns { sns } => &sns.region,
            Self::EventBridge { event_bridge } => &event_bridge.region,
        }
    }

    /// The name of the block that carries the target: `sqs`, `sns`, `eventBridge`.
    pub fn block(&self) -> &'static str {
        match self {
            Self::Sqs { .. } => "sqs",
            Self::Sns { .. } => "sns",
            Self::EventBridge { .. } => "eventBridge",
        }
    }

    /// The same target with its secret replaced.
    pub fn with_secret<T>(self, secret: Option<T>) -> Destination<T> {
        match self {
            Self::Sqs { sqs } => Destination::Sqs {
                sqs: QueueTarget {
                    queue_url: sqs.queue_url,
                    region: sqs.region,
                    role_arn: sqs.role_arn,
                    access_key: sqs.access_key,
                    access_secret: secret,
                },
            },
            Self::Sns { sns } => Destination::Sns {
                sns: TopicTarget {
                    topic_arn: sns.topic_arn,
                    region: sns.region,
                    role_arn: sns.role_arn,
                    access_key: sns.access_key,
                    access_secret: secret,
                },
            },
            Self::EventBridge { event_bridge } => Destination::EventBridge { event_bridge },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: String,
    pub active: bool,
    /// The `entity_name` of the events it follows, upper case.
    pub entity_type: String,
    pub subscribe_create: bool,
    pub subscribe_change: bool,
    pub subscribe_delete: bool,
    /// Whether messages carry the payload fields an event definition marks as
    /// sensitive (PSI); masked otherwise. SQS and SNS destinations only.
    #[serde(default)]
    pub include_psi: bool,
    pub destination: Destination,
    /// Its content filter: an EventBridge event pattern the envelope must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<super::Filter>,
    /// Messages a second it takes at most (fanout/pacing.rs); none: as they come.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339_millis")]
    pub updated_at: DateTime<Utc>,
    /// Server-set: how delivery to the destination is going. Every create and
    /// update starts it afresh; fan-out updates it in place.
    #[serde(default)]
    pub delivery: DeliveryHealth,
}

/// Deliveries that failed in a row (each one went to the retry queue or the
/// dead-letter queue), the last failure, and since when they have failed
/// without a break; a subscription failing for too long is deactivated, and
/// says when and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryHealth {
    pub consecutive_failures: u64,
    pub last_error: Option<String>,
    #[serde(default, with = "rfc3339_millis::option")]
    pub last_failure_at: Option<DateTime<Utc>>,
    #[serde(default, with = "rfc3339_millis::option", skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<DateTime<Utc>>,
    #[serde(default, with = "rfc3339_millis::option", skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// Until when its deliveries are kept untried as dead letters (the circuit
    /// breaker, fanout/circuit.rs); past: half open, one probe an invocation;
    /// absent: they are tried.
    #[serde(default, with = "rfc3339_millis::option", skip_serializing_if = "Option::is_none")]
    pub circuit_open_until: Option<DateTime<Utc>>,
}

impl Subscription {
    /// The subscription as responses show it: the secret masked, never the ciphertext.
    pub fn masked(&self) -> Self {
        let secret = self.destination.credentials().map(|_| SealedSecret::masked());
        Self {
            destination: self.destination.clone().with_secret(secret),
            ..self.clone()
        }
    }
}
