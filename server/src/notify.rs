//! Telling people about new alerts: each one goes, once, to the optional alert URL as
//! Slack-compatible JSON (`{"text": …}`), which Slack, Mattermost, Teams workflows and most chat
//! webhooks accept. A failed notification is logged (without the URL, a secret) and not retried:
//! the alert stays on the page's banner.

use crate::secret::Secret;
use std::time::Duration;

#[derive(Clone, Default)]
pub struct Notifier {
    target: Option<(reqwest::Client, Secret)>,
}

impl Notifier {
    pub fn new(url: Option<Secret>) -> reqwest::Result<Notifier> {
        let Some(url) = url.filter(|u| !u.expose().trim().is_empty()) else { return Ok(Notifier::default()) };
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Notifier { target: Some((client, url)) })
    }

    /// Posts `message` in the background: a slow alert URL never holds up the worker.
    pub fn tell(&self, message: &str) {
        let Some((client, url)) = self.target.clone() else { return };
        let body = serde_json::json!({ "text": format!("Kiln: {message}") });
        tokio::spawn(async move {
            match client.post(url.expose()).json(&body).send().await {
                Ok(response) if response.status().is_success() => {}
                Ok(response) => {
                    tracing::warn!(status = response.status().as_u16(), "the alert URL refused a notification")
                }
                Err(_) => tracing::warn!("the alert URL could not be reached"),
            }
        });
    }
}
