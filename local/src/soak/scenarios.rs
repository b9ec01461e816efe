//! The named fault scenarios, each run under load: what each tenant subscribes,
//! and what breaks while the load runs.

use std::time::Duration;

use super::destinations::Subscriber;
use super::{Context, SoakError};
use crate::faults::{Fault, Injected};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// No fault: the reference for latency and the calls each event costs.
    Steady,
    /// An SQS queue, an SNS topic and a bus deleted, then made again.
    DestinationsBounce,
    /// A queue deleted for good: its events must all end as dead letters.
    DestinationGone,
    /// Destinations throttling or failing a share of their calls, and all of
    /// them refusing access for four seconds.
    FlakyDestinations,
    /// The fan-out, its retry consumer, the projector, the assessor and the
    /// replay worker killed in the middle of batches.
    Crashes,
    /// The subscribers' roles refusing to be assumed for a while.
    RoleRefused,
    /// One tenant with ten times the traffic and many failing subscriptions.
    NoisyTenant,
    /// SendGrid answering 429 and 503 to a share of a notification run's calls.
    SendGridRefusing,
}

impl Scenario {
    pub const ALL: [Self; 8] = [
        Self::Steady,
        Self::DestinationsBounce,
        Self::DestinationGone,
        Self::FlakyDestinations,
        Self::Crashes,
        Self::RoleRefused,
        Self::NoisyTenant,
        Self::SendGridRefusing,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Steady => "steady",
            Self::DestinationsBounce => "destinations-bounce",
            Self::DestinationGone => "destination-gone",
            Self::FlakyDestinations => "flaky-destinations",
            Self::Crashes => "crashes",
            Self::RoleRefused => "role-refused",
            Self::NoisyTenant => "noisy-tenant",
            Self::SendGridRefusing => "sendgrid-refusing",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether it breaks things only the local stack lets the harness break.
    pub fn needs_local_faults(self) -> bool {
        !matches!(self, Self::Steady | Self::DestinationsBounce | Self::DestinationGone)
    }

    /// Whether the scenario also earns and spends loyalty points, and replays
    /// its window to a subscription (under its faults), checking the ledgers
    /// and that the replay finishes. Not `steady`: its calls per event are
    /// those of ORDER events alone.
    pub fn audits(self) -> bool {
        matches!(self, Self::Crashes)
    }

    /// Breaks what the scenario breaks while the load runs for `load`.
    /// `quiet` are the quiet tenants' subscribers, `extra` the scenario's own.
    pub async fn disturb(
        self,
        context: &Context,
        quiet: &[Subscriber],
        extra: &[Subscriber],
        load: Duration,
    ) -> Result<(), SoakError> {
        match self {
            Self::Steady | Self::NoisyTenant => Ok(()),
            Self::SendGridRefusing => {
                let local = context.local.as_ref().ok_or(SoakError::NeedsLocal("sendgrid"))?;
                local.sendgrid.answer_randomly(0.3, 0.2);
                Ok(())
            }
            Self::DestinationGone => {
                for gone in extra {
                    context.arrivals.drain(gone).await;
                    context.accounts.delete(gone).await.map_err(SoakError::Fault)?;
                }
                Ok(())
            }
            Self::DestinationsBounce => {
                tokio::time::sleep(load / 4).await;
                let bounced = bounced(quiet);
                for subscriber in &bounced {
                    context.delete_destination(subscriber).await?;
                }
                tokio::time::sleep(load / 4).await;
                for subscriber in &bounced {
                    context.restore_destination(subscriber).await?;
                }
                Ok(())
            }
            Self::FlakyDestinations => {
                let faults = context.faults()?;
                for (operation, error) in [
                    ("SendMessageBatch", Injected::Throttled),
                    ("PutEvents", Injected::Throttled),
                    ("PublishBatch", Injected::ServerError),
                ] {
                    faults.inject(Fault {
                        name: format!("flaky-{operation}"),
                        function: None,
                        operation: operation.into(),
                        // Every harness destination, none of the stack's own.
                        resource: "--".into(),
                        fraction: 0.3,
                        error,
                    });
                }
                // And every subscriber refusing access for four seconds (a policy
                // briefly wrong): neither the SDK nor the fan-out tries that again
                // at once, so those deliveries go through the retry queue.
                tokio::time::sleep(load / 3).await;
                for operation in ["SendMessageBatch", "PutEvents", "PublishBatch"] {
                    faults.inject(Fault {
                        name: "outage".into(),
                        function: None,
                        operation: operation.into(),
                        resource: "--".into(),
                        fraction: 1.0,
                        error: Injected::AccessDenied,
                    });
                }
                tokio::time::sleep(Duration::from_secs(4)).await;
                faults.lift("outage");
                Ok(())
            }
            Self::Crashes => {
                context.crashes()?.set(0.3, Duration::from_millis(400));
                Ok(())
            }
            Self::RoleRefused => {
                let faults = context.faults()?;
                faults.inject(Fault {
                    name: "role-refused".into(),
                    function: None,
                    operation: "AssumeRole".into(),
                    resource: "-deliveries".into(),
                    fraction: 1.0,
                    error: Injected::AccessDenied,
                });
                tokio::time::sleep(load * 2 / 5).await;
                faults.lift("role-refused");
                Ok(())
            }
        }
    }
}

/// One destination of each kind that can be deleted and made again, each of
/// another tenant where there are several.
fn bounced(quiet: &[Subscriber]) -> Vec<Subscriber> {
    use super::destinations::Kind;
    let mut tenants: Vec<&str> = quiet.iter().map(|s| s.tenant.as_str()).collect();
    tenants.dedup();
    [Kind::Sqs, Kind::Sns, Kind::Bus]
        .into_iter()
        .enumerate()
        .filter_map(|(i, kind)| {
            let tenant = tenants.get(i % tenants.len().max(1))?;
            quiet.iter().find(|s| s.kind == kind && s.tenant == *tenant).cloned()
        })
        .collect()
}
