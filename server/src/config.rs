//! Command line and environment: every flag has an environment fallback, and a `.env` file in the
//! working directory is read first (see `main`).

use crate::secret::Secret;
use app::domain::Role;
use clap::{Args, Parser, Subcommand};
use std::{fmt, net::SocketAddr, path::PathBuf, str::FromStr};

#[derive(Debug, Parser)]
#[command(
    name = "kiln",
    version,
    about = "Kiln: paces leads into Clay webhooks within Clay's limits and your credit budget.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// `kiln` alone serves, with the same flags as `kiln serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Where Kiln keeps its state: `sqlite://path/to/file.db` (created on first start) or
    /// `postgres://user@host/db`.
    ///
    /// Kept as text here and checked by [`GlobalArgs::database`], because clap would echo a
    /// rejected value (and the password in it) in its error message.
    #[arg(
        long = "database-url",
        env = "KILN_DATABASE_URL",
        default_value = "sqlite://kiln.db",
        global = true,
        hide_env_values = true
    )]
    pub database_url_text: String,

    /// Log filter, e.g. `info`, `debug`, or `kiln=debug,tower_http=info`.
    #[arg(long, env = "KILN_LOG", default_value = "info", global = true)]
    pub log: String,
}

impl GlobalArgs {
    pub fn database_url(&self) -> Result<DatabaseUrl, String> {
        self.database_url_text.parse()
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app and the API (the default).
    Serve(ServeArgs),
    /// Manage the people who can sign in.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens for /api/v1.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Run only the delivery worker (no web server), next to a `kiln serve --no-worker`.
    Worker(WorkerArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "KILN_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// Folder with the built front end (`pkg/kiln.js`, `pkg/kiln_bg.wasm`, `pkg/kiln.css`) and the
    /// public assets, as `cargo leptos build` writes it.
    #[arg(long, env = "KILN_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// The address people use to reach Kiln, e.g. `https://kiln.example.com`. Session cookies are
    /// marked Secure when it is https; its origin is accepted for state-changing requests.
    #[arg(long, env = "KILN_PUBLIC_URL")]
    pub public_url: Option<PublicUrl>,

    /// Do not serve the built-in Clay sandbox (`/sandbox/clay/…`) nor create the demo workspace.
    #[arg(long, env = "KILN_NO_SANDBOX")]
    pub no_sandbox: bool,

    /// Do not run the delivery worker in this process (run `kiln worker` elsewhere).
    #[arg(long, env = "KILN_NO_WORKER")]
    pub no_worker: bool,

    /// Addresses (CIDR, comma-separated) that may read `/metrics` without an API token.
    #[arg(long, env = "KILN_METRICS_ALLOW", value_delimiter = ',', default_value = "127.0.0.1/32,::1/128")]
    pub metrics_allow: Vec<ipnet::IpNet>,

    #[command(flatten)]
    pub worker: WorkerArgs,
}

/// How the delivery worker sends (in `kiln serve` and `kiln worker`).
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Requests to Clay in flight at once, across workspaces. Paced workspaces use a few each
    /// (rate × Clay's answer time); the rest lets an unthrottled run claim and record in
    /// batches large enough to be worth a transaction.
    #[arg(long, env = "KILN_SENDERS", default_value_t = DEFAULT_SENDERS)]
    pub senders: usize,

    /// Seconds to wait for Clay's answer to one lead.
    #[arg(long, env = "KILN_SEND_TIMEOUT", default_value_t = 30)]
    pub send_timeout: u64,

    /// Sends a lead gets (on 5xx, timeouts, network errors) before it is dead.
    #[arg(long, env = "KILN_MAX_ATTEMPTS", default_value_t = 8)]
    pub max_attempts: u32,

    /// Where each new alert is posted as Slack-compatible JSON (`{"text": …}`); a secret.
    #[arg(long, env = "KILN_ALERT_URL", hide_env_values = true)]
    pub alert_url: Option<Secret>,

    /// Dead leads in one import from which an alert is raised.
    #[arg(long, env = "KILN_DEAD_ALERT_AT", default_value_t = crate::delivery::DEFAULT_DEAD_ALERT_AT)]
    pub dead_alert_at: u64,
}

pub const DEFAULT_SENDERS: usize = 256;

impl Default for WorkerArgs {
    fn default() -> Self {
        WorkerArgs {
            senders: DEFAULT_SENDERS,
            send_timeout: 30,
            max_attempts: 8,
            alert_url: None,
            dead_alert_at: crate::delivery::DEFAULT_DEAD_ALERT_AT,
        }
    }
}

impl WorkerArgs {
    pub fn settings(&self) -> crate::delivery::Settings {
        crate::delivery::Settings {
            dead_alert_at: self.dead_alert_at,
            ..crate::delivery::Settings::new(
                self.senders,
                std::time::Duration::from_secs(self.send_timeout.max(1)),
                self.max_attempts,
            )
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once on standard output; only its hash is stored.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// Revoke a token by its id or name.
    Revoke {
        /// The token's id (as `kiln token list` shows) or its name.
        token: String,
    },
    /// List tokens (never their secrets).
    List,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse().map_err(|e: app::domain::ParseRoleError| e.to_string())
}

/// A database location, checked at start-up. Its `Display` hides any password.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(String),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn as_str(&self) -> &str {
        match self {
            DatabaseUrl::Sqlite(url) | DatabaseUrl::Postgres(url) => url,
        }
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.starts_with("sqlite:") {
            Ok(DatabaseUrl::Sqlite(s.to_owned()))
        } else if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(s.to_owned()))
        } else {
            let scheme = s.split(':').next().unwrap_or_default();
            Err(format!("unsupported database {scheme:?}: use sqlite://<file> or postgres://<user>@<host>/<db>"))
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask_password(self.as_str()))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `postgres://kiln:hunter2@db/kiln` → `postgres://kiln:***@db/kiln`.
fn mask_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_once('/').map_or((rest, None), |(a, p)| (a, Some(p)));
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
    let masked = if userinfo.contains(':') { format!("{user}:***") } else { user.to_owned() };
    match path {
        Some(path) => format!("{scheme}://{masked}@{host}/{path}"),
        None => format!("{scheme}://{masked}@{host}"),
    }
}

/// The public base URL, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    origin: String,
}

impl PublicUrl {
    pub fn is_https(&self) -> bool {
        self.origin.starts_with("https://")
    }

    /// `scheme://host[:port]`, as browsers send it in `Origin`.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

impl FromStr for PublicUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().trim_end_matches('/');
        let Some((scheme, rest)) = s.split_once("://") else {
            return Err(format!("{s:?} is not a URL: expected e.g. https://kiln.example.com"));
        };
        if scheme != "http" && scheme != "https" {
            return Err(format!("{s:?} must start with http:// or https://"));
        }
        let host = rest.split('/').next().unwrap_or_default();
        if host.is_empty() {
            return Err(format!("{s:?} has no host"));
        }
        Ok(PublicUrl { origin: format!("{scheme}://{}", host.to_ascii_lowercase()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_are_recognised_by_scheme() {
        assert!(matches!("sqlite://kiln.db".parse(), Ok(DatabaseUrl::Sqlite(_))));
        assert!(matches!("sqlite::memory:".parse(), Ok(DatabaseUrl::Sqlite(_))));
        assert!(matches!("postgres://postgres@127.0.0.1/test".parse(), Ok(DatabaseUrl::Postgres(_))));
        let error = "mysql://root:pw@db/kiln".parse::<DatabaseUrl>().unwrap_err();
        assert!(error.contains("unsupported database \"mysql\""), "{error}");
        assert!(!error.contains("pw"), "the message must not echo a password: {error}");
    }

    #[test]
    fn database_urls_never_print_their_password() {
        let url: DatabaseUrl = "postgres://kiln:hunter2@db:5432/kiln".parse().unwrap();
        assert_eq!(url.to_string(), "postgres://kiln:***@db:5432/kiln");
        assert_eq!(format!("{url:?}"), "postgres://kiln:***@db:5432/kiln");
        let url: DatabaseUrl = "postgres://kiln@db/kiln".parse().unwrap();
        assert_eq!(url.to_string(), "postgres://kiln@db/kiln");
    }

    #[test]
    fn public_url_gives_origin_and_scheme() {
        let url: PublicUrl = "https://Kiln.Example.com/app/".parse().unwrap();
        assert_eq!(url.origin(), "https://kiln.example.com");
        assert!(url.is_https());
        assert!("ftp://x".parse::<PublicUrl>().is_err());
        assert!("kiln.example.com".parse::<PublicUrl>().is_err());
    }

    #[test]
    fn serve_is_the_default_and_flags_parse() {
        let cli = Cli::try_parse_from(["kiln", "--addr", "127.0.0.1:4000"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.addr.port(), 4000);
        let cli = Cli::try_parse_from(["kiln", "serve", "--addr", "0.0.0.0:8080"]).unwrap();
        let Some(Command::Serve(args)) = cli.command else { panic!("serve expected") };
        assert_eq!(args.addr.port(), 8080);
        assert!(Cli::try_parse_from(["kiln", "serve", "--addr", "nowhere"]).is_err());
        assert!(Cli::try_parse_from(["kiln", "user", "create", "--email", "a@b.c", "--role", "root"]).is_err());
    }
}
