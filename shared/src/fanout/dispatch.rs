//! Sending a delivery plan: each target's messages in batch calls, all targets at
//! once, each with a client for its region and, when the subscription has its own
//! access key, for those credentials.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_config::SdkConfig;
use aws_sdk_sqs::config::{Credentials, Region, SharedCredentialsProvider};
use futures_util::future::join_all;

use super::eventbridge::EventBridgeSender;
use super::message::{OutgoingMessage, Undelivered};
use super::plan::{Delivery, DeliveryPlan, SubscriptionRef, SubscriptionsByTenant, Target};
use super::sns::SnsSender;
use super::sqs::SqsSender;
use crate::secrets::{SealedSecret, SecretSealer};

/// A delivery that did not get through this time, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub target: Target,
    pub delivery: Delivery,
    pub reason: String,
    /// The message itself was refused: it goes to the dead-letter queue at once.
    /// (A destination that is missing or refuses access is retried with backoff:
    /// its owner can fix it.)
    pub permanent: bool,
}

/// Clients are cached per region and credentials for the container's life. The
/// sealed secret is part of the key: a changed secret gets a new client, and a
/// key id alone never finds another subscription's client.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    region: Option<String>,
    credentials: Option<(String, SealedSecret)>,
}

struct Clients {
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
    events: aws_sdk_eventbridge::Client,
}

pub struct Dispatcher<S> {
    base: SdkConfig,
    sealer: S,
    /// Tries per message within one invocation; what still fails is retried later.
    attempts: u32,
    /// `Source` of the EventBridge entries.
    source: String,
    clients: Mutex<HashMap<ClientKey, Arc<Clients>>>,
}

impl<S: SecretSealer> Dispatcher<S> {
    pub fn new(base: SdkConfig, sealer: S, attempts: u32, source: impl Into<String>) -> Self {
        Self {
            base,
            sealer,
            attempts,
            source: source.into(),
            clients: Mutex::default(),
        }
    }

    /// Sends every group of `plan` concurrently; returns what could not be delivered.
    /// `subscriptions` holds the current subscriptions, for their credentials.
    pub async fn send(&self, plan: DeliveryPlan, subscriptions: &SubscriptionsByTenant) -> Vec<Failed> {
        let groups = plan
            .into_iter()
            .map(|(target, deliveries)| self.send_group(target, deliveries, subscriptions));
        join_all(groups).await.into_iter().flatten().collect()
    }

    async fn send_group(
        &self,
        target: Target,
        deliveries: Vec<Delivery>,
        subscriptions: &SubscriptionsByTenant,
    ) -> Vec<Failed> {
        let clients = match self.clients(&target, subscriptions).await {
            Ok(clients) => clients,
            Err(reason) => {
                return deliveries
                    .into_iter()
                    .map(|delivery| Failed {
                        target: target.clone(),
                        delivery,
                        reason: reason.clone(),
                        permanent: false,
                    })
                    .collect();
            }
        };
        let (messages, mut origins): (Vec<OutgoingMessage>, Vec<_>) = deliveries
            .into_iter()
            .map(|d| (d.message, Some((d.origin, d.failures))))
            .unzip();
        let undelivered = match &target {
            Target::Queue { url, .. } => {
                SqsSender::new(clients.sqs.clone(), self.attempts)
                    .send(url, messages)
                    .await
            }
            Target::Topic { arn, .. } => {
                SnsSender::new(clients.sns.clone(), self.attempts)
                    .send(arn, messages)
                    .await
            }
            Target::Bus { bus, .. } => {
                EventBridgeSender::new(clients.events.clone(), self.attempts, &self.source)
                    .send(bus, messages)
                    .await
            }
        };
        undelivered
            .into_iter()
            .filter_map(
                |Undelivered {
                     index,
                     message,
                     reason,
                     permanent,
                 }| {
                    let (origin, failures) = origins.get_mut(index)?.take()?;
                    Some(Failed {
                        target: target.clone(),
                        delivery: Delivery {
                            message,
                            origin,
                            failures,
                        },
                        reason,
                        permanent,
                    })
                },
            )
            .collect()
    }

    async fn clients(&self, target: &Target, subscriptions: &SubscriptionsByTenant) -> Result<Arc<Clients>, String> {
        let (region, owner) = match target {
            Target::Queue {
                region, credentials, ..
            }
            | Target::Topic {
                region, credentials, ..
            } => (Some(region), credentials.as_ref()),
            Target::Bus { region, .. } => (region.as_ref(), None),
        };
        let sealed = owner
            .map(|owner| sealed_credentials(owner, subscriptions))
            .transpose()?;
        let key = ClientKey {
            region: region
                .filter(|r| Some(r.as_str()) != self.base.region().map(Region::as_ref))
                .cloned(),
            credentials: sealed.clone().map(|(_, access_key, secret)| (access_key, secret)),
        };
        if let Some(clients) = self.cached(&key) {
            return Ok(clients);
        }
        let mut config = self.base.to_builder();
        if let Some(region) = &key.region {
            config = config.region(Region::new(region.clone()));
        }
        if let Some((owner, access_key, secret)) = sealed {
            let plaintext = self
                .sealer
                .open(&owner.tenant, &owner.subscription_id, &secret)
                .await
                .map_err(|e| e.to_string())?;
            let credentials = Credentials::new(access_key, plaintext, None, None, "subscription");
            config = config.credentials_provider(SharedCredentialsProvider::new(credentials));
        }
        let config = config.build();
        let clients = Arc::new(Clients {
            sqs: aws_sdk_sqs::Client::new(&config),
            sns: aws_sdk_sns::Client::new(&config),
            events: aws_sdk_eventbridge::Client::new(&config),
        });
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, clients.clone());
        Ok(clients)
    }

    fn cached(&self, key: &ClientKey) -> Option<Arc<Clients>> {
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }
}

/// The access key and sealed secret of the subscription `owner` names.
fn sealed_credentials(
    owner: &SubscriptionRef,
    subscriptions: &SubscriptionsByTenant,
) -> Result<(SubscriptionRef, String, SealedSecret), String> {
    subscriptions
        .get(&owner.tenant)
        .and_then(|all| all.iter().find(|s| s.id == owner.subscription_id))
        .and_then(|s| s.destination.credentials())
        .map(|(key, secret)| (owner.clone(), key.to_owned(), secret.clone()))
        .ok_or_else(|| format!("subscription {} has no stored credentials", owner.subscription_id))
}
