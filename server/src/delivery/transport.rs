//! The HTTP edge of the worker: one POST per lead. A trait, so tests can drive the worker with
//! a scripted transport as well as with a real server on loopback.

use super::policy::Answer;
use crate::secret::Secret;
use std::time::Duration;

/// One lead on its way to one webhook (or, enriched, to a table's stream-through destination).
#[derive(Debug, Clone)]
pub struct Submission {
    pub url: Secret,
    /// The header that authenticates the request, and its secret value.
    pub auth: Option<(&'static str, Secret)>,
    /// Stable across re-sends of the same lead, so Clay (or whoever listens) can drop repeats.
    pub idempotency_key: String,
    /// The JSON object, `kiln_id` included.
    pub body: String,
}

pub trait Transport: Send + Sync + 'static {
    fn send(&self, submission: &Submission) -> impl Future<Output = Answer> + Send;
}

/// The real thing: reqwest with rustls, no redirects (a webhook that redirects is misconfigured,
/// and following it would hand the lead to an address nobody checked), and a timeout.
#[derive(Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
}

impl HttpTransport {
    pub fn new(timeout: Duration) -> reqwest::Result<Self> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(256)
            .user_agent(concat!("kiln/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(HttpTransport { client })
    }
}

impl Transport for HttpTransport {
    async fn send(&self, submission: &Submission) -> Answer {
        let mut request = self
            .client
            .post(submission.url.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", &submission.idempotency_key)
            .body(submission.body.clone());
        if let Some((name, value)) = &submission.auth {
            request = request.header(*name, value.expose());
        }
        match request.send().await {
            Ok(response) => {
                let code = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned);
                // Drain the body so the connection goes back to the pool.
                let _ = response.bytes().await;
                Answer::Status { code, retry_after }
            }
            Err(error) if error.is_timeout() => Answer::Timeout,
            // reqwest's message names the URL, which is a secret: say only what kind of failure.
            Err(error) if error.is_connect() => Answer::Network("connection failed".into()),
            Err(error) if error.is_request() || error.is_body() => Answer::Network("connection lost".into()),
            Err(_) => Answer::Network("request failed".into()),
        }
    }
}
