//! The `homechef` binary as an operator uses it.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::json;

use crate::helpers::{ServerProcess, TestApp, TestDatabase, TEST_SECRET_KEY};

/// Runs the binary with a clean environment plus `env`.
fn homechef(args: &[&str], env: &[(&str, &str)]) -> Output {
    homechef_in(Path::new(env!("CARGO_TARGET_TMPDIR")), args, env)
}

/// The same, in `dir` (where a `.env` or `./data/postgres` may be).
fn homechef_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    command_in(dir, args, env).output().unwrap()
}

fn command_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_homechef"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "off")
        .envs(env.iter().copied())
        .current_dir(dir);
    command
}

/// A fresh directory under the test tmpdir.
fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
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
    assert!(report.contains("for APP_ENV=development"), "{report}");
    assert!(
        report.contains("--env production"),
        "says how to judge it as production: {report}"
    );
    assert!(report.contains("FAIL SECRET_KEY is set  (not set;"), "{report}");
    assert!(report.contains("FAIL DATABASE_URL is set  (not set;"), "{report}");
    assert!(report.contains("PASS rate limiting is enabled"), "{report}");
}

#[test]
fn check_config_prints_the_whole_checklist_even_when_the_configuration_is_invalid() {
    let output = homechef(
        &["check-config", "--env", "production"],
        &[
            ("SECRET_KEY", "short"),
            ("MAX_UPLOAD_SIZE", "lots"),
            ("APP_ENV", "development"),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let report = stdout(&output);
    assert!(report.contains("for APP_ENV=production"), "--env wins: {report}");
    assert!(!report.contains("--env production"), "{report}");
    assert!(
        report.contains("FAIL configuration is valid  (SECRET_KEY must be at least 32"),
        "{report}"
    );
    assert!(
        report.contains("FAIL configuration is valid  (MAX_UPLOAD_SIZE must be a whole number"),
        "{report}"
    );
    assert!(report.contains("PASS APP_ENV is production"), "{report}");
    assert!(
        report.contains("PASS rate limiting is enabled"),
        "every item still printed: {report}"
    );
    assert!(report.contains("FAIL GraphiQL is disabled") || report.contains("PASS GraphiQL is disabled"));
}

#[test]
fn dev_tokens_need_a_loopback_bind_address_unless_explicitly_allowed() {
    let public = [("SECRET_KEY", TEST_SECRET_KEY), ("ROCKET_ADDRESS", "0.0.0.0")];
    let refused = homechef(&["dev-token", "--user", "alice"], &public);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("loopback"), "{}", stderr(&refused));
    let allowed = homechef(
        &["dev-token", "--user", "alice"],
        &[public[0], public[1], ("DEV_TOKENS_ON_PUBLIC_ADDRESS", "true")],
    );
    assert!(allowed.status.success(), "{}", stderr(&allowed));
}

#[tokio::test]
async fn a_server_bound_to_a_public_address_refuses_dev_tokens() {
    let token = crate::helpers::dev_token("wanderer");
    let app = TestApp::spawn_with(&[("address", "0.0.0.0")]).await;
    let response = app
        .gql_with(
            &[("Authorization", &format!("Bearer {token}"))],
            "{ me { name } }",
            json!({}),
        )
        .await;
    assert_eq!(response.status.code, 401);
    let allowed = TestApp::spawn_with(&[("address", "0.0.0.0"), ("dev_tokens_on_public_address", "true")]).await;
    let me = allowed.gql_as(&token, "{ me { name } }", json!({})).await;
    assert_eq!(me["data"]["me"]["name"], "wanderer");
}

/// `healthcheck` run by another account from a directory it may not search (CI's 0700 clone, a root
/// home): there is no `.env` to read, and that is not an error.
#[test]
fn a_working_directory_the_user_cannot_search_is_no_error() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    if std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(1) != 0 {
        println!("skipped: needs root to run the binary as another account");
        return;
    }
    let dir = fresh_dir("private-cwd");
    std::fs::write(dir.join(".env"), "APP_ENV=development\n").unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    // Entered as root, then run as nobody: the process starts in a directory it cannot search.
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_homechef"))
        .arg("generate-secret-key")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn dotenv_is_read_from_the_working_directory_and_the_environment_wins() {
    let dir = fresh_dir("dotenv");
    std::fs::write(
        dir.join(".env"),
        format!("# copied from .env.example\nAPP_ENV=development\nSECRET_KEY=\"{TEST_SECRET_KEY}\"\n"),
    )
    .unwrap();
    let minted = homechef_in(&dir, &["dev-token", "--user", "dot"], &[]);
    assert!(minted.status.success(), "SECRET_KEY from .env: {}", stderr(&minted));
    let overridden = homechef_in(&dir, &["dev-token", "--user", "dot"], &[("APP_ENV", "production")]);
    assert!(!overridden.status.success(), "the environment wins over .env");
    std::fs::write(dir.join(".env"), "NOT A LINE\n").unwrap();
    let broken = homechef_in(&dir, &["schema"], &[]);
    assert!(!broken.status.success());
    assert!(stderr(&broken).contains(".env"), "{}", stderr(&broken));
    let _ = std::fs::remove_dir_all(dir);
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

/// A production configuration that passes every checklist item: its data directories under `dir`.
fn production_env(dir: &Path) -> Vec<(String, String)> {
    let key = stdout(&homechef(&["generate-secret-key"], &[])).trim().to_owned();
    let host = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        "clerk.homechef.internal$",
    );
    let webhook = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 24]);
    [
        ("APP_ENV", "production".to_owned()),
        ("SECRET_KEY", key),
        ("ALLOWED_ORIGINS", "https://app.homechef.internal".to_owned()),
        ("PUBLIC_BASE_URL", "https://api.homechef.internal".to_owned()),
        ("CLERK_PUBLISHABLE_KEY", format!("pk_live_{host}")),
        ("CLERK_SECRET_KEY", "sk_live_cli".to_owned()),
        ("CLERK_WEBHOOK_SECRET", format!("whsec_{webhook}")),
        ("CLAMD_ADDR", "127.0.0.1:9".to_owned()),
        ("RATE_LIMIT_ENABLED", "true".to_owned()),
        ("MEDIA_DIR", dir.join("media").display().to_string()),
        ("QUARANTINE_DIR", dir.join("quarantine").display().to_string()),
        ("LOG_DIR", dir.join("logs").display().to_string()),
    ]
    .map(|(k, v)| (k.to_owned(), v))
    .to_vec()
}

/// `production_env` with `changes` (a later value wins), as pairs for `homechef`.
fn with_changes<'a>(base: &'a [(String, String)], changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env: Vec<(&str, &str)> = base.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.extend_from_slice(changes);
    env
}

#[tokio::test]
async fn check_config_and_serve_agree_on_every_configuration() {
    let db = TestDatabase::create().await;
    let dir = fresh_dir("agree");
    let base = production_env(&dir);
    let database = [("DATABASE_URL", db.url.as_str())];
    // Each refused by both, and both name the variable.
    let refused: &[(&str, &str)] = &[
        ("CLERK_PUBLISHABLE_KEY", "pk_live_not*base64"),
        ("CLERK_PUBLISHABLE_KEY", "publishable"),
        ("CLERK_WEBHOOK_SECRET", "whsec_c2hvcnQ="),
        ("CLERK_WEBHOOK_SECRET", "not a secret"),
        ("CLERK_JWT_KEY", "-----BEGIN PUBLIC KEY-----"),
        ("SECRET_KEY", "short"),
        ("RATE_LIMIT_ENABLED", "maybe"),
        ("RATE_LIMIT_ENABLED", "false"),
        ("ALLOWED_ORIGINS", "https://app.example.com"),
        ("PUBLIC_BASE_URL", "https://api.example.com"),
        ("REDIS_URL", "cache:6379"),
        ("TRUSTED_PROXIES", "the proxy"),
        ("DATABASE_POOL_SIZE", "0"),
        ("MAX_UPLOAD_SIZE", "ten"),
    ];
    for &(name, value) in refused {
        let env = with_changes(&base, &[(name, value), database[0]]);
        let checked = homechef(&["check-config"], &env);
        let served = homechef(&["serve"], &env);
        let said = |o: &Output| format!("{}{}", stdout(o), stderr(o));
        assert!(!checked.status.success(), "check-config passed {name}={value}");
        assert!(!served.status.success(), "serve started with {name}={value}");
        for (what, output) in [("check-config", &checked), ("serve", &served)] {
            assert!(
                said(output).contains(name),
                "{what} on {name}={value}:\n{}",
                said(output)
            );
        }
    }
    // Accepted by both: the complete configuration, and the same with every optional value empty, as a
    // copied .env.production.example leaves them (empty counts as unset).
    let empty = [
        "CLERK_WEBHOOK_SECRET",
        "CLERK_AUDIENCE",
        "CLERK_ISSUER",
        "CLERK_JWT_KEY",
        "CLERK_JWKS_URL",
        "CLERK_AUTHORIZED_PARTIES",
        "ADMIN_USER_IDS",
        "REDIS_URL",
        "MEDIA_STORE",
        "TRUSTED_PROXIES",
        "DATABASE_PASSWORD",
        "DATABASE_POOL_SIZE",
        "MAX_UPLOAD_SIZE",
    ]
    .map(|name| (name, ""));
    for changes in [&[][..], &empty[..]] {
        let env = with_changes(&base, changes);
        let checked = homechef(&["check-config"], &with_changes(&base, &[changes, &database].concat()));
        assert!(checked.status.success(), "{}", stdout(&checked));
        let server = ServerProcess::spawn(&db, &dir, &env);
        assert!(
            becomes_ready(&server).await,
            "serve did not start on what check-config passed:\n{}",
            server.log()
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Polls `/health/ready` of a spawned server with `homechef healthcheck` for up to 10 s.
async fn becomes_ready(server: &ServerProcess) -> bool {
    let url = format!("http://{}/health/ready", server.addr);
    for _ in 0..100 {
        if homechef(&["healthcheck", "--url", &url], &[]).status.success() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn a_verbatim_copy_of_the_env_example_starts_in_development() {
    let db = TestDatabase::create().await;
    let dir = fresh_dir("env-example");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example"), dir.join(".env")).unwrap();
    let checked = homechef_in(&dir, &["check-config"], &[("DATABASE_URL", db.url.as_str())]);
    assert!(
        !stdout(&checked).contains("FAIL configuration is valid"),
        "{}",
        stdout(&checked)
    );
    let server = ServerProcess::spawn(&db, &dir, &[]);
    assert!(becomes_ready(&server).await, "{}", server.log());
    let _ = std::fs::remove_dir_all(dir);
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

/// `homechef serve` on the embedded PostgreSQL in `dir` until `signal` (a `kill` name); its exit status and
/// its log.
fn serve_until(dir: &Path, signal: &str) -> (std::process::ExitStatus, String) {
    let mut server = Served::start(dir, signal);
    let status = server.signal(signal);
    (status, server.log())
}

/// A `homechef serve` on the embedded PostgreSQL of its directory, ready.
struct Served {
    child: std::process::Child,
    ready: String,
    log_path: std::path::PathBuf,
}

impl Served {
    fn start(dir: &Path, name: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
            .to_string();
        let log_path = dir.join(format!("serve-{name}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut child = command_in(
            dir,
            &["serve"],
            &[
                ("ROCKET_PORT", &port),
                ("RUST_LOG", "info"),
                ("SECRET_KEY", TEST_SECRET_KEY),
            ],
        )
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
        let ready = format!("http://127.0.0.1:{port}/health/ready");
        let started = std::time::Instant::now();
        while !homechef(&["healthcheck", "--url", &ready], &[]).status.success() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            assert!(child.try_wait().unwrap().is_none(), "serve exited early:\n{log}");
            assert!(started.elapsed().as_secs() < 120, "never ready:\n{log}");
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        Self { child, ready, log_path }
    }

    fn is_ready(&self) -> bool {
        homechef(&["healthcheck", "--url", &self.ready], &[]).status.success()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Sends `signal` (a `kill` name) and waits for the exit.
    fn signal(&mut self, signal: &str) -> std::process::ExitStatus {
        let killed = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status();
        assert!(killed.unwrap().success());
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed().as_secs() < 60,
                "{signal}: still running:\n{}",
                self.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
}

#[test]
fn the_last_server_out_stops_the_embedded_postgresql_and_a_crashed_servers_cluster_is_adopted() {
    let dir = fresh_dir("leases");
    let db_path = || stderr(&homechef_in(&dir, &["db", "path"], &[]));
    // Ctrl-C on the first server while a second uses the cluster: the second keeps its database.
    let mut first = Served::start(&dir, "first");
    let mut second = Served::start(&dir, "second");
    assert!(second.log().contains("attached"), "{}", second.log());
    assert!(first.signal("INT").success());
    assert!(first.log().contains("left running"), "{}", first.log());
    assert!(
        second.is_ready(),
        "the second server lost the cluster:\n{}",
        second.log()
    );
    assert!(db_path().starts_with("running"), "{}", db_path());
    assert!(second.signal("TERM").success());
    assert!(second.log().contains("embedded PostgreSQL stopped"), "{}", second.log());
    assert_eq!(db_path().trim(), "not running");
    // kill -9: the next server adopts the cluster and stops it when it stops.
    let mut crashed = Served::start(&dir, "crashed");
    assert!(!crashed.signal("KILL").success());
    assert!(db_path().starts_with("running"), "{}", db_path());
    let mut next = Served::start(&dir, "next");
    assert!(next.log().contains("adopted"), "{}", next.log());
    assert!(next.signal("TERM").success());
    assert_eq!(db_path().trim(), "not running", "{}", next.log());
    // By hand, while a server uses it.
    let mut third = Served::start(&dir, "third");
    let stopped = homechef_in(&dir, &["db", "stop"], &[]);
    assert!(
        stdout(&stopped).contains("1 homechef server(s) still using it"),
        "{}",
        stdout(&stopped)
    );
    assert!(!third.is_ready());
    let said = (0..50).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(200));
        third.log().contains("stopped while this server runs")
    });
    assert!(said, "the server did not say its database was gone:\n{}", third.log());
    assert!(third.signal("TERM").success());
    assert!(third.log().contains("had already stopped"), "{}", third.log());
    let printed = stdout(&homechef_in(&dir, &["db", "path"], &[]));
    assert!(printed.trim().ends_with("postgres"), "{printed}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The `psql` URL a run printed.
fn printed_psql_url(log: &str) -> String {
    log.split("psql ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no psql URL in:\n{log}"))
        .trim_end_matches('"')
        .to_owned()
}

#[test]
fn the_embedded_postgresql_stops_with_the_server_on_hup_term_and_int_and_keeps_its_port() {
    let dir = fresh_dir("embedded");
    let mut urls = Vec::new();
    for signal in ["HUP", "TERM", "INT"] {
        let (status, log) = serve_until(&dir, signal);
        assert!(status.success(), "SIG{signal}: {status:?}\n{log}");
        assert!(log.contains("embedded PostgreSQL stopped"), "SIG{signal}:\n{log}");
        let url = printed_psql_url(&log);
        let port: u16 = url
            .rsplit(':')
            .next()
            .and_then(|p| p.split('/').next()?.parse().ok())
            .unwrap();
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "SIG{signal}: PostgreSQL still listens on {port}"
        );
        urls.push(url);
    }
    assert!(
        urls.windows(2).all(|w| w[0] == w[1]),
        "the same psql URL every run: {urls:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn as_root_a_project_in_a_private_directory_still_gets_its_embedded_postgresql() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    if std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(1) != 0 {
        println!("skipped: only a root process runs the cluster as another account (this one is not root)");
        return;
    }
    let home = fresh_dir("root-home");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    let project = home.join("homechef");
    std::fs::create_dir_all(&project).unwrap();
    let output = homechef_in(&project, &["migrate"], &[("RUST_LOG", "info")]);
    let log = format!("{}{}", stdout(&output), stderr(&output));
    assert!(output.status.success(), "{log}");
    assert!(log.contains("applied") || log.contains("up to date"), "{log}");
    assert!(log.contains("cannot reach"), "says where the cluster went: {log}");
    let shared = log
        .split("data_dir=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    assert!(shared.starts_with("/var/tmp/homechef-postgres/"), "{shared}");
    let again = homechef_in(&project, &["migrate"], &[]);
    assert!(
        stdout(&again).contains("database is up to date"),
        "the same cluster next time"
    );
    let _ = std::fs::remove_dir_all(format!("{shared}.leases"));
    let _ = std::fs::remove_dir_all(shared);
    let _ = std::fs::remove_dir_all(home);
}
