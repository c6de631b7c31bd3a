//! `TestApp`: the real application on a private database, plus request helpers.

use std::hash::{Hash as _, Hasher as _};
use std::path::Path;
use std::sync::OnceLock;

use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;
use homechef::config::{rocket_defaults, AppConfig};
use homechef::db::{self, embedded::EmbeddedPostgres};
use rocket::figment::Figment;
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::Client;
use serde_json::{json, Value};

/// The key every test app signs dev tokens with.
pub const TEST_SECRET_KEY: &str = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz";

/// Where test databases come from: a server and a template database migrated once per run.
struct TestDatabases {
    server_url: String,
    template: String,
}

static DATABASES: OnceLock<TestDatabases> = OnceLock::new();

/// Resolved once per process, on a thread of its own: tests each run on their own runtime.
fn databases() -> &'static TestDatabases {
    DATABASES.get_or_init(|| {
        std::thread::spawn(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime
                .block_on(prepare())
                .unwrap_or_else(|e| panic!("test database setup failed: {e:#}"))
        })
        .join()
        .unwrap()
    })
}

async fn prepare() -> anyhow::Result<TestDatabases> {
    let server_url = match std::env::var("TEST_DATABASE_URL").or_else(|_| std::env::var("DATABASE_URL")) {
        Ok(url) if !url.is_empty() => url,
        _ => {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("postgres");
            let pg = EmbeddedPostgres::start(&dir).await?;
            pg.stop_after_exit_of(std::process::id())?;
            pg.url("postgres")
        }
    };
    let template = format!("homechef_tpl_{:016x}", migrations_fingerprint());
    let mut admin = db::connect(&server_url).await?;
    // Several test processes may start at once: one builds the template, the others wait for it.
    diesel::sql_query("select pg_advisory_lock(727274)")
        .execute(&mut admin)
        .await?;
    if !database_exists(&mut admin, &template).await? {
        let building = format!("{template}_building");
        diesel::sql_query(format!("drop database if exists {building} with (force)"))
            .execute(&mut admin)
            .await?;
        diesel::sql_query(format!("create database {building}"))
            .execute(&mut admin)
            .await?;
        db::run_migrations(&with_database(&server_url, &building)).await?;
        diesel::sql_query(format!("alter database {building} rename to {template}"))
            .execute(&mut admin)
            .await?;
    }
    diesel::sql_query("select pg_advisory_unlock(727274)")
        .execute(&mut admin)
        .await?;
    Ok(TestDatabases { server_url, template })
}

async fn database_exists(conn: &mut diesel_async::AsyncPgConnection, name: &str) -> anyhow::Result<bool> {
    diesel::table! {
        pg_database (datname) {
            datname -> Text,
        }
    }
    let count: i64 = pg_database::table
        .filter(pg_database::datname.eq(name))
        .count()
        .get_result(conn)
        .await?;
    Ok(count > 0)
}

/// Changes when any migration changes, so an edited migration gets a fresh template.
fn migrations_fingerprint() -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut dirs: Vec<_> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs {
        dir.file_name().hash(&mut hasher);
        for file in ["up.sql", "down.sql"] {
            std::fs::read(dir.join(file)).unwrap_or_default().hash(&mut hasher);
        }
    }
    hasher.finish()
}

/// The same server URL with another database name (query string kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// A fresh database cloned from the template; dropped with the value (unless it lives on a cluster of the
/// test's own, which goes with it).
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    owned: bool,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let dbs = databases();
        let name = format!("homechef_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = db::connect(&dbs.server_url).await.unwrap();
        diesel::sql_query(format!("create database {name} template {}", dbs.template))
            .execute(&mut admin)
            .await
            .unwrap();
        Self {
            url: with_database(&dbs.server_url, &name),
            name,
            owned: true,
        }
    }

    /// The same database for another instance of the application (dropped with the first, not with this).
    pub fn shared(&self) -> Self {
        Self {
            name: self.name.clone(),
            url: self.url.clone(),
            owned: false,
        }
    }

    /// A migrated database on a cluster the test started itself.
    pub async fn on_cluster(cluster: &EmbeddedPostgres) -> Self {
        let name = format!("homechef_test_{}", uuid::Uuid::new_v4().simple());
        let url = cluster.ensure_database(&name).await.unwrap();
        db::run_migrations(&url).await.unwrap();
        Self {
            name,
            url,
            owned: false,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let name = self.name.clone();
        let server_url = databases().server_url.clone();
        // Drop runs inside the test's runtime, which cannot be blocked on: use a thread of our own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = db::connect(&server_url).await.ok()?;
                diesel::sql_query(format!("drop database if exists {name} with (force)"))
                    .execute(&mut admin)
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// The configuration tests start from: nothing from the process environment.
pub fn test_config(database_url: &str, overrides: &[(&str, &str)]) -> AppConfig {
    let mut figment = rocket_defaults(Figment::from(rocket::Config::debug_default()))
        .merge(("log_level", "critical"))
        .merge(("secret_key", TEST_SECRET_KEY))
        .merge(("database_url", database_url));
    for (key, value) in overrides {
        figment = figment.merge((*key, *value));
    }
    AppConfig::from_figment(figment).unwrap()
}

/// The real application on its own database, with its own log, media and quarantine directories.
pub struct TestApp {
    pub client: Client,
    pub db: TestDatabase,
    /// Holds `logs/`, `media/` and `quarantine/`; removed when the test ends.
    pub dir: std::path::PathBuf,
    pub log_dir: std::path::PathBuf,
}

/// An HTTP response, read whole.
pub struct TestResponse {
    pub status: Status,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub bytes: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    pub async fn spawn_with(overrides: &[(&str, &str)]) -> Self {
        Self::spawn_on(TestDatabase::create().await, overrides).await
    }

    /// The application on the given database.
    pub async fn spawn_on(db: TestDatabase, overrides: &[(&str, &str)]) -> Self {
        Self::spawn_configured(db, overrides, |_| {}).await
    }

    /// The application whose imports may fetch from a fixture server listening on `server` (a loopback
    /// address, which only tests can allow).
    pub async fn spawn_importing_from(server: std::net::SocketAddr, overrides: &[(&str, &str)]) -> Self {
        Self::spawn_configured(TestDatabase::create().await, overrides, |config| {
            config.import_test_addresses = vec![server];
        })
        .await
    }

    async fn spawn_configured(db: TestDatabase, overrides: &[(&str, &str)], edit: impl FnOnce(&mut AppConfig)) -> Self {
        homechef::telemetry::init_for_tests();
        // Per instance: two instances on one database have directories of their own.
        let instance = format!("{}-{}", db.name, &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("apps").join(instance);
        let log_dir = dir.join("logs");
        let dirs = app_dirs(&dir);
        let mut all: Vec<(&str, &str)> = dirs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend_from_slice(overrides);
        let mut config = test_config(&db.url, &all);
        edit(&mut config);
        let rocket = homechef::rocket(config).unwrap();
        let client = Client::tracked(rocket).await.unwrap();
        Self {
            client,
            db,
            dir,
            log_dir,
        }
    }

    pub fn media_dir(&self) -> std::path::PathBuf {
        self.dir.join("media")
    }

    pub fn quarantine_dir(&self) -> std::path::PathBuf {
        self.dir.join("quarantine")
    }

    /// Every line of `security_events.log` so far, parsed.
    pub fn security_events(&self) -> Vec<Value> {
        std::fs::read_to_string(self.log_dir.join(homechef::security_log::FILE_NAME))
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The raw text of `security_events.log`.
    pub fn security_log_text(&self) -> String {
        std::fs::read_to_string(self.log_dir.join(homechef::security_log::FILE_NAME)).unwrap_or_default()
    }

    /// A direct connection to this app's database, for arranging and checking state.
    pub async fn db_conn(&self) -> diesel_async::AsyncPgConnection {
        db::connect(&self.db.url).await.unwrap()
    }

    /// `select count(*) from <table> where <condition>`.
    pub async fn count(&self, table: &str, condition: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.db_conn().await;
        let row: Count = diesel::sql_query(format!("select count(*) as n from {table} where {condition}"))
            .get_result(&mut conn)
            .await
            .unwrap();
        row.n
    }

    pub async fn get(&self, uri: &str) -> TestResponse {
        self.get_with(uri, &[]).await
    }

    pub async fn get_with(&self, uri: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut request = self.client.get(uri.to_owned());
        for (name, value) in headers {
            request = request.header(Header::new(name.to_string(), value.to_string()));
        }
        read_local(request.dispatch().await).await
    }

    /// `POST /graphql` with a raw body and content type.
    pub async fn post_graphql_raw(
        &self,
        content_type: ContentType,
        body: impl Into<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut request = self.client.post("/graphql").header(content_type).body(body.into());
        for (name, value) in headers {
            request = request.header(Header::new(name.to_string(), value.to_string()));
        }
        read_local(request.dispatch().await).await
    }

    /// Runs an operation anonymously; returns the whole GraphQL response.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_with(&[], query, variables).await.json()
    }

    /// Runs an operation with a bearer token.
    pub async fn gql_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let auth = format!("Bearer {token}");
        let response = self.gql_with(&[("Authorization", &auth)], query, variables).await;
        assert_eq!(response.status, Status::Ok, "{}", response.body);
        response.json()
    }

    pub async fn gql_with(&self, headers: &[(&str, &str)], query: &str, variables: Value) -> TestResponse {
        let body = json!({ "query": query, "variables": variables }).to_string();
        self.post_graphql_raw(ContentType::JSON, body, headers).await
    }
}

/// `log_dir`, `media_dir` and `quarantine_dir` under one test directory.
pub fn app_dirs(dir: &Path) -> Vec<(&'static str, String)> {
    ["log_dir", "media_dir", "quarantine_dir"]
        .into_iter()
        .zip(["logs", "media", "quarantine"])
        .map(|(key, sub)| (key, dir.join(sub).to_str().unwrap().to_owned()))
        .collect()
}

pub async fn read_local(response: rocket::local::asynchronous::LocalResponse<'_>) -> TestResponse {
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|h| (h.name().to_string(), h.value().to_string()))
        .collect();
    let bytes = response.into_bytes().await.unwrap_or_default();
    TestResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes,
    }
}

/// A dev token for `user`, signed with the test key.
pub fn dev_token(user: &str) -> String {
    homechef::auth::dev_token::issue(
        &TEST_SECRET_KEY.to_owned().into(),
        user,
        Some(&format!("{user}@example.com")),
    )
    .unwrap()
}

/// `extensions.code` of the first error.
pub fn error_code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {response}"))
}

/// The application on a real socket (for client addresses, chunked and slow bodies).
pub struct SocketApp {
    pub app: TestApp,
    pub addr: std::net::SocketAddr,
    shutdown: rocket::Shutdown,
}

impl SocketApp {
    pub async fn spawn_with(overrides: &[(&str, &str)]) -> Self {
        Self::spawn_on(TestDatabase::create().await, overrides).await
    }

    /// The application on the given database, on a real socket (and on a local client, `app`).
    pub async fn spawn_on(db: TestDatabase, overrides: &[(&str, &str)]) -> Self {
        Self::spawn_configured(db, overrides, |_| {}).await
    }

    /// The launched application (so its background work runs: live changes, bulk imports) whose imports may
    /// fetch from a fixture server listening on `server`.
    pub async fn spawn_importing_from(server: std::net::SocketAddr, overrides: &[(&str, &str)]) -> Self {
        Self::spawn_configured(TestDatabase::create().await, overrides, |config| {
            config.import_test_addresses = vec![server];
        })
        .await
    }

    pub async fn spawn_configured(db: TestDatabase, overrides: &[(&str, &str)], edit: impl Fn(&mut AppConfig)) -> Self {
        let app = TestApp::spawn_configured(db, overrides, &edit).await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dirs = app_dirs(&app.dir);
        let mut all: Vec<(&str, &str)> = dirs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend_from_slice(overrides);
        let mut config = test_config(&app.db.url, &all);
        edit(&mut config);
        config.rocket = config.rocket.merge(("port", port));
        let server = homechef::rocket(config).unwrap().ignite().await.unwrap();
        let shutdown = server.shutdown();
        tokio::spawn(server.launch());
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Self { app, addr, shutdown }
    }

    /// Sends raw bytes (HTTP/1.0, so the answer is never chunked) and reads the whole answer.
    pub async fn raw(&self, request: &[u8]) -> TestResponse {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        parse_http(&answer)
    }

    /// A JSON `POST /graphql` with extra headers.
    pub async fn post_graphql(&self, headers: &[(&str, &str)], query: &str) -> TestResponse {
        let body = json!({ "query": query }).to_string();
        let mut request = format!(
            "POST /graphql HTTP/1.0\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(&body);
        self.raw(request.as_bytes()).await
    }
}

impl Drop for SocketApp {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
    }
}

pub fn parse_http(answer: &[u8]) -> TestResponse {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let code: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    TestResponse {
        status: Status::from_code(code).unwrap_or(Status::InternalServerError),
        headers,
        body: body.to_owned(),
        bytes: body.as_bytes().to_vec(),
    }
}

/// A TEST-NET address no other test uses, for rate limits keyed by client address.
pub fn unique_ip() -> std::net::IpAddr {
    let n = uuid::Uuid::new_v4().as_u128();
    std::net::IpAddr::from([10, (n >> 16) as u8, (n >> 8) as u8, n as u8])
}

/// Creates a recipe titled `title` for the token's user; returns its id.
pub async fn create_recipe(app: &TestApp, token: &str, title: &str) -> String {
    let created = app
        .gql_as(
            token,
            "mutation($t: String!) { createRecipe(input: { title: $t }) { id } }",
            json!({ "t": title }),
        )
        .await;
    created["data"]["createRecipe"]["id"].as_str().unwrap().to_owned()
}

/// Tags `recipe` with one tag and creates one collection, for the token's user: (tag id, collection id).
pub async fn tag_and_collection(app: &TestApp, token: &str, recipe: &str) -> (String, String) {
    let tagged = app
        .gql_as(
            token,
            "mutation($r: UUID!) { setRecipeTags(recipeId: $r, names: [\"winter\"]) { tags { id } } }",
            json!({ "r": recipe }),
        )
        .await;
    let created = app
        .gql_as(
            token,
            "mutation { createCollection(input: { name: \"Week\" }) { id } }",
            json!({}),
        )
        .await;
    let id = |v: &Value| v.as_str().unwrap().to_owned();
    (
        id(&tagged["data"]["setRecipeTags"]["tags"][0]["id"]),
        id(&created["data"]["createCollection"]["id"]),
    )
}

/// The real `homechef serve` binary in a process of its own (for what only a process shows: its memory, its
/// signals), on `db`, a free port and `dir`, with its log in `dir/serve.log`.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub addr: std::net::SocketAddr,
    pub log_path: std::path::PathBuf,
    /// One spawned server at a time: the tests that spawn one measure it (its memory, its stop within the
    /// shutdown grace), and two at once on this 2-core machine starved each other (a SIGTERM under a hostile
    /// import's load overran the grace period and the server exited with Rocket's shutdown error).
    _alone: std::sync::MutexGuard<'static, ()>,
}

static SPAWNED_SERVER: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl ServerProcess {
    pub fn spawn(db: &TestDatabase, dir: &Path, env: &[(&str, &str)]) -> Self {
        // A test that failed while holding the lock poisoned it; the next one may still run alone.
        let alone = SPAWNED_SERVER.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        std::fs::create_dir_all(dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log_path = dir.join("serve.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_homechef"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs([
                ("DATABASE_URL", db.url.as_str()),
                ("SECRET_KEY", TEST_SECRET_KEY),
                ("ROCKET_PORT", &port.to_string()),
                ("RATE_LIMIT_ENABLED", "false"),
                ("RUST_LOG", "info"),
            ])
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        Self {
            child,
            addr,
            log_path,
            _alone: alone,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
