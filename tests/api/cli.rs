//! The `homechef` binary as an operator uses it.

use std::process::{Command, Output};

use serde_json::json;

use crate::helpers::{TestApp, TEST_SECRET_KEY};

/// Runs the binary with a clean environment plus `env`.
fn homechef(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_homechef"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "off")
        .envs(env.iter().copied())
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn unknown_subcommands_and_flags_print_usage_and_fail() {
    for args in [&["frobnicate"][..], &["serve", "--frobnicate"][..]] {
        let output = homechef(args, &[]);
        assert!(!output.status.success(), "{args:?}");
        assert!(stderr(&output).contains("Usage:"), "{}", stderr(&output));
    }
}

#[test]
fn committed_schema_matches_the_code() {
    let output = homechef(&["schema"], &[]);
    assert!(output.status.success());
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert!(
        stdout(&output) == committed,
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql`"
    );
}

#[test]
fn generated_secret_keys_honour_size_and_format() {
    let hex = stdout(&homechef(
        &["generate-secret-key", "--bytes", "32", "--format", "hex"],
        &[],
    ));
    assert_eq!(hex.trim().len(), 64);
    assert!(hex.trim().chars().all(|c| c.is_ascii_hexdigit()));
    let default = stdout(&homechef(&["generate-secret-key"], &[]));
    assert_eq!(default.trim().len(), 86, "64 bytes, url-safe base64 without padding");
    assert_ne!(default, stdout(&homechef(&["generate-secret-key"], &[])));
    let too_short = homechef(&["generate-secret-key", "--bytes", "16"], &[]);
    assert!(!too_short.status.success());
}

#[test]
fn an_unreachable_database_is_a_one_line_error_naming_the_host_but_not_the_password() {
    let output = homechef(
        &["serve"],
        &[
            ("DATABASE_URL", "postgres://app:hunter2-secret@127.0.0.1:1/homechef"),
            ("SECRET_KEY", TEST_SECRET_KEY),
        ],
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("127.0.0.1:1/homechef"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn check_config_fails_on_development_defaults_and_lists_every_item() {
    let output = homechef(&["check-config"], &[]);
    assert_eq!(output.status.code(), Some(1));
    let report = stdout(&output);
    assert!(report.contains("FAIL SECRET_KEY is set"), "{report}");
    assert!(report.contains("PASS rate limiting is enabled"), "{report}");
}

#[test]
fn production_refuses_to_start_with_a_failing_checklist() {
    let output = homechef(
        &["serve"],
        &[("APP_ENV", "production"), ("SECRET_KEY", TEST_SECRET_KEY)],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("refusing to start in production"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn dev_token_needs_a_fixed_secret_key_and_development() {
    assert!(!homechef(&["dev-token", "--user", "alice"], &[]).status.success());
    let production = homechef(
        &["dev-token", "--user", "alice"],
        &[("APP_ENV", "production"), ("SECRET_KEY", TEST_SECRET_KEY)],
    );
    assert!(!production.status.success());
    let bad_name = homechef(&["dev-token", "--user", "a b"], &[("SECRET_KEY", TEST_SECRET_KEY)]);
    assert!(!bad_name.status.success());
}

#[tokio::test]
async fn a_printed_dev_token_is_accepted_by_the_server() {
    let output = homechef(
        &["dev-token", "--user", "newcomer", "--email", "new@example.com"],
        &[("SECRET_KEY", TEST_SECRET_KEY)],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let token = stdout(&output).trim().to_owned();
    let app = TestApp::spawn().await;
    let me = app.gql_as(&token, "{ me { name email } }", json!({})).await;
    assert_eq!(
        me,
        json!({"data": {"me": {"name": "newcomer", "email": "new@example.com"}}})
    );
}

#[tokio::test]
async fn healthcheck_exits_zero_only_when_ready() {
    let app = TestApp::spawn().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = crate::helpers::test_config(&app.db.url, &[]);
    config.rocket = config.rocket.merge(("port", port));
    let server = homechef::rocket(config).unwrap().ignite().await.unwrap();
    let shutdown = server.shutdown();
    let running = tokio::spawn(server.launch());
    let url = format!("http://127.0.0.1:{port}/health/ready");
    let mut ok = false;
    for _ in 0..50 {
        let url = url.clone();
        let status = tokio::task::spawn_blocking(move || homechef(&["healthcheck", "--url", &url], &[]).status)
            .await
            .unwrap();
        if status.success() {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ok, "healthcheck never succeeded against a running server");
    shutdown.notify();
    let _ = running.await;
    let down = homechef(&["healthcheck", "--url", &url], &[]);
    assert_eq!(down.status.code(), Some(1));
}
