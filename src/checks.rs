//! The production checklist of the deployment guide, as far as configuration and the file system can
//! show it. `homechef check-config` prints it; `serve` refuses to start in production when an item fails.

use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;

use crate::config::{AppConfig, MIN_SECRET_KEY_LEN};

/// One checklist line.
pub struct Check {
    pub item: &'static str,
    pub passed: bool,
    /// Not passing is a risk to name (WARN), not a reason to refuse to start (FAIL).
    pub warning: bool,
    pub detail: String,
}

/// Values from examples and tutorials that must never be a real key.
const EXAMPLE_KEYS: &[&str] = &[
    "change-me",
    "changeme",
    "secret",
    "your-secret-key",
    "replace-me",
    "example",
];

fn check(item: &'static str, passed: bool, detail: impl Into<String>) -> Check {
    Check {
        item,
        passed,
        warning: false,
        detail: detail.into(),
    }
}

fn warn(item: &'static str, passed: bool, detail: impl Into<String>) -> Check {
    Check {
        warning: true,
        ..check(item, passed, detail)
    }
}

/// Names reserved for documentation and tests (RFC 2606, RFC 6761): an origin copied from an example, never
/// a real deployment's.
fn documentation_origin(origin: &str) -> bool {
    let host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let host = host.split(['/', ':']).next().unwrap_or_default().to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    ["example.com", "example.net", "example.org"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
        || ["example", "test", "invalid", "localhost"]
            .iter()
            .any(|tld| host == *tld || host.ends_with(&format!(".{tld}")))
}

/// What `serve` builds from the configuration before it listens, and can refuse there: the Clerk verifier
/// (publishable key, PEM key, issuer, authorized parties) and the webhook verifier. `check-config` lists the
/// same problems and `serve` stops on them before anything starts, so whatever one accepts, the other does.
pub fn startup_problems(config: &AppConfig) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(e) = crate::auth::Authenticator::new(config) {
        problems.push(format!("{e:#}"));
    }
    if let Some(secret) = &config.clerk.webhook_secret {
        if let Err(e) = crate::auth::svix::SvixVerifier::new(secret.expose_secret()) {
            problems.push(format!("{e:#}"));
        }
    }
    problems
}

/// Evaluates every item as production would, whatever `APP_ENV` says.
pub fn production_checklist(config: &AppConfig) -> Vec<Check> {
    let key = config.secret_key.expose_secret();
    let distinct = key.chars().collect::<std::collections::BTreeSet<_>>().len();
    let lower = key.to_lowercase();
    let example = EXAMPLE_KEYS.iter().any(|e| lower.contains(e));
    let bad_origins: Vec<&str> = config
        .allowed_origins
        .iter()
        .map(String::as_str)
        .filter(|o| {
            !o.starts_with("https://")
                || o.contains('*')
                || o.contains("localhost")
                || o.contains("127.0.0.1")
                || documentation_origin(o)
        })
        .collect();
    let database_tls = config
        .database_url
        .as_ref()
        .map(|url| database_tls_ok(url.expose_secret(), &config.database_ssl_exempt_hosts));
    let clerk_live = config
        .clerk
        .publishable_key
        .as_deref()
        .is_some_and(|k| k.starts_with("pk_live_"))
        && config
            .clerk
            .secret_key
            .as_ref()
            .is_some_and(|k| k.expose_secret().starts_with("sk_live_"));
    let dirs_apart = !overlaps(&config.quarantine_dir, &config.media_dir);
    let unwritable: Vec<String> = [&config.log_dir, &config.media_dir, &config.quarantine_dir]
        .into_iter()
        .filter(|dir| !writable(dir))
        .map(|dir| dir.display().to_string())
        .collect();
    vec![
        check(
            "APP_ENV is production",
            config.is_production(),
            "dev tokens and GraphiQL defaults follow it",
        ),
        check(
            "SECRET_KEY is set",
            !config.secret_key_generated,
            if config.secret_key_generated {
                "not set; create one with `homechef generate-secret-key`"
            } else {
                "set"
            },
        ),
        check(
            "SECRET_KEY is long and random",
            key.len() >= MIN_SECRET_KEY_LEN && distinct >= 16 && !example,
            format!("at least {MIN_SECRET_KEY_LEN} characters, not an example value"),
        ),
        check(
            "DATABASE_URL is set",
            config.database_url.is_some(),
            if config.database_url.is_some() {
                "set"
            } else {
                "not set; production never uses the embedded database"
            },
        ),
        check(
            "DATABASE_URL uses TLS",
            database_tls.unwrap_or(false),
            "sslmode=require or verify-full, unless the host is loopback, a socket or in DATABASE_SSL_EXEMPT_HOSTS",
        ),
        check(
            "Clerk production keys",
            clerk_live,
            match (&config.clerk.publishable_key, &config.clerk.secret_key) {
                (None, _) => "CLERK_PUBLISHABLE_KEY not set",
                (_, None) => "CLERK_SECRET_KEY not set",
                _ => "CLERK_PUBLISHABLE_KEY pk_live_… and CLERK_SECRET_KEY sk_live_…, not test keys",
            },
        ),
        check(
            "ALLOWED_ORIGINS lists the real frontend origins",
            !config.allowed_origins.is_empty() && bad_origins.is_empty(),
            if config.allowed_origins.is_empty() {
                "ALLOWED_ORIGINS not set".to_owned()
            } else if bad_origins.is_empty() {
                "https origins only, no wildcard, localhost or documentation domain (example.com, .test)".to_owned()
            } else {
                format!("refused: {}", bad_origins.join(", "))
            },
        ),
        check(
            "PUBLIC_BASE_URL is an https URL",
            config
                .public_base_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://") && !documentation_origin(u)),
            match &config.public_base_url {
                None => "not set; media URLs must be absolute for a frontend on another origin",
                Some(u) if documentation_origin(u) => "a documentation domain (example.com, .test): set the real one",
                Some(_) => "the service's own https origin: media URLs are absolute on it",
            },
        ),
        check(
            "rate limiting is enabled",
            config.rate_limit_enabled,
            "RATE_LIMIT_ENABLED must not be false",
        ),
        check(
            "dev tokens are disabled",
            !config.dev_tokens_enabled(),
            "they are accepted only in development",
        ),
        check(
            "GraphiQL is disabled",
            !config.graphiql_enabled,
            "set GRAPHIQL_ENABLED=false",
        ),
        check(
            "QUARANTINE_DIR is outside MEDIA_DIR",
            dirs_apart,
            "quarantined files must never be servable",
        ),
        media_store_check(config),
        warn(
            "uploads are scanned by an antivirus",
            config.clamd_addr.is_some(),
            if config.clamd_addr.is_some() {
                "CLAMD_ADDR set"
            } else {
                "CLAMD_ADDR not set: uploads get our own checks only, and a known virus inside a valid image is not caught"
            },
        ),
        check(
            "log, media and quarantine directories are writable",
            unwritable.is_empty(),
            if unwritable.is_empty() {
                "LOG_DIR, MEDIA_DIR, QUARANTINE_DIR".to_owned()
            } else {
                format!("not writable: {}", unwritable.join(", "))
            },
        ),
    ]
}

/// A bucket for media is reached over https (unless `S3_ALLOW_HTTP` says the network is private) and with
/// credentials; the local directory needs neither.
fn media_store_check(config: &AppConfig) -> Check {
    let item = "media store is reached over https with credentials";
    let Some(bucket) = &config.media_bucket else {
        return check(item, true, "MEDIA_DIR on this instance's disk");
    };
    let credentials = bucket.access_key_id.is_some() && bucket.secret_access_key.is_some();
    let tls = !bucket.plain_http() || config.s3_allow_http;
    let detail = match (tls, credentials) {
        (false, _) => "S3_ENDPOINT is http://; use https, or S3_ALLOW_HTTP=true on a private network",
        (_, false) => "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set",
        _ => "S3_ENDPOINT https (or exempted), AWS credentials set",
    };
    check(item, tls && credentials, detail)
}

/// Prints every configuration problem and every checklist item, whatever fails, under a header saying
/// which environment is judged; true when nothing failed. `forced` is `--env`.
pub fn print_report(config: &AppConfig, problems: &[String], forced: bool) -> bool {
    let env = if config.is_production() {
        "production"
    } else {
        "development"
    };
    println!("homechef check-config: the production checklist, for APP_ENV={env}");
    if !config.is_production() && !forced {
        println!(
            "  (this configuration runs in development, where these items may fail; they must all pass before \
             deploying. `homechef check-config --env production` judges it as production would.)"
        );
    }
    for problem in problems {
        println!("FAIL configuration is valid  ({problem})");
    }
    let checks = production_checklist(config);
    for c in &checks {
        let verdict = match (c.passed, c.warning) {
            (true, _) => "PASS",
            (false, true) => "WARN",
            (false, false) => "FAIL",
        };
        println!("{verdict} {}  ({})", c.item, c.detail);
    }
    problems.is_empty() && checks.iter().all(|c| c.passed || c.warning)
}

/// `sslmode=require|verify-ca|verify-full`, or a host that needs no TLS.
fn database_tls_ok(url: &str, exempt: &[String]) -> bool {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let param = |name: &str| {
        query.split('&').find_map(|pair| {
            pair.split_once('=')
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.to_owned())
        })
    };
    if param("sslmode").is_some_and(|m| ["require", "verify-ca", "verify-full"].contains(&m.as_str())) {
        return true;
    }
    if param("host").is_some_and(|h| h.starts_with('/') || h.starts_with("%2F")) {
        return true;
    }
    let host = database_host(url);
    host.is_empty()
        || host.starts_with('/')
        || host.starts_with("%2F")
        || host == "localhost"
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        || exempt.iter().any(|h| h.eq_ignore_ascii_case(&host))
}

/// The host of a `postgres://` URL, without credentials, port or brackets.
fn database_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default().to_owned();
    }
    host_port.split(':').next().unwrap_or_default().to_owned()
}

fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    // Normalise `.` and `..` lexically: the directories may not exist yet.
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn overlaps(a: &Path, b: &Path) -> bool {
    let (a, b) = (absolute(a), absolute(b));
    a.starts_with(&b) || b.starts_with(&a)
}

/// Creates the directory if needed and proves a file can be written in it.
fn writable(dir: &Path) -> bool {
    if std::fs::create_dir_all(dir).is_err() {
        return false;
    }
    let probe = dir.join(format!(".homechef-write-check-{}", std::process::id()));
    let ok = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

#[cfg(test)]
mod tests {
    use rocket::figment::Figment;

    use super::*;

    const GOOD_KEY: &str = "Vq3kP9xZ2mL7wR4tY8nB6cF1hJ5gD0sA-eU_iO";

    fn base_dir() -> String {
        std::env::temp_dir()
            .join(format!("homechef-checks-{}", uuid::Uuid::new_v4()))
            .display()
            .to_string()
    }

    /// A configuration that passes every item, with `changes` applied.
    fn failures(changes: &[(&str, &str)]) -> Vec<&'static str> {
        let base = base_dir();
        let good = [
            ("app_env", "production".to_owned()),
            ("secret_key", GOOD_KEY.to_owned()),
            (
                "database_url",
                "postgres://app:pw@db.internal:5432/homechef?sslmode=require".to_owned(),
            ),
            ("allowed_origins", "https://app.homechef.internal".to_owned()),
            ("public_base_url", "https://api.homechef.internal".to_owned()),
            (
                "clerk_publishable_key",
                "pk_live_Y2xlcmsuaG9tZWNoZWYuZXhhbXBsZSQ".to_owned(),
            ),
            ("clerk_secret_key", "sk_live_abc".to_owned()),
            ("clamd_addr", "clamav:3310".to_owned()),
            ("log_dir", format!("{base}/logs")),
            ("media_dir", format!("{base}/media")),
            ("quarantine_dir", format!("{base}/quarantine")),
        ];
        let mut figment = crate::config::rocket_defaults(Figment::new());
        for (k, v) in &good {
            figment = figment.merge((*k, v.as_str()));
        }
        for (k, v) in changes {
            figment = figment.merge((*k, *v));
        }
        let config = AppConfig::from_figment(figment).unwrap_or_else(|e| panic!("{e}"));
        let failed = production_checklist(&config)
            .into_iter()
            .filter(|c| !c.passed)
            .map(|c| c.item)
            .collect();
        let _ = std::fs::remove_dir_all(base);
        failed
    }

    #[test]
    fn a_complete_production_config_passes_every_item() {
        let failed = failures(&[]);
        assert!(failed.is_empty(), "{failed:?}");
    }

    #[test]
    fn each_item_fails_on_its_own() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("secret_key", "change-me-change-me-change-me-change-me")],
                "SECRET_KEY is long and random",
            ),
            (&[("secret_key", &"a".repeat(64))], "SECRET_KEY is long and random"),
            (
                &[("database_url", "postgres://app:pw@db.internal/homechef")],
                "DATABASE_URL uses TLS",
            ),
            (
                &[("database_url", "postgres://app:pw@db.internal/homechef?sslmode=prefer")],
                "DATABASE_URL uses TLS",
            ),
            (
                &[("clerk_publishable_key", "pk_test_Y2xlcmsuaG9tZWNoZWYuZXhhbXBsZSQ")],
                "Clerk production keys",
            ),
            (&[("clerk_secret_key", "sk_test_abc")], "Clerk production keys"),
            (
                &[("allowed_origins", "")],
                "ALLOWED_ORIGINS lists the real frontend origins",
            ),
            (&[("public_base_url", "")], "PUBLIC_BASE_URL is an https URL"),
            (
                &[("public_base_url", "http://api.homechef.internal")],
                "PUBLIC_BASE_URL is an https URL",
            ),
            (
                &[("allowed_origins", "http://app.homechef.internal")],
                "ALLOWED_ORIGINS lists the real frontend origins",
            ),
            (
                &[("allowed_origins", "https://*.homechef.example")],
                "ALLOWED_ORIGINS lists the real frontend origins",
            ),
            (
                &[("allowed_origins", "https://localhost:3000")],
                "ALLOWED_ORIGINS lists the real frontend origins",
            ),
            (
                &[("allowed_origins", "https://app.example.com")],
                "ALLOWED_ORIGINS lists the real frontend origins",
            ),
            (
                &[("allowed_origins", "https://app.homechef.internal,https://shop.test")],
                "ALLOWED_ORIGINS lists the real frontend origins",
            ),
            (
                &[("public_base_url", "https://api.example.org")],
                "PUBLIC_BASE_URL is an https URL",
            ),
            (&[("clamd_addr", "")], "uploads are scanned by an antivirus"),
            (&[("rate_limit_enabled", "false")], "rate limiting is enabled"),
            (&[("graphiql_enabled", "true")], "GraphiQL is disabled"),
            (
                &[("quarantine_dir", "/srv/media/quarantine"), ("media_dir", "/srv/media")],
                "QUARANTINE_DIR is outside MEDIA_DIR",
            ),
            (
                &[("log_dir", "/proc/homechef-logs")],
                "log, media and quarantine directories are writable",
            ),
            (
                &[
                    ("media_store", "s3://recipes"),
                    ("s3_endpoint", "http://minio:9000"),
                    ("aws_access_key_id", "id"),
                    ("aws_secret_access_key", "secret"),
                ],
                "media store is reached over https with credentials",
            ),
            (
                &[("media_store", "s3://recipes")],
                "media store is reached over https with credentials",
            ),
        ];
        for (changes, item) in cases {
            assert_eq!(failures(changes), [*item], "{changes:?}");
        }
    }

    #[test]
    fn a_bucket_passes_with_https_or_an_exempt_private_endpoint() {
        let keys = [("aws_access_key_id", "id"), ("aws_secret_access_key", "secret")];
        let aws = [[("media_store", "s3://recipes/prod")].as_slice(), &keys].concat();
        assert!(failures(&aws).is_empty());
        let private = [
            [
                ("media_store", "s3://recipes"),
                ("s3_endpoint", "http://minio:9000"),
                ("s3_allow_http", "true"),
            ]
            .as_slice(),
            &keys,
        ]
        .concat();
        assert!(failures(&private).is_empty());
    }

    #[test]
    fn development_fails_dev_tokens_and_secret_key_items() {
        let failed = failures(&[("app_env", "development")]);
        assert!(failed.contains(&"APP_ENV is production"));
        let figment = crate::config::rocket_defaults(Figment::new());
        let config = AppConfig::from_figment(figment).unwrap_or_else(|e| panic!("{e}"));
        let failed: Vec<_> = production_checklist(&config)
            .into_iter()
            .filter(|c| !c.passed)
            .map(|c| c.item)
            .collect();
        for item in [
            "SECRET_KEY is set",
            "DATABASE_URL is set",
            "dev tokens are disabled",
            "GraphiQL is disabled",
        ] {
            assert!(failed.contains(&item), "{item}");
        }
    }

    #[test]
    fn tls_is_not_required_for_loopback_sockets_and_exempt_hosts() {
        let exempt = vec!["db.private".to_owned()];
        for url in [
            "postgres://app@127.0.0.1/homechef",
            "postgres://app@localhost:5432/homechef",
            "postgres://app@[::1]:5432/homechef",
            "postgres://app@%2Fvar%2Frun%2Fpostgresql/homechef",
            "postgres://app@/homechef?host=/var/run/postgresql",
            "postgres://app@db.private/homechef",
            "postgres://app@db.example/homechef?application_name=x&sslmode=verify-full",
        ] {
            assert!(database_tls_ok(url, &exempt), "{url}");
        }
        for url in [
            "postgres://app@db.example/homechef",
            "postgres://app:p@ss@10.0.0.5/homechef?sslmode=disable",
        ] {
            assert!(!database_tls_ok(url, &exempt), "{url}");
        }
    }
}
