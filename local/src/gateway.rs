//! A local stand-in for API Gateway (HTTP API, payload format 2.0): routes a
//! request as template.yaml does, builds the event API Gateway would send to the
//! function, and calls the function's handler in-process.

use std::convert::Infallible;
use std::io;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::http::request::Parts;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use shared::routes::{self, FALLBACK_FUNCTION, Resolution};
use tokio::net::TcpListener;

use shared::notifications::{Invocation, NotificationRunner};

use crate::dev_token;
use crate::functions::ApiFunctions;

/// API Gateway's own payload limit for HTTP APIs.
const GATEWAY_MAX_BODY: usize = 10 * 1024 * 1024;

type HttpResponse = hyper::Response<Full<Bytes>>;
type Claims = std::collections::HashMap<String, String>;

/// What stands in for API Gateway's JWT authorizer.
#[derive(Debug, Clone)]
pub enum LocalAuth {
    /// No authorizer: requests reach the functions without claims.
    Off,
    /// Bearer tokens must be HS256 JWTs signed with this secret (see `dev_token`).
    DevTokens { secret: String },
}

pub struct Gateway {
    pub functions: ApiFunctions,
    pub auth: LocalAuth,
    /// The local run's own `POST /local/jobs/{jobId}/run` (the console's "run
    /// now"): notification-job at once, as Scheduler would invoke it. Not a
    /// route of the deployed API.
    pub jobs: Option<Arc<NotificationRunner>>,
}

/// Accepts connections until the listener fails; each request is one invocation.
pub async fn serve(listener: TcpListener, gateway: Arc<Gateway>) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let gateway = gateway.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let gateway = gateway.clone();
                async move { Ok::<_, Infallible>(gateway.handle(req).await) }
            });
            if let Err(err) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %err, "connection closed with an error");
            }
        });
    }
}

impl Gateway {
    async fn handle(&self, req: hyper::Request<Incoming>) -> HttpResponse {
        let (parts, body) = req.into_parts();
        if let Some(job_id) = local_run_path(&parts) {
            return self.run_job_now(&parts, job_id).await;
        }
        let resolution = routes::resolve(parts.method.as_str(), parts.uri.path());
        // The console's files have no authorizer (template.yaml: `Authorizer: NONE`).
        let public = matches!(&resolution, Resolution::Found { route, .. } if route.public);
        let claims = match self.authorize(&parts) {
            Ok(claims) => claims,
            Err(_) if public => None,
            Err(reason) => {
                tracing::info!(%reason, "bearer token refused");
                return gateway_error(401, "Unauthorized");
            }
        };
        let Ok(body) = Limited::new(body, GATEWAY_MAX_BODY)
            .collect()
            .await
            .map(|b| b.to_bytes())
        else {
            return gateway_error(413, "Request Entity Too Large");
        };
        let (function, route_key, path_parameters) = match resolution {
            Resolution::Found { route, path_parameters } => (route.function, route.to_string(), path_parameters),
            _ => (FALLBACK_FUNCTION, "$default".to_owned(), Vec::new()),
        };
        let event = payload_v2(&parts, &body, &route_key, &path_parameters, claims.as_ref());
        let request = match lambda_http::request::from_str(&event.to_string()) {
            Ok(request) => request,
            Err(err) => {
                tracing::error!(error = %err, "could not build the Lambda request");
                return gateway_error(500, "Internal Server Error");
            }
        };
        match self.functions.invoke(function, request).await {
            Some(response) => into_http(response),
            None => {
                tracing::error!(function, "route names a function the local runner does not have");
                gateway_error(500, "Internal Server Error")
            }
        }
    }

    /// Runs the tenant's job now (the tenant as the API takes it: the header,
    /// which a verified token's claim must name).
    async fn run_job_now(&self, parts: &Parts, job_id: String) -> HttpResponse {
        let Some(runner) = &self.jobs else {
            return gateway_error(404, "Not Found");
        };
        let claims = match self.authorize(parts) {
            Ok(claims) => claims,
            Err(_) => return gateway_error(401, "Unauthorized"),
        };
        let tenant = parts
            .headers
            .get("x-twc-tenant")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if claims.is_some_and(|c| c.get("tenant") != Some(&tenant)) {
            return gateway_error(403, "Forbidden");
        }
        let invocation = Invocation {
            tenant,
            job_id,
            scheduled_time: None,
            execution_id: format!("manual-{}", uuid::Uuid::now_v7()),
        };
        match runner.run(invocation).await {
            Ok(outcome) => {
                let mut response = hyper::Response::new(Full::new(Bytes::from(outcome.answer().to_string())));
                response.headers_mut().insert(
                    hyper::header::CONTENT_TYPE,
                    hyper::header::HeaderValue::from_static("application/json"),
                );
                response
            }
            Err(err) => {
                tracing::error!(error = %err, "run now failed");
                gateway_error(500, "Internal Server Error")
            }
        }
    }

    /// The authorizer's claims, as API Gateway's JWT authorizer would pass them.
    fn authorize(&self, parts: &Parts) -> Result<Option<Claims>, String> {
        let LocalAuth::DevTokens { secret } = &self.auth else {
            return Ok(None);
        };
        let token = parts
            .headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or("no bearer token")?;
        dev_token::verify(secret, token.trim(), Utc::now().timestamp())
            .map(Some)
            .map_err(|e| e.to_string())
    }
}

/// The job id of `POST /local/jobs/{jobId}/run`.
fn local_run_path(parts: &Parts) -> Option<String> {
    let rest = parts.uri.path().strip_prefix("/local/jobs/")?.strip_suffix("/run")?;
    (parts.method == hyper::Method::POST && !rest.is_empty() && !rest.contains('/')).then(|| rest.to_owned())
}

/// The JSON API Gateway sends to a Lambda integration (payload format 2.0).
fn payload_v2(
    parts: &Parts,
    body: &Bytes,
    route_key: &str,
    path_parameters: &[(String, String)],
    claims: Option<&Claims>,
) -> Value {
    let mut headers = Map::new();
    for name in parts.headers.keys() {
        let joined = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(",");
        headers.insert(name.as_str().to_owned(), Value::String(joined));
    }
    let raw_query = parts.uri.query().unwrap_or_default();
    let mut query = Map::new();
    for (key, value) in form_urlencoded::parse(raw_query.as_bytes()) {
        // API Gateway joins repeated parameters with commas.
        match query.get_mut(key.as_ref()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                query.insert(key.into_owned(), Value::String(value.into_owned()));
            }
        }
    }
    let (body, is_base64) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (STANDARD.encode(body), true),
    };
    let now = Utc::now();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": parts.headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or_default(),
            },
            "requestId": uuid::Uuid::now_v7().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": is_base64,
    });
    if !body.is_empty() {
        event["body"] = Value::String(body);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if let Some(claims) = claims {
        event["requestContext"]["authorizer"] = json!({ "jwt": { "claims": claims, "scopes": null } });
    }
    if !path_parameters.is_empty() {
        event["pathParameters"] = path_parameters.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    }
    event
}

fn into_http(response: lambda_http::Response<lambda_http::Body>) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(text) => Bytes::from(text),
        lambda_http::Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

/// An error API Gateway itself would answer, before any function runs.
fn gateway_error(status: u16, message: &str) -> HttpResponse {
    let mut response = hyper::Response::new(Full::new(Bytes::from(json!({ "message": message }).to_string())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}
