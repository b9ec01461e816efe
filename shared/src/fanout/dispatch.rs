//! Sending a delivery plan: each target's messages in batch calls, all targets at
//! once, each with a client for its region and the subscriber's authority: its
//! own access key, or its role assumed with the tenant as ExternalId
//! (subscriptions/authority.rs). A delivery to a destination its tenant may not
//! name (the stack's own queues, another tenant's account reached with the stack's
//! role, a resource of the stack's account not tagged for the tenant) is refused
//! before any send (the tag read at most once a minute per destination:
//! subscriptions/ownership.rs).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_sqs::config::{Credentials, ProvideCredentials, Region, SharedCredentialsProvider};
use aws_sdk_sqs::error::DisplayErrorContext;
use futures_util::{StreamExt, stream};

use super::eventbridge::EventBridgeSender;
use super::message::{OutgoingMessage, Undelivered};
use super::plan::{AssumedRole, Delivery, DeliveryPlan, Origin, SubscriptionRef, SubscriptionsByTenant, Target};
use super::sns::SnsSender;
use super::sqs::SqsSender;
use crate::secrets::{SealedSecret, SecretSealer};
use crate::subscriptions::ownership::DELIVERY_TTL;
use crate::subscriptions::{DestinationPolicy, Ownership};
use crate::util::ttl_map::TtlMap;

/// How long a client is kept, and a role that would not be assumed remembered.
const CLIENT_TTL: std::time::Duration = std::time::Duration::from_secs(3600);
const REFUSED_ROLE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// Targets sent to at once per invocation.
const TARGETS_AT_ONCE: usize = 32;

/// What a tenant reads when its role could not be assumed.
const ROLE_NOT_ASSUMED: &str = "ROLE_NOT_ASSUMED: roleArn could not be assumed with your tenant id as \
    ExternalId; check the role's trust policy";

/// What a tenant reads when a delivery was refused before any call (then why).
const NOT_ALLOWED: &str = "DESTINATION_NOT_ALLOWED";

/// What it reads when a destination in this service's account is not (or no
/// longer) tagged for it: the same code as for a missing one, so retagging
/// another tenant's queue tells nothing about it.
const NOT_YOURS: &str = "DESTINATION_UNREACHABLE: it does not exist, or is not tagged event-collector:tenant=<your \
    tenant id>";

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

/// A delivery that got through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub origin: Origin,
    /// Failed attempts before this one.
    pub failures: u32,
    /// How long its target's calls took (its batch among them).
    pub latency_ms: u64,
}

/// What sending a plan did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sent {
    pub failed: Vec<Failed>,
    pub delivered: Vec<Delivered>,
}

impl Extend<Sent> for Sent {
    fn extend<I: IntoIterator<Item = Sent>>(&mut self, groups: I) {
        for group in groups {
            self.failed.extend(group.failed);
            self.delivered.extend(group.delivered);
        }
    }
}

/// Clients are cached per region and credentials for the container's life. The
/// sealed secret is part of the key: a changed secret gets a new client, and a
/// key id alone never finds another subscription's client.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    region: Option<String>,
    credentials: Option<(String, SealedSecret)>,
    role: Option<AssumedRole>,
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
    policy: DestinationPolicy,
    /// Whose the stack account's destinations are, by their tags (kept a minute).
    ownership: Ownership,
    /// Clients per region and authority, kept an hour, a bounded number of them
    /// (tenants choose the keys).
    clients: TtlMap<ClientKey, Arc<Clients>>,
    /// Roles that would not be assumed, not asked again for a minute: one
    /// tenant's bad roles must not spend the account's STS quota for the others.
    refused_roles: TtlMap<AssumedRole, ()>,
}

impl<S: SecretSealer> Dispatcher<S> {
    pub fn new(
        base: SdkConfig,
        sealer: S,
        attempts: u32,
        source: impl Into<String>,
        policy: DestinationPolicy,
    ) -> Self {
        Self {
            ownership: Ownership::aws(&base, DELIVERY_TTL),
            base,
            sealer,
            attempts,
            source: source.into(),
            policy,
            clients: TtlMap::new(CLIENT_TTL),
            refused_roles: TtlMap::new(REFUSED_ROLE_TTL),
        }
    }

    /// Sends every group of `plan` concurrently; returns what could not be
    /// delivered, and what was. `subscriptions` holds the current subscriptions,
    /// for their credentials.
    pub async fn send(&self, plan: DeliveryPlan, subscriptions: &SubscriptionsByTenant) -> Sent {
        // A bounded number of targets at once (each sends its batches in turn), so
        // one tenant's many destinations cannot open unbounded connections.
        let groups: Vec<Sent> = stream::iter(plan)
            .map(|(target, deliveries)| self.send_group(target, deliveries, subscriptions))
            .buffer_unordered(TARGETS_AT_ONCE)
            .collect()
            .await;
        let mut sent = Sent::default();
        sent.extend(groups);
        sent
    }

    async fn send_group(
        &self,
        target: Target,
        deliveries: Vec<Delivery>,
        subscriptions: &SubscriptionsByTenant,
    ) -> Sent {
        // Decided once per subscription, not per event: `Some(why)` refused.
        let mut decided: HashMap<SubscriptionRef, Option<String>> = HashMap::new();
        for owner in deliveries.iter().filter_map(|d| d.origin.subscription()) {
            if let Entry::Vacant(undecided) = decided.entry(owner) {
                let refusal = self.allowed(undecided.key(), subscriptions).await.err();
                undecided.insert(refusal);
            }
        }
        let refusal = |delivery: &Delivery| {
            delivery
                .origin
                .subscription()
                .and_then(|owner| decided.get(&owner).cloned().flatten())
        };
        let (deliveries, refused): (Vec<Delivery>, Vec<Delivery>) =
            deliveries.into_iter().partition(|delivery| refusal(delivery).is_none());
        let failed: Vec<Failed> = refused
            .into_iter()
            .map(|delivery| Failed {
                target: target.clone(),
                reason: refusal(&delivery).unwrap_or_default(),
                delivery,
                permanent: false,
            })
            .collect();
        if deliveries.is_empty() {
            return Sent {
                failed,
                delivered: Vec::new(),
            };
        }
        let mut sent = self.send_allowed(target, deliveries, subscriptions).await;
        sent.failed.extend(failed);
        sent
    }

    /// Whether `owner`'s subscription may be delivered to: the same rules as
    /// when it was made, its destination's tag read again; if not, why.
    async fn allowed(&self, owner: &SubscriptionRef, subscriptions: &SubscriptionsByTenant) -> Result<(), String> {
        let subscription = subscriptions
            .get(&owner.tenant)
            .and_then(|all| all.iter().find(|s| s.id == owner.subscription_id))
            .ok_or_else(|| format!("{NOT_ALLOWED}: the subscription is gone"))?;
        self.policy
            .check(&owner.tenant, &subscription.destination, "destination")
            .map_err(|refused| format!("{NOT_ALLOWED}: {} {}", refused.field, refused.message))?;
        if self
            .ownership
            .owned_by(&self.policy, &owner.tenant, &subscription.destination)
            .await
        {
            Ok(())
        } else {
            Err(NOT_YOURS.to_owned())
        }
    }

    async fn send_allowed(
        &self,
        target: Target,
        deliveries: Vec<Delivery>,
        subscriptions: &SubscriptionsByTenant,
    ) -> Sent {
        let started = std::time::Instant::now();
        let clients = match self.clients(&target, subscriptions).await {
            Ok(clients) => clients,
            Err(reason) => {
                let failed = deliveries
                    .into_iter()
                    .map(|delivery| Failed {
                        target: target.clone(),
                        delivery,
                        reason: reason.clone(),
                        permanent: false,
                    })
                    .collect();
                return Sent {
                    failed,
                    delivered: Vec::new(),
                };
            }
        };
        let (messages, mut origins): (Vec<OutgoingMessage>, Vec<_>) = deliveries
            .into_iter()
            .map(|d| (d.message, Some((d.origin, d.failures, d.parked_since))))
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
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let failed = undelivered
            .into_iter()
            .filter_map(
                |Undelivered {
                     index,
                     message,
                     reason,
                     permanent,
                 }| {
                    let (origin, failures, parked_since) = origins.get_mut(index)?.take()?;
                    Some(Failed {
                        target: target.clone(),
                        delivery: Delivery {
                            message,
                            origin,
                            failures,
                            parked_since,
                        },
                        reason,
                        permanent,
                    })
                },
            )
            .collect();
        // What is left got through.
        let delivered = origins
            .into_iter()
            .flatten()
            .map(|(origin, failures, _)| Delivered {
                origin,
                failures,
                latency_ms,
            })
            .collect();
        Sent { failed, delivered }
    }

    async fn clients(&self, target: &Target, subscriptions: &SubscriptionsByTenant) -> Result<Arc<Clients>, String> {
        let (region, owner, role) = match target {
            Target::Queue {
                region,
                credentials,
                role,
                ..
            }
            | Target::Topic {
                region,
                credentials,
                role,
                ..
            } => (Some(region), credentials.as_ref(), role.as_ref()),
            Target::Bus { region, role, .. } => (region.as_ref(), None, role.as_ref()),
        };
        let sealed = owner
            .map(|owner| sealed_credentials(owner, subscriptions))
            .transpose()?;
        let key = ClientKey {
            region: region
                .filter(|r| Some(r.as_str()) != self.base.region().map(Region::as_ref))
                .cloned(),
            credentials: sealed.clone().map(|(_, access_key, secret)| (access_key, secret)),
            role: role.cloned(),
        };
        if let Some(clients) = self.clients.fresh(&key) {
            return Ok(clients);
        }
        if key
            .role
            .as_ref()
            .is_some_and(|role| self.refused_roles.fresh(role).is_some())
        {
            return Err(ROLE_NOT_ASSUMED.to_owned());
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
        } else if let Some(role) = &key.role {
            // Credentials are cached and refreshed before they expire, for the
            // life of this client (and the client for the life of the container).
            let provider = AssumeRoleProvider::builder(&role.role_arn)
                .external_id(role.external_id.as_str())
                // At most 64 characters, as STS takes them.
                .session_name(
                    format!("event-collector-{}", role.external_id)
                        .chars()
                        .take(64)
                        .collect::<String>(),
                )
                .configure(&self.base)
                .build()
                .await;
            // Assumed now, once per client: a role that will not be assumed fails
            // the group with a reason the tenant can act on.
            if let Err(err) = provider.provide_credentials().await {
                tracing::warn!(role = %role.role_arn, tenant = %role.external_id, error = %DisplayErrorContext(&err), "role not assumed");
                self.refused_roles.insert(role.clone(), ());
                return Err(ROLE_NOT_ASSUMED.to_owned());
            }
            config = config.credentials_provider(SharedCredentialsProvider::new(provider));
        }
        let config = config.build();
        let clients = Arc::new(Clients {
            sqs: aws_sdk_sqs::Client::new(&config),
            sns: aws_sdk_sns::Client::new(&config),
            events: aws_sdk_eventbridge::Client::new(&config),
        });
        self.clients.insert(key, clients.clone());
        Ok(clients)
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
