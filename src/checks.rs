//! The production checklist of the deployment guide, as far as configuration can show it.
//! `homechef check-config` prints it; `serve` refuses to start in production when an item fails.

use secrecy::ExposeSecret;

use crate::config::{AppConfig, MIN_SECRET_KEY_LEN};

/// One checklist line.
pub struct Check {
    pub item: &'static str,
    pub passed: bool,
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
        detail: detail.into(),
    }
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
        .filter(|o| !o.starts_with("https://") || o.contains('*') || o.contains("localhost") || o.contains("127.0.0.1"))
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
            "create one with `homechef generate-secret-key`",
        ),
        check(
            "SECRET_KEY is long and random",
            key.len() >= MIN_SECRET_KEY_LEN && distinct >= 16 && !example,
            format!("at least {MIN_SECRET_KEY_LEN} characters, not an example value"),
        ),
        check(
            "DATABASE_URL is set",
            config.database_url.is_some(),
            "production never uses the embedded database",
        ),
        check(
            "ALLOWED_ORIGINS lists the real frontend origins",
            !config.allowed_origins.is_empty() && bad_origins.is_empty(),
            if bad_origins.is_empty() {
                "https origins only, no wildcard or localhost".to_owned()
            } else {
                format!("refused: {}", bad_origins.join(", "))
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
    ]
}

/// Prints the checklist; true when every item passed.
pub fn print_report(config: &AppConfig) -> bool {
    let checks = production_checklist(config);
    for c in &checks {
        println!("{} {}  ({})", if c.passed { "PASS" } else { "FAIL" }, c.item, c.detail);
    }
    checks.iter().all(|c| c.passed)
}

#[cfg(test)]
mod tests {
    use rocket::figment::Figment;

    use super::*;

    fn failures(pairs: &[(&str, &str)]) -> Vec<&'static str> {
        let mut figment = crate::config::rocket_defaults(Figment::new());
        for (k, v) in pairs {
            figment = figment.merge((*k, *v));
        }
        let config = AppConfig::from_figment(figment).unwrap_or_else(|e| panic!("{e}"));
        production_checklist(&config)
            .into_iter()
            .filter(|c| !c.passed)
            .map(|c| c.item)
            .collect()
    }

    const GOOD_KEY: &str = "Vq3kP9xZ2mL7wR4tY8nB6cF1hJ5gD0sA-eU_iO";

    #[test]
    fn a_complete_production_config_passes() {
        let failed = failures(&[
            ("app_env", "production"),
            ("secret_key", GOOD_KEY),
            ("database_url", "postgres://app@db.internal/homechef?sslmode=require"),
            ("allowed_origins", "https://app.homechef.example"),
        ]);
        assert!(failed.is_empty(), "{failed:?}");
    }

    #[test]
    fn development_defaults_fail_the_checklist() {
        let failed = failures(&[("allowed_origins", "http://localhost:3000")]);
        for item in [
            "APP_ENV is production",
            "SECRET_KEY is set",
            "DATABASE_URL is set",
            "ALLOWED_ORIGINS lists the real frontend origins",
            "dev tokens are disabled",
            "GraphiQL is disabled",
        ] {
            assert!(failed.contains(&item), "{item} should fail");
        }
    }

    #[test]
    fn example_and_repetitive_keys_fail() {
        let failed = failures(&[("secret_key", "change-me-change-me-change-me-change-me")]);
        assert!(failed.contains(&"SECRET_KEY is long and random"));
        let failed = failures(&[("secret_key", &"a".repeat(64))]);
        assert!(failed.contains(&"SECRET_KEY is long and random"));
    }
}
