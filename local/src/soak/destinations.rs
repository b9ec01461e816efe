//! The subscribers the harness creates for each tenant, one of every kind of
//! destination, each with the queue the harness reads what arrives from (its
//! inbox): an SQS queue, a FIFO queue, an SNS topic and an EventBridge bus (each
//! forwarding to a queue), and a queue in another account reached through the
//! tenant's role. Also the faults that need the destination itself: deleting
//! and restoring it.

use aws_config::SdkConfig;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};
use shared::subscriptions::TENANT_TAG;

use super::SoakError;
use super::api::Api;

/// The account the harness's cross-account destinations live in: its roles
/// `<tenant>-deliveries` trust the stack when it presents that tenant.
pub const SUBSCRIBER_ACCOUNT: &str = "111111111111";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Sqs,
    Fifo,
    Sns,
    Bus,
    /// An SQS queue in the subscriber's own account, through its role.
    CrossAccount,
    /// A queue that never existed: every delivery fails.
    Missing,
}

impl Kind {
    /// One of every kind that can receive.
    pub const RECEIVING: [Self; 5] = [Self::Sqs, Self::Fifo, Self::Sns, Self::Bus, Self::CrossAccount];

    /// The operations that deliver to this kind of destination.
    pub fn delivered_by(self) -> &'static [&'static str] {
        match self {
            Self::Sqs | Self::Fifo | Self::CrossAccount | Self::Missing => &["SendMessageBatch", "SendMessage"],
            Self::Sns => &["PublishBatch", "Publish"],
            Self::Bus => &["PutEvents"],
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Sqs => "sqs",
            Self::Fifo => "sqs-fifo",
            Self::Sns => "sns",
            Self::Bus => "bus",
            Self::CrossAccount => "cross-account",
            Self::Missing => "missing",
        }
    }
}

/// Where the harness reads a subscriber's arrivals.
#[derive(Clone)]
pub struct Inbox {
    pub sqs: aws_sdk_sqs::Client,
    pub url: String,
}

/// One subscription and what it delivers to.
#[derive(Clone)]
pub struct Subscriber {
    pub tenant: String,
    pub kind: Kind,
    /// The destination's name (queue, topic or bus), unique in the run.
    pub name: String,
    pub subscription_id: String,
    /// `None` for a destination that receives nothing.
    pub inbox: Option<Inbox>,
}

/// The SDK clients destinations are made with: the stack's account and the
/// subscriber's.
pub struct Accounts {
    pub region: String,
    own: SdkConfig,
    /// The subscriber's own account; `None` against a deployed stack.
    subscriber: Option<SdkConfig>,
}

impl Accounts {
    /// The emulator's accounts: the stack's and the subscriber's.
    pub async fn local(sdk: &SdkConfig) -> Result<Self, SoakError> {
        let subscriber = crate::provision::account_of_role(sdk, SUBSCRIBER_ACCOUNT)
            .await
            .map_err(SoakError::Setup)?;
        Ok(Self {
            subscriber: Some(subscriber),
            ..Self::deployed(sdk)
        })
    }

    /// The account `sdk` signs for (a deployed stack's, or one it may deliver to).
    pub fn deployed(sdk: &SdkConfig) -> Self {
        Self {
            region: sdk.region().map_or("us-east-1".into(), ToString::to_string),
            own: sdk.clone(),
            subscriber: None,
        }
    }

    /// The kinds of destination these accounts can make.
    pub fn kinds(&self) -> Vec<Kind> {
        Kind::RECEIVING
            .into_iter()
            .filter(|kind| *kind != Kind::CrossAccount || self.subscriber.is_some())
            .collect()
    }

    fn sqs(&self, kind: Kind) -> aws_sdk_sqs::Client {
        match (&self.subscriber, kind) {
            (Some(subscriber), Kind::CrossAccount) => aws_sdk_sqs::Client::new(subscriber),
            _ => aws_sdk_sqs::Client::new(&self.own),
        }
    }

    /// Creates a `kind` destination called `name` for `tenant` and subscribes it
    /// to the tenant's ORDER creates.
    pub async fn subscribe(&self, api: &Api, tenant: &str, kind: Kind, name: &str) -> Result<Subscriber, SoakError> {
        let (destination, inbox) = self.create(tenant, kind, name).await.map_err(SoakError::Setup)?;
        let body = json!({"entityType": "ORDER", "subscribeCreate": true, "destination": destination});
        let answer = api.post(tenant, "/api/v1/event-subscription", &body).await?;
        let Some(subscription_id) = answer.body["id"].as_str().filter(|_| answer.status == 201) else {
            return Err(SoakError::Setup(format!(
                "subscribing {name} for {tenant}: {} {}",
                answer.status, answer.body
            )));
        };
        if kind == Kind::Missing {
            let url = destination["sqs"]["queueUrl"].as_str().unwrap_or_default();
            self.sqs(Kind::Sqs)
                .delete_queue()
                .queue_url(url)
                .send()
                .await
                .map_err(|e| SoakError::Setup(DisplayErrorContext(e).to_string()))?;
        }
        Ok(Subscriber {
            tenant: tenant.to_owned(),
            kind,
            name: name.to_owned(),
            subscription_id: subscription_id.to_owned(),
            inbox,
        })
    }

    /// The destination block of a subscription to a new `kind` called `name`,
    /// tagged as `tenant`'s, and its inbox.
    async fn create(&self, tenant: &str, kind: Kind, name: &str) -> Result<(Value, Option<Inbox>), String> {
        let region = &self.region;
        match kind {
            Kind::Sqs | Kind::Fifo | Kind::CrossAccount => {
                let inbox = self.queue(tenant, kind, name).await?;
                let mut sqs = json!({"queueUrl": inbox.url, "region": region});
                if kind == Kind::CrossAccount {
                    sqs["roleArn"] = json!(role_of_tenant_queue(name));
                }
                Ok((json!({"type": "SQS", "sqs": sqs}), Some(inbox)))
            }
            // Made (tagged, so the subscription is accepted) and deleted once subscribed.
            Kind::Missing => {
                let url = self.queue(tenant, Kind::Sqs, name).await?.url;
                Ok((json!({"type": "SQS", "sqs": {"queueUrl": url, "region": region}}), None))
            }
            Kind::Sns => {
                let inbox = self.queue(tenant, Kind::Sqs, &format!("{name}-inbox")).await?;
                let topic_arn = self.topic(tenant, name, &inbox).await?;
                Ok((
                    json!({"type": "SNS", "sns": {"topicArn": topic_arn, "region": region}}),
                    Some(inbox),
                ))
            }
            Kind::Bus => {
                let inbox = self.queue(tenant, Kind::Sqs, &format!("{name}-inbox")).await?;
                let bus_arn = self.bus(tenant, name, &inbox).await?;
                Ok((
                    json!({"type": "EVENTBRIDGE", "eventBridge": {"eventBusArn": bus_arn, "region": region}}),
                    Some(inbox),
                ))
            }
        }
    }

    async fn queue(&self, tenant: &str, kind: Kind, name: &str) -> Result<Inbox, String> {
        let sqs = self.sqs(kind);
        let mut create = sqs.create_queue().tags(TENANT_TAG, tenant);
        if kind == Kind::Fifo {
            create = create
                .queue_name(format!("{name}.fifo"))
                .attributes(QueueAttributeName::FifoQueue, "true");
        } else {
            create = create.queue_name(name);
        }
        let url = create
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?
            .queue_url
            .ok_or("SQS returned no queue URL")?;
        Ok(Inbox { sqs, url })
    }

    /// Topic `name`, `tenant`'s, delivering raw messages to `inbox`.
    async fn topic(&self, tenant: &str, name: &str, inbox: &Inbox) -> Result<String, String> {
        let sns = aws_sdk_sns::Client::new(&self.own);
        let tag = aws_sdk_sns::types::Tag::builder()
            .key(TENANT_TAG)
            .value(tenant)
            .build()
            .map_err(|e| e.to_string())?;
        let topic_arn = sns
            .create_topic()
            .name(name)
            .tags(tag)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?
            .topic_arn
            .ok_or("SNS returned no topic ARN")?;
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(self.queue_arn(&inbox.url))
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
        Ok(topic_arn)
    }

    /// Bus `name`, `tenant`'s, with a rule sending all it gets to `inbox`.
    async fn bus(&self, tenant: &str, name: &str, inbox: &Inbox) -> Result<String, String> {
        let events = aws_sdk_eventbridge::Client::new(&self.own);
        let tag = aws_sdk_eventbridge::types::Tag::builder()
            .key(TENANT_TAG)
            .value(tenant)
            .build()
            .map_err(|e| e.to_string())?;
        let bus_arn = events
            .create_event_bus()
            .name(name)
            .tags(tag)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?
            .event_bus_arn
            .ok_or("EventBridge returned no bus ARN")?;
        events
            .put_rule()
            .name(format!("{name}-all"))
            .event_bus_name(name)
            .event_pattern(json!({"source": [{"prefix": ""}]}).to_string())
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
        let target = aws_sdk_eventbridge::types::Target::builder()
            .id("inbox")
            .arn(self.queue_arn(&inbox.url))
            .build()
            .map_err(|e| e.to_string())?;
        events
            .put_targets()
            .rule(format!("{name}-all"))
            .event_bus_name(name)
            .targets(target)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
        Ok(bus_arn)
    }

    /// A queue's ARN from its URL (`…/<account>/<name>`).
    fn queue_arn(&self, url: &str) -> String {
        let mut parts = url.rsplit('/');
        let name = parts.next().unwrap_or_default();
        let account = parts.next().unwrap_or_default();
        format!("arn:aws:sqs:{}:{account}:{name}", self.region)
    }

    /// Deletes `subscriber`'s destination (its inbox too, for a queue: a deleted
    /// queue takes what it held with it, so read it first).
    pub async fn delete(&self, subscriber: &Subscriber) -> Result<(), String> {
        let name = &subscriber.name;
        match subscriber.kind {
            Kind::Sqs | Kind::Fifo | Kind::CrossAccount => {
                let inbox = subscriber.inbox.as_ref().ok_or("no inbox")?;
                inbox
                    .sqs
                    .delete_queue()
                    .queue_url(&inbox.url)
                    .send()
                    .await
                    .map_err(|e| DisplayErrorContext(e).to_string())?;
            }
            Kind::Sns => {
                let sns = aws_sdk_sns::Client::new(&self.own);
                sns.delete_topic()
                    .topic_arn(format!(
                        "arn:aws:sns:{}:{}:{name}",
                        self.region,
                        own_account(subscriber)?
                    ))
                    .send()
                    .await
                    .map_err(|e| DisplayErrorContext(e).to_string())?;
            }
            Kind::Bus => {
                let events = aws_sdk_eventbridge::Client::new(&self.own);
                let rule = format!("{name}-all");
                events
                    .remove_targets()
                    .rule(&rule)
                    .event_bus_name(name)
                    .ids("inbox")
                    .send()
                    .await
                    .map_err(|e| DisplayErrorContext(e).to_string())?;
                events
                    .delete_rule()
                    .name(&rule)
                    .event_bus_name(name)
                    .send()
                    .await
                    .map_err(|e| DisplayErrorContext(e).to_string())?;
                events
                    .delete_event_bus()
                    .name(name)
                    .send()
                    .await
                    .map_err(|e| DisplayErrorContext(e).to_string())?;
            }
            Kind::Missing => {}
        }
        Ok(())
    }

    /// Makes `subscriber`'s destination again, under the same name (so the same
    /// URL or ARN), forwarding to the same inbox.
    pub async fn restore(&self, subscriber: &Subscriber) -> Result<(), String> {
        let inbox = subscriber.inbox.as_ref().ok_or("no inbox")?;
        match subscriber.kind {
            Kind::Sqs | Kind::Fifo | Kind::CrossAccount => {
                self.queue(&subscriber.tenant, subscriber.kind, &subscriber.name)
                    .await?;
            }
            Kind::Sns => {
                self.topic(&subscriber.tenant, &subscriber.name, inbox).await?;
            }
            Kind::Bus => {
                self.bus(&subscriber.tenant, &subscriber.name, inbox).await?;
            }
            Kind::Missing => {}
        }
        Ok(())
    }
}

/// The role a cross-account queue is reached through: `<tenant>-deliveries` in
/// the subscriber's account (queue names start with their tenant).
fn role_of_tenant_queue(name: &str) -> String {
    let tenant = name.split_once("--").map_or(name, |(tenant, _)| tenant);
    format!("arn:aws:iam::{SUBSCRIBER_ACCOUNT}:role/{tenant}-deliveries")
}

/// The account in a subscriber's inbox URL (`…/<account>/<name>`).
fn own_account(subscriber: &Subscriber) -> Result<String, String> {
    let url = &subscriber.inbox.as_ref().ok_or("no inbox")?.url;
    let mut parts = url.rsplit('/');
    parts.next();
    parts
        .next()
        .map(str::to_owned)
        .ok_or_else(|| format!("no account in {url}"))
}

/// The name of the destination `kind` of `tenant` in a run.
pub fn name_of(tenant: &str, kind: Kind, index: usize) -> String {
    format!("{tenant}--{}-{index}", kind.label())
}
