//! The command line (DESIGN.md §2): `serve` (default), `migrate`, `schema`, `generate-secret-key`,
//! `check-config`, `healthcheck`, `dev-token`, `db path|stop`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::config::{generate_secret_key, AppConfig, KeyFormat};
use crate::db::{self, embedded::EmbeddedPostgres, embedded::Stopped};

/// Where `serve` keeps its private PostgreSQL when `DATABASE_URL` is unset.
pub const EMBEDDED_DATA_DIR: &str = "data/postgres";
/// The database created on the embedded server.
pub const EMBEDDED_DATABASE: &str = "homechef";

#[derive(Debug, Parser)]
#[command(name = "homechef", version, about = "GraphQL backend of HomeChef Companion")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve HTTP (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL); `schema.graphql` must equal it.
    Schema,
    /// Print a new random SECRET_KEY.
    GenerateSecretKey {
        /// Random bytes (at least 32).
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(32..=1024))]
        bytes: u16,
        /// Text encoding of the key.
        #[arg(long, value_enum, default_value_t = KeyFormat::Urlsafe)]
        format: KeyFormat,
    },
    /// Check the configuration against the production checklist; non-zero exit on any failure.
    CheckConfig {
        /// Judge the configuration as this environment would run it (default: `APP_ENV`).
        #[arg(long, value_enum)]
        env: Option<CheckedEnv>,
    },
    /// Exit 0 if and only if the readiness probe answers 200 (for Docker HEALTHCHECK).
    Healthcheck {
        /// Readiness URL (http only).
        #[arg(long)]
        url: Option<String>,
    },
    /// Print a short-lived token for a development user (accepted only with APP_ENV=development).
    DevToken {
        /// User name: letters, digits, `-`, `_`, `.`; 1 to 64 characters.
        #[arg(long)]
        user: String,
        /// E-mail address to record for the user.
        #[arg(long)]
        email: Option<String>,
    },
    /// The embedded PostgreSQL of this directory (`./data/postgres`, used while DATABASE_URL is unset).
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbAction {
    /// Print where the cluster lives, and whether it runs.
    Path,
    /// Stop the cluster, even while servers use it (they answer 503 until it runs again).
    Stop,
}

/// The environment `check-config --env` judges a configuration as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckedEnv {
    Development,
    Production,
}

impl CheckedEnv {
    fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Production => "production",
        }
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(AppConfig::load()?).await.map(|()| ExitCode::SUCCESS),
        Command::Migrate => migrate(AppConfig::load()?).await.map(|()| ExitCode::SUCCESS),
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(ExitCode::SUCCESS)
        }
        Command::GenerateSecretKey { bytes, format } => {
            println!("{}", generate_secret_key(bytes.into(), format));
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig { env } => {
            let mut figment = AppConfig::figment();
            if let Some(env) = env {
                figment = figment.merge(("app_env", env.as_str()));
            }
            let (config, mut problems) = AppConfig::from_figment_lenient(figment)?;
            problems.extend(crate::checks::startup_problems(&config));
            let passed = crate::checks::print_report(&config, &problems, env.is_some());
            Ok(if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Healthcheck { url } => {
            let url = url.unwrap_or_else(default_ready_url);
            Ok(match probe(&url).await {
                Ok(200) => ExitCode::SUCCESS,
                Ok(status) => {
                    eprintln!("unhealthy: {url} answered {status}");
                    ExitCode::FAILURE
                }
                Err(e) => {
                    eprintln!("unhealthy: {e:#}");
                    ExitCode::FAILURE
                }
            })
        }
        Command::Db { action } => embedded_db(action).await,
        Command::DevToken { user, email } => {
            println!("{}", dev_token(&AppConfig::load()?, &user, email.as_deref())?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Whether every other holder of the stopped instance lets it go within a second (one still running past the
/// shutdown's grace and mercy never does).
async fn released(instance: &std::sync::Arc<rocket::Rocket<rocket::Orbit>>) -> bool {
    for _ in 0..100 {
        if std::sync::Arc::strong_count(instance) == 1 {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    false
}

async fn serve(mut config: AppConfig) -> anyhow::Result<()> {
    let problems = crate::checks::startup_problems(&config);
    if config.is_production() && !crate::checks::print_report(&config, &problems, false) {
        bail!("refusing to start in production: the configuration fails the checklist above");
    }
    if !problems.is_empty() {
        bail!("invalid configuration: {}", problems.join("; "));
    }
    if config.secret_key_generated {
        tracing::warn!(
            "SECRET_KEY is not set: using a random key for this run only (dev tokens will not survive a restart)"
        );
    }
    let embedded = resolve_database(&mut config).await?;
    let watch = embedded.as_ref().map(|_| tokio::spawn(watch_embedded()));
    let result = async {
        let applied = db::run_migrations(config.database_url()?).await?;
        tracing::info!(count = applied.len(), versions = ?applied, "migrations applied");
        let rocket = crate::rocket(config)?;
        match rocket.launch().await {
            Ok(_) => Ok(()),
            Err(e) => match e.kind() {
                // Rocket reports a nominal shutdown as failed when a connection's task still holds the instance
                // for a moment after the server has stopped (a request cut short by SIGTERM): wait for it.
                rocket::error::ErrorKind::Shutdown(instance, None) if released(instance).await => Ok(()),
                kind => Err(anyhow::anyhow!("server stopped: {kind}")),
            },
        }
    }
    .await;
    if let Some(watch) = watch {
        watch.abort();
    }
    if let Some(mut pg) = embedded {
        match pg.stop().await.context("could not stop the embedded PostgreSQL")? {
            Stopped::Stopped => tracing::info!("embedded PostgreSQL stopped"),
            Stopped::StillUsed(servers) => {
                tracing::info!(
                    servers,
                    "embedded PostgreSQL left running: other homechef servers use it"
                );
            }
            Stopped::NotRunning => tracing::warn!("embedded PostgreSQL had already stopped"),
        }
    }
    result
}

/// While this server runs, says in one line when its embedded PostgreSQL stops under it (`homechef db stop`,
/// a hand `pg_ctl`, a crash) and when it runs again: the server itself only sees 503s and a failing readiness.
async fn watch_embedded() {
    let Ok(pg) = EmbeddedPostgres::locate(Path::new(EMBEDDED_DATA_DIR)) else {
        return;
    };
    let mut running = true;
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = pg.running_port().await.is_some();
        match (running, now) {
            (true, false) => tracing::error!(
                data_dir = %pg.data_dir().display(),
                "the embedded PostgreSQL stopped while this server runs: requests answer 503 until it runs again; \
                 restart this server to start it"
            ),
            (false, true) => tracing::info!("the embedded PostgreSQL runs again"),
            _ => {}
        }
        running = now;
    }
}

/// `homechef db path|stop`.
async fn embedded_db(action: DbAction) -> anyhow::Result<ExitCode> {
    let pg = EmbeddedPostgres::locate(Path::new(EMBEDDED_DATA_DIR))?;
    match action {
        DbAction::Path => {
            println!("{}", pg.data_dir().display());
            match pg.running_port().await {
                Some(port) => eprintln!("running: psql postgres://postgres@127.0.0.1:{port}/{EMBEDDED_DATABASE}"),
                None => eprintln!("not running"),
            }
        }
        DbAction::Stop => match pg.stop_by_hand().await? {
            (Stopped::Stopped, 0) => println!("stopped the embedded PostgreSQL in {}", pg.data_dir().display()),
            (Stopped::Stopped, servers) => println!(
                "stopped the embedded PostgreSQL in {}; {servers} homechef server(s) still using it answer 503 until it runs again",
                pg.data_dir().display()
            ),
            (_, _) => println!("the embedded PostgreSQL in {} is not running", pg.data_dir().display()),
        },
    }
    Ok(ExitCode::SUCCESS)
}

async fn migrate(mut config: AppConfig) -> anyhow::Result<()> {
    let embedded = resolve_database(&mut config).await?;
    let result = db::run_migrations(config.database_url()?).await;
    if let Some(mut pg) = embedded {
        pg.stop().await?;
    }
    let applied = result?;
    if applied.is_empty() {
        println!("database is up to date");
    }
    for version in applied {
        println!("applied {version}");
    }
    Ok(())
}

/// With `DATABASE_URL` unset (development only), starts the private PostgreSQL and points the config at it.
async fn resolve_database(config: &mut AppConfig) -> anyhow::Result<Option<EmbeddedPostgres>> {
    if config.database_url.is_some() {
        return Ok(None);
    }
    if config.is_production() {
        bail!("DATABASE_URL is required in production");
    }
    let pg = EmbeddedPostgres::start(Path::new(EMBEDDED_DATA_DIR)).await?;
    let url = pg.ensure_database(EMBEDDED_DATABASE).await?;
    tracing::info!(data_dir = %pg.data_dir().display(), "embedded PostgreSQL running; connect with: psql {url}");
    config.database_url = Some(SecretString::from(url));
    Ok(Some(pg))
}

fn dev_token(config: &AppConfig, user: &str, email: Option<&str>) -> anyhow::Result<String> {
    if config.is_production() {
        bail!("dev tokens are accepted only with APP_ENV=development");
    }
    if !config.dev_tokens_enabled() {
        bail!(
            "dev tokens are accepted only on a loopback address (ROCKET_ADDRESS); set DEV_TOKENS_ON_PUBLIC_ADDRESS=true to accept them on another"
        );
    }
    if config.secret_key_generated {
        bail!("SECRET_KEY is not set: run `export SECRET_KEY=$(homechef generate-secret-key)` and start the server with the same value");
    }
    if !crate::auth::dev_token::valid_name(user) {
        bail!("--user must be 1 to 64 letters, digits, '-', '_' or '.'");
    }
    if email.is_some_and(|e| !crate::users::plausible_email(e)) {
        bail!("--email must be an e-mail address");
    }
    crate::auth::dev_token::issue(&config.secret_key, user, email)
}

fn default_ready_url() -> String {
    let port = rocket::Config::figment().extract_inner::<u16>("port").unwrap_or(8000);
    format!("http://127.0.0.1:{port}/health/ready")
}

/// A minimal HTTP/1.1 GET returning the status code: the runtime image has no curl.
async fn probe(url: &str) -> anyhow::Result<u16> {
    let rest = url.strip_prefix("http://").context("only http:// URLs are supported")?;
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(authority).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut head = vec![0u8; 64];
        let n = stream.read(&mut head).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&head[..n]).into_owned())
    };
    let head = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .context("timed out")?
        .with_context(|| format!("cannot reach {authority}"))?;
    head.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .context("not an HTTP response")
}
