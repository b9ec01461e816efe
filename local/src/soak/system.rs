//! The system under test, in this process: the stack in the emulator with IAM
//! enforced, its API on a loopback port, and its stream and queue consumers
//! running as the event source mappings run them, with faults and crashes the
//! harness can turn on. The retry schedule is compressed (1 s base delay, six
//! failures, a 10 s circuit cool-off) so a run sees retries and dead letters within minutes.

use std::sync::Arc;

use aws_config::SdkConfig;
use shared::notifications::NotificationRunner;
use shared::sendgrid::{RetryPolicy, SendGrid};
use tokio::net::TcpListener;

use super::SoakError;
use super::destinations::SUBSCRIBER_ACCOUNT;
use crate::crash::Crashes;
use crate::event_sources;
use crate::faults::Faults;
use crate::gateway::{self, Gateway, LocalAuth};
use crate::iam::AccessLog;
use crate::provision;
use crate::sendgrid_stub::SendGridStub;

pub struct LocalSystem {
    /// Where notification-job sends (answers can be made to fail).
    pub sendgrid: SendGridStub,
    /// notification-job, invoked by the harness as Scheduler would.
    pub notifications: NotificationRunner,
    pub faults: Faults,
    pub crashes: Crashes,
    /// Every AWS call the functions made.
    pub calls: AccessLog,
    /// The API's base URL.
    pub url: String,
}

impl LocalSystem {
    pub async fn start(sdk: &SdkConfig, name: &str) -> Result<Self, SoakError> {
        let setup = |e: String| SoakError::Setup(e);
        let stack = provision::create_stack(sdk, name)
            .await
            .map_err(|e| setup(e.to_string()))?
            .enforcing_iam()
            .await
            .map_err(setup)?
            .with_parameter("RetryBaseDelaySeconds", "1")
            .and_then(|s| s.with_parameter("RetryMaxFailures", "6"))
            // Open circuits probe once per cool-off and invocation: at the
            // compressed retries' 2 s, the noisy tenant's fifty failing
            // subscriptions made about fifty probes a second (deployed: about
            // one), and the emulator served little else.
            .and_then(|s| s.with_parameter("CircuitCoolOffSeconds", "10"))
            .map_err(setup)?;
        let (Some(faults), Some(calls), Some(trusts)) = (
            stack.faults().cloned(),
            stack.access_log().cloned(),
            stack.trust_policies(),
        ) else {
            return Err(setup("IAM is not enforced".into()));
        };
        trusts.trust_by_name_in(SUBSCRIBER_ACCOUNT);
        let crashes = Crashes::default();
        event_sources::start_event_consumers(sdk, &stack, &crashes)
            .await
            .map_err(setup)?;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| setup(e.to_string()))?;
        let url = format!("http://{}", listener.local_addr().map_err(|e| setup(e.to_string()))?);
        let gateway = Arc::new(Gateway {
            functions: stack.functions().without_authentication(),
            auth: LocalAuth::Off,
            jobs: None,
        });
        tokio::spawn(gateway::serve(listener, gateway));
        let sendgrid = SendGridStub::start().await.map_err(|e| setup(e.to_string()))?;
        // SendGrid's client as deployed, its backoff shortened to the harness's pace.
        let retry = RetryPolicy {
            attempts: 3,
            base_delay: std::time::Duration::from_millis(20),
        };
        let client = SendGrid::new(&sendgrid.url, retry).map_err(|e| setup(e.to_string()))?;
        let notifications = stack
            .notification_runner(client)
            .await
            .map_err(|e| setup(e.to_string()))?;
        Ok(Self {
            sendgrid,
            notifications,
            faults,
            crashes,
            calls,
            url,
        })
    }
}
