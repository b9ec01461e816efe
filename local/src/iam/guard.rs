//! The local stack's stand-in for IAM: an HTTP client, installed in one function's
//! `SdkConfig`, that checks every request that function's clients send against the
//! function's policy in template.yaml before it reaches the emulator. A refused
//! call gets AccessDenied in the service's own error format, as from AWS, and is
//! recorded, so a test fails even where the code would swallow the error.
//! Calls signed with another key (a subscriber's own credentials) are that key's
//! authority, not the function's, and pass. A statement that asks about the
//! resource's tags (`aws:ResourceTag/…`) has them read from the emulator first.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

use super::policy::Policy;
use super::request::{self, Scope};
use super::{entries, limits};
use crate::faults::{Faults, Injected};
use crate::template::FunctionPolicies;

/// Every call the guarded functions made, and every call IAM would have refused.
#[derive(Debug, Clone, Default)]
pub struct AccessLog(Arc<Mutex<Log>>);

#[derive(Debug, Default)]
struct Log {
    /// (function, operation, entries), in order.
    calls: Vec<(String, String, usize)>,
    refused: Vec<String>,
    /// Calls answered by the emulator since the last take, and the time they took.
    answered: (usize, Duration),
}

impl AccessLog {
    fn with<T>(&self, f: impl FnOnce(&mut Log) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The operations made since the last take, in order.
    pub fn take(&self) -> Vec<String> {
        self.take_counted()
            .into_iter()
            .map(|(_, operation, _)| operation)
            .collect()
    }

    /// The (function, operation) pairs made since the last take.
    pub fn take_calls(&self) -> Vec<(String, String)> {
        self.take_counted()
            .into_iter()
            .map(|(function, operation, _)| (function, operation))
            .collect()
    }

    /// The (function, operation, entries) of each call since the last take
    /// (see `entries`: what AWS bills by).
    pub fn take_counted(&self) -> Vec<(String, String, usize)> {
        self.with(|log| std::mem::take(&mut log.calls))
    }

    /// How many calls the emulator answered since the last take, and their mean
    /// time: how busy the emulator (one Python core) was.
    pub fn take_latency(&self) -> (usize, Duration) {
        let (calls, total) = self.with(|log| std::mem::take(&mut log.answered));
        (calls, total / u32::try_from(calls.max(1)).unwrap_or(u32::MAX))
    }

    /// Why each refused call was refused.
    pub fn refused(&self) -> Vec<String> {
        self.with(|log| log.refused.clone())
    }

    /// The refusals so far, forgotten: for a test that provokes them on purpose.
    pub fn take_refused(&self) -> Vec<String> {
        self.with(|log| std::mem::take(&mut log.refused))
    }
}

/// Subscribers' roles and the ExternalId their trust policies ask for (moto
/// checks no trust policy): AssumeRole of any other role, or with another
/// ExternalId, is refused as AWS would refuse it.
#[derive(Debug, Clone, Default)]
pub struct TrustPolicies(Arc<Mutex<BTreeMap<String, String>>>, Arc<Mutex<Option<String>>>);

impl TrustPolicies {
    /// Every role `<tenant>-deliveries` of `account` trusts the stack when it gives
    /// `<tenant>` (the local run's demo subscriber account).
    pub fn trust_by_name_in(&self, account: &str) {
        *self.1.lock().unwrap_or_else(PoisonError::into_inner) = Some(account.to_owned());
    }

    /// `role` trusts the stack's role when it gives `external_id`.
    pub fn trust(&self, role: &str, external_id: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(role.to_owned(), external_id.to_owned());
    }

    fn allows(&self, role: &str, external_id: Option<&str>) -> bool {
        let by_name = self.1.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let named = by_name.and_then(|account| {
            let name = role.strip_prefix(&format!("arn:aws:iam::{account}:role/"))?;
            Some(name.strip_suffix("-deliveries")?.to_owned())
        });
        if let Some(tenant) = named {
            return Some(tenant.as_str()) == external_id;
        }
        let trusts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        trusts
            .get(role)
            .is_some_and(|wanted| Some(wanted.as_str()) == external_id)
    }
}

/// Hands out guarded SDK configurations, one per function.
#[derive(Debug, Clone)]
pub struct Enforcer {
    policies: Arc<FunctionPolicies>,
    scope: Scope,
    own_key: String,
    /// Reads resources' tags, unguarded.
    sdk: SdkConfig,
    inner: SharedHttpClient,
    pub log: AccessLog,
    pub trusts: TrustPolicies,
    pub faults: Faults,
}

impl Enforcer {
    /// `sdk` supplies the functions' own credentials: calls signed with them are
    /// checked.
    pub async fn new(policies: FunctionPolicies, scope: Scope, sdk: &SdkConfig) -> Result<Self, String> {
        let provider = sdk.credentials_provider().ok_or("the SDK config has no credentials")?;
        let credentials = provider.provide_credentials().await.map_err(|e| e.to_string())?;
        Ok(Self {
            policies: Arc::new(policies),
            scope,
            own_key: credentials.access_key_id().to_owned(),
            sdk: sdk.clone(),
            inner: aws_smithy_http_client::Builder::new().build_http(),
            log: AccessLog::default(),
            trusts: TrustPolicies::default(),
            faults: Faults::default(),
        })
    }

    /// `sdk` for `function`: every call its clients make is held to its policy. A
    /// function the template does not declare may do nothing.
    pub fn guard(&self, function: &str, sdk: &SdkConfig) -> SdkConfig {
        self.guard_as(function, false, sdk)
    }

    /// `sdk` for the event source mapping that feeds `function`: Lambda's poller
    /// reads the stream or queue with the function's role, so every call is held
    /// to the function's policy too. Its calls are not the function's own: they
    /// are not counted, timed or broken by injected faults, only refused.
    pub fn guard_mapping(&self, function: &str, sdk: &SdkConfig) -> SdkConfig {
        self.guard_as(function, true, sdk)
    }

    fn guard_as(&self, function: &str, mapping: bool, sdk: &SdkConfig) -> SdkConfig {
        let guard = Guard(Arc::new(Check {
            function: if mapping {
                format!("{function} (event source mapping)")
            } else {
                function.to_owned()
            },
            mapping,
            policy: self.policies.of(function).cloned().unwrap_or_default(),
            scope: self.scope.clone(),
            own_key: self.own_key.clone(),
            sdk: self.sdk.clone(),
            log: self.log.clone(),
            trusts: self.trusts.clone(),
            faults: self.faults.clone(),
        }));
        sdk.to_builder()
            .http_client(GuardedClient {
                guard,
                inner: self.inner.clone(),
            })
            .build()
    }
}

#[derive(Debug)]
struct Check {
    function: String,
    /// An event source mapping's poller, not the function's code.
    mapping: bool,
    policy: Policy,
    scope: Scope,
    own_key: String,
    sdk: SdkConfig,
    log: AccessLog,
    trusts: TrustPolicies,
    faults: Faults,
}

#[derive(Debug, Clone)]
struct Guard(Arc<Check>);

#[derive(Debug)]
struct GuardedClient {
    guard: Guard,
    inner: SharedHttpClient,
}

impl HttpClient for GuardedClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(GuardedConnector {
            guard: self.guard.clone(),
            inner: self.inner.http_connector(settings, components),
        })
    }
}

#[derive(Debug)]
struct GuardedConnector {
    guard: Guard,
    inner: SharedHttpConnector,
}

impl HttpConnector for GuardedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let check = self.guard.0.clone();
        match check.admit(&request) {
            Ok(Admission::Now) => forward(&self.inner, check.timed_log(), request),
            Ok(Admission::AfterTags(call, protocol)) => {
                let inner = self.inner.clone();
                HttpConnectorFuture::new(async move {
                    // A resource whose tags cannot be read is gone: the emulator
                    // answers for it (not found), as AWS would, with no refusal
                    // recorded against the template.
                    let operation = call.operation.clone();
                    let decided = match check.with_resource_tags(call).await {
                        Some(call) => check.decide(&call, protocol),
                        None => Ok(()),
                    }
                    .and_then(|()| check.injected(&operation, protocol, &request).map_or(Ok(()), Err));
                    match decided {
                        Ok(()) => forward(&inner, check.timed_log(), request).await,
                        Err(refusal) => Ok(refusal.response()),
                    }
                })
            }
            Err(refusal) => HttpConnectorFuture::ready(Ok(refusal.response())),
        }
    }
}

/// The path of a request's URI, which is absolute (the emulator's address in
/// front), without its query.
fn path_of(uri: &str) -> &str {
    let path = uri.split_once('?').map_or(uri, |(path, _)| path);
    path.find("://").map_or(path, |scheme| {
        let rest = &path[scheme + 3..];
        rest.find('/').map_or("/", |slash| &rest[slash..])
    })
}

/// Sends `request` on to the emulator, timing its answer in `log` (if any).
fn forward(inner: &SharedHttpConnector, log: Option<AccessLog>, request: HttpRequest) -> HttpConnectorFuture {
    let answer = inner.call(request);
    HttpConnectorFuture::new(async move {
        let started = Instant::now();
        let answered = answer.await;
        if let Some(log) = log {
            log.with(|log| {
                log.answered.0 += 1;
                log.answered.1 += started.elapsed();
            });
        }
        answered
    })
}

/// What `admit` decided.
enum Admission {
    Now,
    /// Decided once the resources' tags are known (`Check::decide`).
    AfterTags(request::Call, Protocol),
}

impl Check {
    /// Where the emulator's answers are timed: not for a mapping's polls.
    fn timed_log(&self) -> Option<AccessLog> {
        (!self.mapping).then(|| self.log.clone())
    }

    fn admit(&self, http: &HttpRequest) -> Result<Admission, Refusal> {
        let query = http.uri().split_once('?').map_or("", |(_, query)| query);
        let path = path_of(http.uri());
        let request = request::Request {
            method: http.method(),
            path,
            query,
            target: http.headers().get("x-amz-target"),
            body: http.body().bytes().unwrap_or_default(),
        };
        let protocol = Protocol::of(&request);
        let call = request::call(&request, &self.scope).map_err(|reason| self.refuse(protocol, reason))?;
        limits::check(&request).map_err(|breach| {
            let mut refusal = self.refuse(protocol, format!("{}: {}", call.operation, breach.message));
            refusal.answer = Answer::Limit(breach.code);
            refusal
        })?;
        let signer = http
            .headers()
            .get("authorization")
            .and_then(|auth| auth.split("Credential=").nth(1))
            .and_then(|credential| credential.split('/').next())
            .unwrap_or_default();
        let entries = entries::entries(&call.operation, request.body);
        if !self.mapping {
            self.log
                .with(|log| log.calls.push((self.function.clone(), call.operation.clone(), entries)));
        }
        // Another key's authority (a subscriber's own credentials), not the role's.
        // An unsigned request is checked like the role's own.
        let others = !signer.is_empty() && signer != self.own_key;
        if !others && call.needs.iter().any(|need| self.policy.asks_resource_tags(need)) {
            // Faults are looked at once the tags are read, just before the call
            // goes on: one injected meanwhile (a destination being made again)
            // must still break it.
            return Ok(Admission::AfterTags(call, protocol));
        }
        if let Some(refusal) = self.injected(&call.operation, protocol, http) {
            return Err(refusal);
        }
        if others {
            return Ok(Admission::Now);
        }
        self.decide(&call, protocol).map(|()| Admission::Now)
    }

    /// The refusal an injected fault makes of this call, if one breaks it (never
    /// of an event source mapping's calls).
    fn injected(&self, operation: &str, protocol: Protocol, http: &HttpRequest) -> Option<Refusal> {
        if self.mapping {
            return None;
        }
        let path = path_of(http.uri());
        let body = http.body().bytes().unwrap_or_default();
        let injected = self.faults.breaks(&self.function, operation, path, body)?;
        Some(Refusal {
            protocol,
            reason: format!("{}: {operation} broken by an injected fault", self.function),
            answer: Answer::Injected(injected),
        })
    }

    /// `call`'s needs, each with its resource's tags where the policy asks about
    /// them; `None` when some resource's tags cannot be read (it is gone).
    async fn with_resource_tags(&self, mut call: request::Call) -> Option<request::Call> {
        for need in &mut call.needs {
            if !self.policy.asks_resource_tags(need) {
                continue;
            }
            let (address, region) = self.address_of(&need.resource)?;
            match shared::subscriptions::ownership::resource_tags(&self.sdk, &address, &region).await {
                Ok(tags) => need.add_resource_tags(&tags),
                Err(error) => {
                    tracing::debug!(%address, %error, "tags not read");
                    return None;
                }
            }
        }
        Some(call)
    }

    /// The queue URL (on the emulator) or ARN to read `arn`'s tags by, and its region.
    fn address_of(&self, arn: &str) -> Option<(String, String)> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [_, _, service, region, account, name] = parts.as_slice() else {
            return None;
        };
        let address = match *service {
            "sqs" => format!("{}/{account}/{name}", self.sdk.endpoint_url()?.trim_end_matches('/')),
            _ => arn.to_owned(),
        };
        Some((address, (*region).to_owned()))
    }

    /// IAM's answer to `call`: every need allowed, and a role assumed only as its
    /// trust policy allows.
    fn decide(&self, call: &request::Call, protocol: Protocol) -> Result<(), Refusal> {
        match call.needs.iter().find(|need| !self.policy.allows(need)) {
            None => match &call.assumes {
                Some((role, external_id)) if !self.trusts.allows(role, external_id.as_deref()) => Err(self.refuse(
                    protocol,
                    format!(
                        "{} is not authorized to perform: sts:AssumeRole on resource: {role} with ExternalId {}: \
                         the role's trust policy does not allow it",
                        self.function,
                        external_id.as_deref().unwrap_or("(none)")
                    ),
                )),
                _ => Ok(()),
            },
            Some(need) => Err(self.refuse(
                protocol,
                format!(
                    "{} ({}) is not authorized to perform: {} on resource: {} because no identity-based policy allows it",
                    self.function, call.operation, need.action, need.resource
                ),
            )),
        }
    }

    fn refuse(&self, protocol: Protocol, reason: String) -> Refusal {
        let reason = format!("{}: {reason}", self.function);
        tracing::error!(function = %self.function, %reason, "AWS would refuse this call (IAM in template.yaml, or a limit)");
        self.log.with(|log| log.refused.push(reason.clone()));
        Refusal {
            protocol,
            reason,
            answer: Answer::Iam,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Protocol {
    /// DynamoDB, SQS, EventBridge, KMS, Secrets Manager.
    Json,
    /// Scheduler.
    RestJson,
    /// SNS.
    Query,
}

impl Protocol {
    fn of(request: &request::Request<'_>) -> Self {
        if request.target.is_some() {
            Self::Json
        } else if request.path.starts_with("/schedules/") {
            Self::RestJson
        } else {
            Self::Query
        }
    }
}

struct Refusal {
    protocol: Protocol,
    reason: String,
    answer: Answer,
}

/// Why a call is refused, which sets the error it gets.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// IAM would refuse it.
    Iam,
    /// It breaks a limit: the service's own error code.
    Limit(&'static str),
    /// A fault injected by a test or the load harness.
    Injected(Injected),
}

impl Refusal {
    /// The error as each protocol reports it, so the SDK parses it as AWS's own:
    /// AccessDenied for IAM, the service's own code (a 400) for a limit.
    fn response(&self) -> HttpResponse {
        let message = serde_json::Value::String(self.reason.clone());
        let (status, code) = match (self.answer, self.protocol) {
            (Answer::Limit(code), _) => (400, code),
            (Answer::Iam | Answer::Injected(Injected::AccessDenied), Protocol::Json) => (400, "AccessDeniedException"),
            (Answer::Iam | Answer::Injected(Injected::AccessDenied), Protocol::RestJson) => {
                (403, "AccessDeniedException")
            }
            (Answer::Iam | Answer::Injected(Injected::AccessDenied), Protocol::Query) => (403, "AuthorizationError"),
            (Answer::Injected(Injected::Throttled), Protocol::Query) => (400, "Throttling"),
            (Answer::Injected(Injected::Throttled), _) => (400, "ThrottlingException"),
            (Answer::Injected(Injected::ServerError), _) => (500, "InternalFailure"),
        };
        let (content_type, error_type, body) = match self.protocol {
            Protocol::Json => (
                "application/x-amz-json-1.0",
                None,
                format!(r#"{{"__type":"{code}","message":{message}}}"#),
            ),
            Protocol::RestJson => ("application/json", Some(code), format!(r#"{{"Message":{message}}}"#)),
            Protocol::Query => (
                "text/xml",
                None,
                format!(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>\
                     <Message>{}</Message></Error><RequestId>local-iam</RequestId></ErrorResponse>",
                    self.reason.replace('&', "&amp;").replace('<', "&lt;")
                ),
            ),
        };
        let mut response = HttpResponse::new(
            status.try_into().unwrap_or_else(|_| unreachable!("a valid status")),
            SdkBody::from(body),
        );
        response.headers_mut().insert("content-type", content_type);
        if let Some(error_type) = error_type {
            response.headers_mut().insert("x-amzn-errortype", error_type);
        }
        response
    }
}
