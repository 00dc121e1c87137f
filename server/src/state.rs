//! What every request handler shares.

use crate::{
    auth::throttle::Throttle,
    dashboard::Live,
    delivery::Heartbeat,
    metrics::Metrics,
    store::{Db, users},
};
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub throttle: Throttle,
    /// The configured public origin (`https://kiln.example.com`), accepted in `Origin` headers.
    pub public_origin: Option<String>,
    /// Where Clay's HTTP API column reaches Kiln: the public origin, else the local address.
    pub callback_origin: String,
    pub metrics: Arc<Metrics>,
    /// Who may read `/metrics` without a token.
    pub metrics_allow: Arc<[ipnet::IpNet]>,
    /// The delivery worker of this process, if it runs one.
    pub worker: Option<Heartbeat>,
    pub dashboard: Live,
    /// Latches to true once a user exists; users are never deleted, so it never goes back.
    setup_done: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(
        leptos_options: LeptosOptions,
        db: Db,
        public_origin: Option<String>,
        local_origin: String,
    ) -> Result<Self, prometheus::Error> {
        Ok(AppState {
            leptos_options,
            dashboard: Live::spawn(db.clone()),
            db,
            throttle: Throttle::default(),
            callback_origin: public_origin.clone().unwrap_or(local_origin),
            metrics: Arc::new(Metrics::new()?),
            metrics_allow: Arc::new([]),
            worker: None,
            public_origin,
            setup_done: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Whether the first admin exists (after which `/setup` is gone).
    pub async fn setup_done(&self) -> Result<bool, sqlx::Error> {
        if self.setup_done.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let done = users::any_exist(&self.db).await?;
        if done {
            self.setup_done.store(true, Ordering::Relaxed);
        }
        Ok(done)
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
