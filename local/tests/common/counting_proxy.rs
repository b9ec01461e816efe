//! An HTTP proxy in front of moto that records the operation of every AWS call
//! passing through: the fan-out builds its own clients (per region and
//! credentials), so counting happens on the wire rather than in one client.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

use super::CallLog;

pub struct CountingProxy {
    pub url: String,
    pub calls: CallLog,
    /// `<operation> by <access key id>` for every call, from its SigV4 signature.
    pub signers: CallLog,
    /// Every call's request body, as text: what was put on the wire.
    pub bodies: CallLog,
}

impl CountingProxy {
    /// A proxy in front of the moto that `AWS_ENDPOINT_URL` names.
    pub async fn in_front_of_moto() -> Self {
        let moto = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL (moto)");
        Self::start(moto.trim_start_matches("http://").to_owned()).await
    }

    /// SDK configuration whose clients go through the proxy. Set on the loader:
    /// an endpoint set on a built SdkConfig loses to AWS_ENDPOINT_URL.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .load()
            .await
    }

    /// Listens on a free port and forwards everything to `upstream` (`host:port`).
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let (calls, signers, bodies) = (CallLog::default(), CallLog::default(), CallLog::default());
        let logs = (calls.clone(), signers.clone(), bodies.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (upstream, logs) = (upstream.clone(), logs.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request| forward(request, upstream.clone(), logs.clone()));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url,
            calls,
            signers,
            bodies,
        }
    }
}

async fn forward(
    request: Request<Incoming>,
    upstream: String,
    (calls, signers, bodies): (CallLog, CallLog, CallLog),
) -> Result<Response<Full<Bytes>>, String> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    let operation = CallLog::operation(&parts.headers, &body);
    let signer = parts
        .headers
        .get("authorization")
        .and_then(|a| a.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').next())
        .unwrap_or_default();
    signers.record(format!("{operation} by {signer}"));
    calls.record(operation);
    bodies.record(String::from_utf8_lossy(&body).into_owned());
    let stream = TcpStream::connect(&upstream).await.map_err(|e| e.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let response = sender
        .send_request(Request::from_parts(parts, Full::new(body)))
        .await
        .map_err(|e| e.to_string())?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}
