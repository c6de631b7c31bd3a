//! Typed configuration: one `AppConfig`, read once through Rocket's figment (defaults, `Rocket.toml`,
//! `ROCKET_*` for the server itself, and the unprefixed variables of DESIGN.md §4), validated at start.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use rocket::figment::{
    providers::{Env, Serialized},
    Figment,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

mod values;
use values::{is_base_url, media_bucket, parse_flag, parse_setting, signed, split_list, with_password, Problems};

/// Every environment variable the application reads besides Rocket's own `ROCKET_*`.
pub const ENV_KEYS: &[&str] = &[
    "APP_ENV",
    "DATABASE_URL",
    "DATABASE_PASSWORD",
    "SECRET_KEY",
    "ALLOWED_ORIGINS",
    "PUBLIC_BASE_URL",
    "CLERK_PUBLISHABLE_KEY",
    "CLERK_SECRET_KEY",
    "CLERK_ISSUER",
    "CLERK_JWT_KEY",
    "CLERK_JWKS_URL",
    "CLERK_AUTHORIZED_PARTIES",
    "CLERK_AUDIENCE",
    "CLERK_WEBHOOK_SECRET",
    "MEDIA_DIR",
    "QUARANTINE_DIR",
    "LOG_DIR",
    "RATE_LIMIT_ENABLED",
    "TRUSTED_PROXIES",
    "MAX_REQUEST_SIZE",
    "MAX_UPLOAD_SIZE",
    "CLAMD_ADDR",
    "GRAPHIQL_ENABLED",
    "DEV_TOKENS_ON_PUBLIC_ADDRESS",
    "REQUEST_BODY_TIMEOUT_SECS",
    "DATABASE_SSL_EXEMPT_HOSTS",
    "DATABASE_CA_FILE",
    "ADMIN_USER_IDS",
    "QUARANTINE_RETENTION_DAYS",
    "TOMBSTONE_RETENTION_DAYS",
    "UPLOAD_DAILY_FILE_LIMIT",
    "UPLOAD_QUOTA_BYTES",
    "IMPORT_MONTHLY_LIMIT",
    "IMPORT_ALLOWED_PORTS",
    "REDIS_URL",
    "DATABASE_POOL_SIZE",
    "MEDIA_STORE",
    "S3_ENDPOINT",
    "S3_REGION",
    "S3_ALLOW_HTTP",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// Database connections per process unless `DATABASE_POOL_SIZE` says otherwise.
const DEFAULT_POOL_SIZE: usize = 8;

/// Shortest `SECRET_KEY` accepted, in characters (32 random bytes encode to at least 43).
pub const MIN_SECRET_KEY_LEN: usize = 32;

/// Where the service runs; production turns every safety check into a hard requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

/// The raw shape of the configuration as figment sees it (lower-cased variable names).
#[derive(Deserialize)]
struct RawConfig {
    #[serde(default, deserialize_with = "values::lossy_string")]
    app_env: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_secret")]
    database_url: Option<SecretString>,
    #[serde(default, deserialize_with = "values::lossy_secret")]
    database_password: Option<SecretString>,
    #[serde(default, deserialize_with = "values::lossy_secret")]
    secret_key: Option<SecretString>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    allowed_origins: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    public_base_url: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    clerk_publishable_key: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_secret")]
    clerk_secret_key: Option<SecretString>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    clerk_issuer: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    clerk_jwt_key: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    clerk_jwks_url: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    clerk_authorized_parties: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    clerk_audience: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_secret")]
    clerk_webhook_secret: Option<SecretString>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    media_dir: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    quarantine_dir: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    log_dir: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    rate_limit_enabled: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    trusted_proxies: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    max_request_size: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    max_upload_size: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    clamd_addr: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    request_body_timeout_secs: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    database_ssl_exempt_hosts: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    graphiql_enabled: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    dev_tokens_on_public_address: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    admin_user_ids: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    quarantine_retention_days: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    tombstone_retention_days: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    upload_daily_file_limit: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    upload_quota_bytes: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    import_monthly_limit: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    import_allowed_ports: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_secret")]
    redis_url: Option<SecretString>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    database_pool_size: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    media_store: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    s3_endpoint: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    s3_region: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    s3_allow_http: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_string")]
    aws_access_key_id: Option<String>,
    #[serde(default, deserialize_with = "values::lossy_secret")]
    aws_secret_access_key: Option<SecretString>,
    #[serde(default, deserialize_with = "values::lossy_secret")]
    aws_session_token: Option<SecretString>,
}

/// Clerk settings; the sign-in issue consumes them.
#[derive(Clone, Default)]
pub struct ClerkConfig {
    pub publishable_key: Option<String>,
    pub secret_key: Option<SecretString>,
    pub issuer: Option<String>,
    pub jwt_key: Option<String>,
    pub jwks_url: Option<String>,
    pub authorized_parties: Vec<String>,
    /// `CLERK_AUDIENCE`: set, tokens must carry this `aud`; unset, a token carrying any `aud` is refused.
    pub audience: Option<String>,
    pub webhook_secret: Option<SecretString>,
}

/// The validated configuration. Secrets are `SecretString`s: they never reach a log or `Debug` output.
#[derive(Clone)]
pub struct AppConfig {
    pub env: AppEnv,
    /// Loopback sockets imports may fetch from: set only by tests (from Rust, never from the environment),
    /// for their fixture server; empty everywhere else.
    pub import_test_addresses: Vec<std::net::SocketAddr>,
    /// `None` until resolved: `serve` starts the embedded PostgreSQL when it is unset.
    pub database_url: Option<SecretString>,
    pub secret_key: SecretString,
    /// True when `SECRET_KEY` was missing and a throwaway key was generated for this run.
    pub secret_key_generated: bool,
    pub allowed_origins: Vec<String>,
    pub clerk: ClerkConfig,
    pub media_dir: PathBuf,
    pub quarantine_dir: PathBuf,
    pub log_dir: PathBuf,
    pub rate_limit_enabled: bool,
    pub trusted_proxies: Vec<crate::net::Cidr>,
    /// Database hosts that may be reached without TLS (a private network the operator vouches for).
    pub database_ssl_exempt_hosts: Vec<String>,
    /// Deadline for reading a request body (`REQUEST_BODY_TIMEOUT_SECS`, default 30).
    pub body_timeout: std::time::Duration,
    pub max_request_size: u64,
    pub max_upload_size: u64,
    pub clamd_addr: Option<String>,
    pub graphiql_enabled: bool,
    /// `PUBLIC_BASE_URL` (`https://api.example.com`): media URLs are absolute on it; unset, relative.
    pub public_base_url: Option<String>,
    /// `DEV_TOKENS_ON_PUBLIC_ADDRESS`: accept dev tokens in development on a non-loopback bind address.
    pub dev_tokens_on_public_address: bool,
    /// Clerk user ids (`user_…`) allowed to review the quarantine.
    pub admin_user_ids: Vec<String>,
    /// Quarantined and rejected uploads are purged after this many days (`QUARANTINE_RETENTION_DAYS`, 30).
    pub quarantine_retention_days: u64,
    /// Deletions are remembered for delta sync this many days (`TOMBSTONE_RETENTION_DAYS`, 90).
    pub tombstone_retention_days: u64,
    /// Files per user per 24 hours and bytes stored per user (100 and 1 GiB).
    pub upload_quotas: crate::media::Quotas,
    /// Imports by address per user and calendar month (`IMPORT_MONTHLY_LIMIT`).
    pub import_monthly_limit: i32,
    /// Ports imports may fetch from (`IMPORT_ALLOWED_PORTS`, default 80 and 443).
    pub import_allowed_ports: Vec<u16>,
    /// Redis for rate-limit counters shared by every instance (`REDIS_URL`); in process without it.
    pub redis_url: Option<SecretString>,
    /// Database connections this process keeps (`DATABASE_POOL_SIZE`, 1 to 64).
    pub database_pool_size: usize,
    /// The bucket promoted variants go to (`MEDIA_STORE=s3://…`); `MEDIA_DIR` without it.
    pub media_bucket: Option<crate::media::bucket::BucketConfig>,
    /// A plain-http bucket endpoint is accepted in production (`S3_ALLOW_HTTP`: a private network).
    pub s3_allow_http: bool,
    /// Rocket's own settings (address, port, limits), already merged with ours.
    pub rocket: Figment,
}

impl AppConfig {
    /// The figment every run starts from: Rocket's (defaults, `Rocket.toml`, `ROCKET_*`), our safer defaults
    /// for Rocket (no `Server` header, trusted-proxy handling is ours), then our own variables.
    pub fn figment() -> Figment {
        rocket_defaults(rocket::Config::figment()).merge(Env::raw().only(ENV_KEYS))
    }

    /// Loads and validates from the process environment.
    pub fn load() -> anyhow::Result<Self> {
        Self::from_figment(Self::figment())
    }

    /// Validates an explicit figment (tests build theirs without the process environment). Every problem
    /// is reported, not only the first.
    pub fn from_figment(figment: Figment) -> anyhow::Result<Self> {
        let (config, problems) = Self::from_figment_lenient(figment)?;
        if !problems.is_empty() {
            bail!("{}", problems.join("; "));
        }
        Ok(config)
    }

    /// Like `from_figment`, but an invalid value falls back to its safe default and is reported in the list
    /// instead of stopping the load (`check-config` shows them all next to the checklist). Only a figment
    /// that cannot be read at all is an error here.
    pub fn from_figment_lenient(figment: Figment) -> anyhow::Result<(Self, Vec<String>)> {
        let raw: RawConfig = figment
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        let mut problems = Problems::default();
        let media_bucket = media_bucket(&raw, &mut problems);
        let env = match raw.app_env.as_deref().map(str::trim) {
            None => AppEnv::Development,
            Some(v) if v.eq_ignore_ascii_case("development") => AppEnv::Development,
            Some(v) if v.eq_ignore_ascii_case("production") => AppEnv::Production,
            Some(v) => {
                // Judged as production: the stricter reading of a typo.
                problems.push(format!("APP_ENV must be `development` or `production`, not `{v}`"));
                AppEnv::Production
            }
        };
        let (secret_key, secret_key_generated) = match raw.secret_key {
            Some(key) => (key, false),
            None => {
                if env == AppEnv::Production {
                    problems.push(
                        "SECRET_KEY is required in production; create one with `homechef generate-secret-key`".into(),
                    );
                }
                (SecretString::from(generate_secret_key(64, KeyFormat::Urlsafe)), true)
            }
        };
        if secret_key.expose_secret().len() < MIN_SECRET_KEY_LEN {
            problems.push(format!(
                "SECRET_KEY must be at least {MIN_SECRET_KEY_LEN} characters; create one with `homechef generate-secret-key`"
            ));
        }
        let allowed_origins = split_list(raw.allowed_origins.as_deref());
        let authorized_parties = match raw.clerk_authorized_parties.as_deref() {
            Some(list) => split_list(Some(list)),
            None => allowed_origins.clone(),
        };
        let mut max_upload_size = problems
            .take(parse_setting("MAX_UPLOAD_SIZE", raw.max_upload_size))
            .unwrap_or(10 * 1024 * 1024);
        let mut max_request_size = problems
            .take(parse_setting("MAX_REQUEST_SIZE", raw.max_request_size))
            .unwrap_or(max_upload_size * 5 + 1024 * 1024);
        if max_upload_size == 0 || max_request_size == 0 {
            problems.push("MAX_REQUEST_SIZE and MAX_UPLOAD_SIZE must be positive".into());
            max_upload_size = max_upload_size.max(1);
            max_request_size = max_request_size.max(1);
        }
        let trusted_proxies = split_list(raw.trusted_proxies.as_deref())
            .iter()
            .filter_map(|c| {
                crate::net::Cidr::parse(c)
                    .map_err(|e| problems.push(format!("TRUSTED_PROXIES: {e}")))
                    .ok()
            })
            .collect();
        let mut import_allowed_ports: Vec<u16> = split_list(raw.import_allowed_ports.as_deref())
            .iter()
            .filter_map(|p| {
                p.parse().ok().filter(|p| *p > 0).or_else(|| {
                    problems.push(format!("IMPORT_ALLOWED_PORTS: `{p}` is not a port (1 to 65535)"));
                    None
                })
            })
            .collect();
        if import_allowed_ports.is_empty() {
            import_allowed_ports = vec![80, 443];
        }
        let redis_url = raw.redis_url;
        if let Some(url) = &redis_url {
            let url = url.expose_secret().trim();
            if !url.starts_with("redis://") || redis::Client::open(url).is_err() {
                problems.push("REDIS_URL must look like redis://[:password@]host[:port][/db]".into());
            }
        }
        let config = Self {
            media_bucket,
            s3_allow_http: problems
                .take(parse_flag("S3_ALLOW_HTTP", raw.s3_allow_http))
                .unwrap_or(false),
            import_test_addresses: Vec::new(),
            import_allowed_ports,
            redis_url,
            env,
            database_url: match (raw.database_url, raw.database_password) {
                (Some(url), Some(password)) => match with_password(url.expose_secret(), password.expose_secret()) {
                    Ok(url) => Some(SecretString::from(url)),
                    Err(problem) => {
                        problems.push(problem.into());
                        Some(url)
                    }
                },
                (url, _) => url,
            },
            secret_key,
            secret_key_generated,
            allowed_origins,
            clerk: ClerkConfig {
                publishable_key: raw.clerk_publishable_key,
                secret_key: raw.clerk_secret_key,
                issuer: raw.clerk_issuer,
                jwt_key: raw.clerk_jwt_key,
                jwks_url: raw.clerk_jwks_url,
                authorized_parties,
                audience: raw.clerk_audience,
                webhook_secret: raw.clerk_webhook_secret,
            },
            media_dir: PathBuf::from(raw.media_dir.unwrap_or_else(|| "./media".into())),
            quarantine_dir: PathBuf::from(raw.quarantine_dir.unwrap_or_else(|| "./quarantine".into())),
            log_dir: PathBuf::from(raw.log_dir.unwrap_or_else(|| "./logs".into())),
            rate_limit_enabled: problems
                .take(parse_flag("RATE_LIMIT_ENABLED", raw.rate_limit_enabled))
                .unwrap_or(true),
            trusted_proxies,
            database_ssl_exempt_hosts: split_list(raw.database_ssl_exempt_hosts.as_deref()),
            body_timeout: std::time::Duration::from_secs(
                problems
                    .take(parse_setting(
                        "REQUEST_BODY_TIMEOUT_SECS",
                        raw.request_body_timeout_secs,
                    ))
                    .unwrap_or(30)
                    .max(1),
            ),
            max_request_size,
            max_upload_size,
            clamd_addr: raw.clamd_addr,
            graphiql_enabled: problems
                .take(parse_flag("GRAPHIQL_ENABLED", raw.graphiql_enabled))
                .unwrap_or(env == AppEnv::Development),
            public_base_url: raw
                .public_base_url
                .map(|url| url.trim().trim_end_matches('/').to_owned())
                .filter(|url| !url.is_empty())
                .filter(|url| {
                    let valid = is_base_url(url);
                    if !valid {
                        problems.push(format!(
                            "PUBLIC_BASE_URL must be an http(s) origin such as https://api.example.com, not `{url}`"
                        ));
                    }
                    valid
                }),
            dev_tokens_on_public_address: problems
                .take(parse_flag(
                    "DEV_TOKENS_ON_PUBLIC_ADDRESS",
                    raw.dev_tokens_on_public_address,
                ))
                .unwrap_or(false),
            admin_user_ids: split_list(raw.admin_user_ids.as_deref()),
            quarantine_retention_days: problems
                .take(parse_setting(
                    "QUARANTINE_RETENTION_DAYS",
                    raw.quarantine_retention_days,
                ))
                .unwrap_or(30)
                .max(1),
            tombstone_retention_days: problems
                .take(parse_setting("TOMBSTONE_RETENTION_DAYS", raw.tombstone_retention_days))
                .unwrap_or(90)
                .clamp(1, 36_500),
            upload_quotas: crate::media::Quotas {
                files_per_day: signed(
                    problems
                        .take(parse_setting("UPLOAD_DAILY_FILE_LIMIT", raw.upload_daily_file_limit))
                        .unwrap_or(100),
                ),
                total_bytes: signed(
                    problems
                        .take(parse_setting("UPLOAD_QUOTA_BYTES", raw.upload_quota_bytes))
                        .unwrap_or(1 << 30),
                ),
            },
            import_monthly_limit: problems
                .take(parse_setting("IMPORT_MONTHLY_LIMIT", raw.import_monthly_limit))
                .map_or(300, |n| i32::try_from(n.max(1)).unwrap_or(i32::MAX)),
            database_pool_size: match problems.take(parse_setting("DATABASE_POOL_SIZE", raw.database_pool_size)) {
                None => DEFAULT_POOL_SIZE,
                Some(n @ 1..=64) => usize::try_from(n).unwrap_or(DEFAULT_POOL_SIZE),
                Some(n) => {
                    problems.push(format!("DATABASE_POOL_SIZE: `{n}` is not 1 to 64"));
                    DEFAULT_POOL_SIZE
                }
            },
            rocket: figment,
        };
        Ok((config, problems.0))
    }

    pub fn is_production(&self) -> bool {
        self.env == AppEnv::Production
    }

    /// Dev tokens (`homechef dev-token`) are honoured only in development, and only while the server
    /// listens on a loopback address unless `DEV_TOKENS_ON_PUBLIC_ADDRESS=true` says otherwise: a deploy
    /// that ends up in development mode by accident still does not accept them from the network.
    pub fn dev_tokens_enabled(&self) -> bool {
        self.env == AppEnv::Development && (self.dev_tokens_on_public_address || self.listens_on_loopback())
    }

    /// Whether Rocket's bind address (`ROCKET_ADDRESS`, default 127.0.0.1) is a loopback address.
    pub fn listens_on_loopback(&self) -> bool {
        // Unset is Rocket's default, 127.0.0.1.
        self.rocket
            .extract_inner::<std::net::IpAddr>("address")
            .map_or(true, |ip| ip.is_loopback())
    }

    /// How long deletions are remembered for delta sync.
    pub fn tombstone_retention(&self) -> chrono::Duration {
        chrono::Duration::days(i64::try_from(self.tombstone_retention_days).unwrap_or(90))
    }

    /// The database URL, once resolved.
    pub fn database_url(&self) -> anyhow::Result<&str> {
        self.database_url
            .as_ref()
            .map(|u| u.expose_secret())
            .context("DATABASE_URL is not set and no embedded PostgreSQL was started")
    }
}

/// Rocket settings forced whatever `Rocket.toml` or `ROCKET_*` say: no `Server` header, no client-controlled
/// IP header (the client address comes only from `TRUSTED_PROXIES`), no colour codes in our log lines.
pub fn rocket_defaults(figment: Figment) -> Figment {
    figment
        .merge(Serialized::globals(RocketOverrides {
            ident: false,
            ip_header: false,
            cli_colors: false,
        }))
        // Closing the terminal (SIGHUP) or `docker stop`/systemd (SIGTERM) shut down as gracefully as Ctrl-C,
        // so the embedded PostgreSQL is stopped too instead of being left running.
        .merge(("shutdown.signals", ["term", "hup"]))
        // On a stop signal, requests in flight get 5 s to finish and 3 s more to be sent: within the 10 s that
        // `docker stop` waits before it kills.
        .merge(("shutdown.grace", SHUTDOWN_GRACE_SECS))
        .merge(("shutdown.mercy", SHUTDOWN_MERCY_SECS))
}

/// Seconds that requests in flight get to finish once a stop signal arrives.
pub const SHUTDOWN_GRACE_SECS: u32 = 5;
/// Seconds more for their responses to be written before connections are closed.
pub const SHUTDOWN_MERCY_SECS: u32 = 3;

#[derive(Serialize)]
struct RocketOverrides {
    ident: bool,
    ip_header: bool,
    cli_colors: bool,
}

/// Text encodings offered by `homechef generate-secret-key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyFormat {
    /// URL-safe base64 without padding (default).
    Urlsafe,
    Hex,
    Base64,
}

/// `bytes` bytes from the operating system's CSPRNG, encoded as `format`.
pub fn generate_secret_key(bytes: usize, format: KeyFormat) -> String {
    use base64::Engine as _;
    use rand::TryRngCore as _;
    let mut buf = vec![0u8; bytes];
    // The OS generator failing is unrecoverable and rare; fall back to the thread CSPRNG, never zeros.
    if rand::rngs::OsRng.try_fill_bytes(&mut buf).is_err() {
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut buf);
    }
    match format {
        KeyFormat::Urlsafe => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&buf),
        KeyFormat::Hex => hex::encode(&buf),
        KeyFormat::Base64 => base64::engine::general_purpose::STANDARD.encode(&buf),
    }
}

#[cfg(test)]
mod tests;
