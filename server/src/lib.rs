//! The `kiln` server: configuration, storage, authentication and the HTTP surface around the
//! Leptos app. `main.rs` only parses the command line and calls [`cli::run`].

pub mod accounts;
pub mod auth;
pub mod budget;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod delivery;
pub mod demo;
pub mod error;
pub mod exports;
pub mod http;
pub mod imports;
pub mod ingest;
pub mod metrics;
pub mod notify;
pub mod planning;
pub mod sandbox;
pub mod secret;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod workspaces;

use crate::{
    accounts::AccountsService,
    config::ServeArgs,
    planning::PlannerService,
    state::AppState,
    store::{Db, sessions::Sessions},
};
use anyhow::Context;
use app::services::Services;
use axum::Router;
use axum_login::tower_sessions::ExpiredDeletion;
use leptos::prelude::LeptosOptions;
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::net::TcpListener;

/// Everything `kiln serve` runs, wired to `db`.
/// `worker` is the heartbeat of the delivery worker this process runs, if it runs one.
pub async fn build_app(
    db: Db,
    args: &ServeArgs,
    addr: SocketAddr,
    worker: Option<delivery::Heartbeat>,
) -> anyhow::Result<Router> {
    let sessions = Sessions::open(&db).await.context("cannot prepare the session table")?;
    tokio::spawn(sessions.clone().continuously_delete_expired(Duration::from_secs(3600)));

    let leptos_options = LeptosOptions::builder()
        .output_name("kiln")
        .site_root(args.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    let public_origin = args.public_url.as_ref().map(|url| url.origin().to_owned());
    let secure_cookies = args.public_url.as_ref().is_some_and(|url| url.is_https());
    let mut state = AppState::new(leptos_options, db.clone(), public_origin, local_origin(addr))
        .context("cannot set up the metrics registry")?;
    state.metrics_allow = args.metrics_allow.clone().into();
    state.worker = worker;
    planning::seed(&db).await.context("cannot seed the plan catalog")?;
    if !args.no_sandbox {
        demo::ensure(&db, addr).await.context("cannot create the demo workspace")?;
    }
    let services = Services {
        accounts: Arc::new(AccountsService { db: db.clone() }),
        planner: Arc::new(PlannerService { db: db.clone() }),
        workspaces: Arc::new(workspaces::WorkspacesService {
            db: db.clone(),
            callback_origin: state.callback_origin.clone(),
        }),
        imports: Arc::new(imports::ImportsService { db: db.clone() }),
        monitoring: Arc::new(dashboard::MonitoringService { db: db.clone(), live: state.dashboard.clone() }),
    };
    let router = http::router(state, sessions, services, secure_cookies);
    Ok(if args.no_sandbox { router } else { router.merge(sandbox::Sandbox::new(db, local_origin(addr)).router()) })
}

/// Kiln as its own processes reach it (the sandbox calls back here).
pub fn local_origin(addr: SocketAddr) -> String {
    let host = if addr.ip().is_unspecified() { std::net::IpAddr::from([127, 0, 0, 1]) } else { addr.ip() };
    format!("http://{}", SocketAddr::new(host, addr.port()))
}

/// Runs the delivery worker with the system clock and real HTTP until `stop` resolves.
///
/// The worker's loop runs on a thread and runtime of its own, while its requests run on the
/// caller's runtime: each claim and record is a series of round trips to the database, and on
/// the shared runtime every one of them would queue behind the hundreds of request tasks (and
/// the pages being served) before the loop saw its answer.
pub async fn run_worker(
    db: Db,
    args: config::WorkerArgs,
    heartbeat: Option<delivery::Heartbeat>,
    stop: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let settings = args.settings();
    let transport = delivery::transport::HttpTransport::new(std::time::Duration::from_secs(args.send_timeout.max(1)))
        .context("cannot build the HTTP client")?;
    let notifier = notify::Notifier::new(args.alert_url.clone()).context("cannot build the alert URL's HTTP client")?;
    let requests = tokio::runtime::Handle::current();
    let (stop_loop, loop_stopped) = tokio::sync::oneshot::channel::<()>();
    let (finished, mut loop_finished) = tokio::sync::oneshot::channel::<anyhow::Result<()>>();
    std::thread::Builder::new()
        .name("kiln-worker".into())
        .spawn(move || {
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the delivery worker's runtime")
                .and_then(|runtime| {
                    runtime.block_on(async move {
                        let db = db.dedicated(1).await.context("cannot open the worker's database connection")?;
                        tracing::info!(senders = settings.senders, "the delivery worker is running");
                        let worker = delivery::Worker::new(db, transport, delivery::SystemClock, settings)
                            .with_notifier(notifier)
                            .sending_on(requests);
                        let worker = match heartbeat {
                            Some(heartbeat) => worker.with_heartbeat(heartbeat),
                            None => worker,
                        };
                        // Stops when told to, or when the caller gave up on it (dropped its end).
                        let stop = async move {
                            let _ = loop_stopped.await;
                        };
                        worker.run(stop).await.context("the delivery worker stopped on a database error")
                    })
                });
            let _ = finished.send(result);
        })
        .context("cannot start the delivery worker's thread")?;
    tokio::select! {
        result = &mut loop_finished => return result.context("the delivery worker's thread panicked")?,
        () = stop => {}
    }
    let _ = stop_loop.send(());
    loop_finished.await.context("the delivery worker's thread panicked")?
}

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Without Nagle's delay: a streamed page's last small chunk otherwise waits for the
    // client's delayed ACK (about 40 ms on Linux).
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::warn!(%error, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
