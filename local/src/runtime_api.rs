//! A Lambda Runtime API on 127.0.0.1, to run a function binary the way Lambda
//! does: as a child process that asks for its next invocation and posts back
//! the outcome. lambda-bench times functions with it; the logging test reads
//! what a function logs with it.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};

/// What the function told the Runtime API about one invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Response,
    Error,
}

/// The test or bench's side of a running Runtime API.
pub struct RuntimeApi {
    pub address: std::net::SocketAddr,
    invocations: mpsc::Sender<(String, Bytes)>,
    first_next: mpsc::UnboundedReceiver<Instant>,
    outcomes: mpsc::UnboundedReceiver<(String, Outcome)>,
}

/// The server's side: the invocations waiting for `GET /next`, and where
/// outcomes and each `GET /next` are reported.
struct Server {
    pending: Mutex<mpsc::Receiver<(String, Bytes)>>,
    first_next: mpsc::UnboundedSender<Instant>,
    outcomes: mpsc::UnboundedSender<(String, Outcome)>,
}

impl RuntimeApi {
    /// Listens on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let (invocations, pending) = mpsc::channel(1);
        let (first_next, first_next_seen) = mpsc::unbounded_channel();
        let (outcomes, outcome_seen) = mpsc::unbounded_channel();
        let server = Arc::new(Server {
            pending: Mutex::new(pending),
            first_next,
            outcomes,
        });
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        tokio::spawn(serve(listener, server));
        Ok(Self {
            address,
            invocations,
            first_next: first_next_seen,
            outcomes: outcome_seen,
        })
    }

    /// The variables Lambda sets for a function named `name` on this API.
    pub fn environment(&self, name: &str) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_LAMBDA_RUNTIME_API", self.address.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", name.to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "local".to_owned()),
        ]
    }

    /// When the function first asked for an invocation (`None`: the API stopped).
    pub async fn first_next(&mut self) -> Option<Instant> {
        self.first_next.recv().await
    }

    /// Hands `event` to the function as invocation `id` and waits for its
    /// outcome (`None`: the API stopped).
    pub async fn invoke(&mut self, id: &str, event: Bytes) -> Option<Outcome> {
        self.invocations.send((id.to_owned(), event)).await.ok()?;
        loop {
            let (done, outcome) = self.outcomes.recv().await?;
            if done == id {
                return Some(outcome);
            }
        }
    }
}

async fn serve(listener: TcpListener, server: Arc<Server>) {
    while let Ok((stream, _)) = listener.accept().await {
        let server = server.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let server = server.clone();
                async move { Ok::<_, Infallible>(server.handle(req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

impl Server {
    async fn handle(&self, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        let path = req.uri().path().to_owned();
        let method = req.method().clone();
        // Drain the body: only the outcome's kind is reported.
        let _ = req.into_body().collect().await;
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (method.as_str(), segments.as_slice()) {
            ("GET", ["2018-06-01", "runtime", "invocation", "next"]) => {
                let _ = self.first_next.send(Instant::now());
                let next = self.pending.lock().await.recv().await;
                match next {
                    Some((id, event)) => {
                        let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
                        hyper::Response::builder()
                            .header("Lambda-Runtime-Aws-Request-Id", id)
                            .header("Lambda-Runtime-Deadline-Ms", deadline.to_string())
                            .header(
                                "Lambda-Runtime-Invoked-Function-Arn",
                                "arn:aws:lambda:us-east-1:123456789012:function:local",
                            )
                            .header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                            .body(Full::new(event))
                            .unwrap_or_default()
                    }
                    None => status(410),
                }
            }
            ("POST", ["2018-06-01", "runtime", "invocation", id, kind @ ("response" | "error")]) => {
                let outcome = if *kind == "response" {
                    Outcome::Response
                } else {
                    Outcome::Error
                };
                let _ = self.outcomes.send(((*id).to_owned(), outcome));
                status(202)
            }
            ("POST", ["2018-06-01", "runtime", "init", "error"]) => status(202),
            _ => status(404),
        }
    }
}

fn status(code: u16) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(code)
        .body(Full::new(Bytes::new()))
        .unwrap_or_default()
}
