//! Test support: a fresh set of tables in moto per test, requests shaped as API
//! Gateway sends them, and a counter of DynamoDB calls.
#![allow(dead_code)] // each test binary uses its own subset

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use lambda_http::{Body, Request, Response};
use local::functions::ApiFunctions;
use local::iam::AccessLog;
use local::provision::{self, LocalStack};
use serde_json::{Value, json};

mod counting_proxy;
mod local_run;
mod projected;
#[allow(unused_imports)] // each test binary uses its own subset
pub use counting_proxy::CountingProxy;
#[allow(unused_imports)]
pub use local::sendgrid_stub::SendGridStub;
#[allow(unused_imports)]
pub use local_run::LocalRun;
#[allow(unused_imports)]
pub use projected::ProjectedStack;

pub const TENANT_CLAIM: &str = "tenant";

/// Records the operation of every HTTP request an AWS client sends.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<String>>>);

impl CallLog {
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("call log"))
    }

    pub fn record(&self, operation: String) {
        self.0.lock().expect("call log").push(operation);
    }

    /// JSON protocols (DynamoDB, SQS, EventBridge, KMS) name the operation in
    /// X-Amz-Target; the query protocol (SNS) in the body's `Action=`.
    pub fn operation(headers: &hyper::HeaderMap, body: &[u8]) -> String {
        match headers.get("x-amz-target").and_then(|t| t.to_str().ok()) {
            Some(target) => target.rsplit('.').next().unwrap_or_default().to_owned(),
            None => form_urlencoded::parse(body)
                .find(|(key, _)| key == "Action")
                .map(|(_, action)| action.into_owned())
                .unwrap_or_default(),
        }
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let body = request.body().bytes().unwrap_or_default();
        let mut headers = hyper::HeaderMap::new();
        if let Some(target) = request.headers().get("x-amz-target")
            && let Ok(value) = hyper::header::HeaderValue::from_str(target)
        {
            headers.insert("x-amz-target", value);
        }
        self.record(Self::operation(&headers, body));
        Ok(())
    }
}

static STACKS: AtomicUsize = AtomicUsize::new(0);

/// The resources of one test, in moto, reached through `AWS_ENDPOINT_URL` exactly
/// as the functions reach AWS. Every function built from it is held to its IAM
/// policy in template.yaml; a test that made a call IAM would refuse fails when
/// its stack is dropped, even if the code under test swallowed the AccessDenied.
pub struct TestStack {
    /// The test's own client (not a function's: unchecked, uncounted).
    pub client: Client,
    pub stack: LocalStack,
    /// Every AWS call the stack's functions made.
    pub calls: AccessLog,
}

impl Drop for TestStack {
    fn drop(&mut self) {
        let refused = self.calls.refused();
        if refused.is_empty() {
            return;
        }
        let report = format!(
            "AWS would refuse these calls (IAM in template.yaml, or a limit):\n{}",
            refused.join("\n")
        );
        if std::thread::panicking() {
            // Already failing: say why it may have, without a second panic.
            eprintln!("{report}");
        } else {
            panic!("{report}");
        }
    }
}

impl TestStack {
    pub async fn new() -> Self {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
        assert!(
            endpoint.starts_with("http://127.0.0.1:"),
            "AWS_ENDPOINT_URL must point at moto on 127.0.0.1 (got {endpoint:?}). \
             Run the tests with scripts/test, which starts moto and sets it."
        );
        let sdk = shared::aws::sdk_config().await;
        let client = Client::new(&sdk);
        let prefix = format!(
            "test-{}-{}-{}",
            std::process::id(),
            STACKS.fetch_add(1, Ordering::Relaxed),
            uuid::Uuid::now_v7().simple()
        );
        let stack = provision::create_stack(&sdk, &prefix)
            .await
            .unwrap_or_else(|e| panic!("cannot create the stack in moto at {endpoint}: {e}"))
            .enforcing_iam()
            .await
            .unwrap_or_else(|e| panic!("template.yaml's policies: {e}"));
        let calls = stack.access_log().expect("IAM enforced").clone();
        Self { client, stack, calls }
    }

    /// Every API function as deployed: JWT claims required.
    pub fn functions(&self) -> ApiFunctions {
        self.stack.functions()
    }

    /// Calls the named API function (by its `Handler` name) as API Gateway would.
    pub async fn call(&self, function: &str, request: Request) -> Response<Body> {
        self.functions()
            .invoke(function, request)
            .await
            .unwrap_or_else(|| panic!("no function {function}"))
    }
}

/// Builds an API Gateway HTTP API (payload 2.0) request, as Lambda receives it.
pub struct ApiRequest {
    event: Value,
}

impl ApiRequest {
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            event: json!({
                "version": "2.0",
                "routeKey": format!("{method} {path}"),
                "rawPath": path,
                "rawQueryString": "",
                "headers": {"content-type": "application/json"},
                "requestContext": {
                    "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
                    "requestId": "test-request",
                    "stage": "$default",
                    "timeEpoch": 0
                },
                "isBase64Encoded": false
            }),
        }
    }

    /// A caller of `tenant` whose token names the same tenant and grants every
    /// scope the API asks for.
    pub fn for_tenant(self, tenant: &str) -> Self {
        let scopes = local::dev_token::every_scope().join(" ");
        self.header("x-twc-tenant", tenant)
            .claims(json!({ TENANT_CLAIM: tenant, "sub": "client-1", "scope": scopes }))
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.event["headers"][name] = json!(value);
        self
    }

    pub fn without_header(mut self, name: &str) -> Self {
        if let Some(headers) = self.event["headers"].as_object_mut() {
            headers.remove(name);
        }
        self
    }

    pub fn claims(mut self, claims: Value) -> Self {
        self.event["requestContext"]["authorizer"] = json!({ "jwt": { "claims": claims, "scopes": null } });
        self
    }

    pub fn path_param(mut self, name: &str, value: &str) -> Self {
        self.event["pathParameters"][name] = json!(value);
        self
    }

    /// Lambda's adapter reads the raw query string, as API Gateway sends both.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.event["queryStringParameters"][name] = json!(value);
        let raw = self.event["rawQueryString"].as_str().unwrap_or_default().to_owned();
        let mut query = form_urlencoded::Serializer::new(raw);
        query.append_pair(name, value);
        self.event["rawQueryString"] = json!(query.finish());
        self
    }

    pub fn json(self, body: &Value) -> Self {
        self.body(&body.to_string())
    }

    pub fn body(mut self, body: &str) -> Self {
        self.event["body"] = json!(body);
        self
    }

    pub fn build(self) -> Request {
        lambda_http::request::from_str(&self.event.to_string()).expect("valid API Gateway event")
    }
}

/// Status and JSON body of a handler's response.
pub fn parts(response: Response<Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.body().as_ref();
    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body).expect("JSON body")
    };
    (status, json)
}

/// A valid event in the seed's shape.
pub fn order_event(id: &str, entity_id: &str) -> Value {
    json!({
        "id": id,
        "entity_id": entity_id,
        "entity_name": "ORDER",
        "event_source": "APPLICATION",
        "event_type": "ENTITY_EVENT",
        "event_payload": {
            "operation": "CREATE",
            "entity_id": entity_id,
            "key_attributes": {"correlation_id": "corr-1", "reference_id": "ref-1"},
            "base64_encoded_payload_json": "eyJ0b3RhbCI6IDQyLjUsICJjdXJyZW5jeSI6ICJFVVIifQ=="
        }
    })
}

/// The `id`s of a JSON array response, in order.
pub fn ids_of(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|item| item["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Everything in an SQS queue now, received (and left invisible) ten at a time.
pub async fn drain(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut received = Vec::new();
    loop {
        let output = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive");
        match output.messages {
            Some(messages) if !messages.is_empty() => received.extend(messages),
            _ => return received,
        }
    }
}

/// POSTs an event of `entity` for `tenant` with `payload` as its base64 JSON
/// payload, through the create-event handler; the event must be accepted.
pub async fn post_entity_event(
    stack: &TestStack,
    tenant: &str,
    id: &str,
    entity: &str,
    operation: &str,
    payload: &Value,
) {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(payload.to_string());
    let body = json!({
        "id": id, "entity_id": "X", "entity_name": entity, "event_source": "SYSTEM", "event_type": "ENTITY_EVENT",
        "event_payload": {"operation": operation, "base64_encoded_payload_json": encoded}
    });
    let request = ApiRequest::new("POST", "/api/v1/events")
        .for_tenant(tenant)
        .json(&body)
        .build();
    let (status, answer) = parts(stack.call("create-event", request).await);
    assert_eq!(status, 201, "{answer}");
}
