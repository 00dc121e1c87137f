//! What each `kiln` command does.

use crate::{
    accounts,
    config::{Cli, Command, DatabaseUrl, GlobalArgs, ServeArgs, TokenCommand, UserCommand},
    store::{self, Db},
    telemetry,
};
use anyhow::Context;
use std::io::{BufRead, IsTerminal};

/// The actor the audit log records for changes made on the command line.
const CLI_ACTOR: &str = "cli";

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    telemetry::init(&cli.global.log)?;
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => serve(&cli.global, args).await,
        Command::User(UserCommand::Create { email, role }) => {
            let db = connect(&cli.global).await?;
            let password = read_password()?;
            let user = accounts::create_user(&db, CLI_ACTOR, &email, password, role).await?;
            println!("created {} user {}", user.role, user.email);
            Ok(())
        }
        Command::Token(command) => token(&cli.global, command).await,
        Command::Worker(args) => worker(&cli.global, args).await,
    }
}

async fn connect(global: &GlobalArgs) -> anyhow::Result<Db> {
    Ok(Db::connect(&database_url(global)?).await?)
}

fn database_url(global: &GlobalArgs) -> anyhow::Result<DatabaseUrl> {
    global.database_url().map_err(|e| anyhow::anyhow!("--database-url / KILN_DATABASE_URL: {e}"))
}

async fn serve(global: &GlobalArgs, args: ServeArgs) -> anyhow::Result<()> {
    let url = database_url(global)?;
    let db = Db::connect(&url).await?;
    if !args.site_root.join("pkg").join("kiln.js").is_file() {
        tracing::warn!(
            site_root = %args.site_root.display(),
            "the front end is not built there: pages will render without their script and styles (run `make build`)"
        );
    }
    let listener =
        tokio::net::TcpListener::bind(args.addr).await.with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr()?;
    // One process serves an SQLite file (it is listening now): an import still arriving was left
    // by one that stopped. On PostgreSQL other processes may be receiving theirs; the workers end
    // those left without a sign of life.
    if matches!(db, Db::Sqlite(_)) {
        crate::ingest::end_interrupted(&db, i64::MAX).await?;
    }
    let heartbeat = (!args.no_worker).then(crate::delivery::Heartbeat::default);
    let app = crate::build_app(db.clone(), &args, addr, heartbeat.clone()).await?;
    let (stop_worker, worker_stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = heartbeat.map(|heartbeat| {
        tokio::spawn(crate::run_worker(db, args.worker.clone(), Some(heartbeat), async move {
            let _ = worker_stopped.await;
        }))
    });
    tracing::info!(database = %url, "Kiln is running at http://{addr}");
    println!("Kiln is running at http://{addr} (Ctrl-C to stop)");
    crate::serve(listener, app, shutdown_signal()).await.context("the server stopped with an error")?;
    let _ = stop_worker.send(());
    if let Some(worker) = worker {
        worker.await.context("the delivery worker panicked")??;
    }
    Ok(())
}

async fn worker(global: &GlobalArgs, args: crate::config::WorkerArgs) -> anyhow::Result<()> {
    let db = connect(global).await?;
    println!("Kiln's delivery worker is running (Ctrl-C to stop)");
    crate::run_worker(db, args, None, shutdown_signal()).await
}

async fn token(global: &GlobalArgs, command: TokenCommand) -> anyhow::Result<()> {
    let db = connect(global).await?;
    match command {
        TokenCommand::Create { name, role } => {
            let token = accounts::create_token(&db, CLI_ACTOR, &name, role).await?;
            eprintln!(
                "created {} token {:?} (id {}); it is shown only this once:",
                token.token.role, token.token.name, token.token.id
            );
            println!("{}", token.secret);
        }
        TokenCommand::Revoke { token } => {
            let revoked = accounts::revoke_token(&db, CLI_ACTOR, &token).await?;
            println!("revoked token {:?} (id {})", revoked.name, revoked.id);
        }
        TokenCommand::List => {
            for token in store::tokens::list(&db).await? {
                let state = if token.revoked_at.is_some() { "revoked" } else { "active" };
                println!("{}\t{}\t{}\t{}", token.id, token.name, token.role, state);
            }
        }
    }
    Ok(())
}

/// The password for `kiln user create`: typed without echo at a terminal, or the first line of
/// standard input when piped.
fn read_password() -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ").context("cannot read the password")?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    anyhow::ensure!(!password.is_empty(), "no password given on standard input");
    Ok(password)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
