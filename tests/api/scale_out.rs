//! More than one instance on one database, as behind a load balancer: rate limits counted in one Redis, media
//! in one bucket, the maintenance run done by one instance at a time.

use std::sync::Arc;

use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl as _;
use homechef::maintenance::{Maintenance, Turn, LOCK_KEY};
use rocket::http::Status;
use serde_json::json;

use crate::helpers::{create_recipe, dev_token, error_code, unique_ip, SocketApp, TestApp};
use crate::perimeter::{events, from, HEALTH};
use crate::uploads::{cook, files_under, jpeg, part, run_maintenance, upload, upload_results};

/// A Redis of the test's own on a free loopback port (Debian's `redis-server`, which `.ci/run` installs),
/// keeping nothing on disk; stopped with the value. `None` (the test says so and passes) where redis-server
/// is not installed, except under `CI`, where that fails.
struct Redis {
    child: std::process::Child,
    url: String,
}

impl Redis {
    async fn start() -> Option<Self> {
        Self::start_on(free_port()).await
    }

    /// A Redis on `port`: a restarted one, empty, when the port was another's before.
    async fn start_on(port: u16) -> Option<Self> {
        let args = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ];
        let child = spawn_server("redis-server", &args, port, "redis-server: shared rate-limit tests").await?;
        Some(Self {
            child,
            url: format!("redis://127.0.0.1:{port}/"),
        })
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn delete_recipe(app: &TestApp, token: &str, recipe: &str) {
    let deleted = app
        .gql_as(
            token,
            "mutation($id: UUID!) { deleteRecipe(id: $id) }",
            json!({ "id": recipe }),
        )
        .await;
    assert_eq!(deleted["data"]["deleteRecipe"], true, "{deleted}");
}

/// A free loopback port.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

/// Starts a server of the test's own (output discarded) and waits up to 10 s until it listens on `port`.
/// `None` (the test says so and passes) where the program is not installed, except under `CI` (`.ci/run`
/// installs it), where that fails. `what` names the program and the tests it serves.
async fn spawn_server(program: &str, args: &[&str], port: u16, what: &str) -> Option<std::process::Child> {
    let spawned = std::process::Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(child) = spawned else {
        assert!(
            std::env::var("CI").is_err(),
            "{what}: not installed; .ci/run installs it"
        );
        eprintln!("{what} skipped: not installed");
        return None;
    };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Some(child)
}

#[tokio::test]
async fn two_instances_enforce_one_limit_through_redis() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let overrides = [("redis_url", redis.url.as_str())];
    let a = TestApp::spawn_with(&overrides).await;
    let b = TestApp::spawn_on(a.db.shared(), &overrides).await;
    // `/graphql` allows bursts of 20 per address: 10 through each instance use them up.
    let ip = unique_ip();
    for _ in 0..10 {
        assert_eq!(from(&a, ip, HEALTH).await.status, Status::Ok);
        assert_eq!(from(&b, ip, HEALTH).await.status, Status::Ok);
    }
    for app in [&a, &b] {
        let refused = from(app, ip, HEALTH).await;
        assert_eq!(refused.status, Status::TooManyRequests, "{}", refused.body);
        assert_eq!(error_code(&refused.json()), "RATE_LIMITED");
        assert!(refused
            .header("Retry-After")
            .is_some_and(|s| s.parse::<u64>().unwrap() >= 1));
        assert_eq!(refused.header("X-RateLimit-Limit"), Some("20"));
    }
    assert_eq!(events(&b, "rate_limited")[0]["details"]["class"], "graphql");
    assert_eq!(from(&b, unique_ip(), HEALTH).await.status, Status::Ok, "per address");
    // Writes (bursts of 15): 8 on one instance and 7 on the other.
    let writer = unique_ip();
    for n in 0..15 {
        let instance = if n % 2 == 0 { &a } else { &b };
        assert_eq!(
            from(instance, writer, "mutation { deleteAccount }").await.status,
            Status::Ok
        );
    }
    let refused = from(&a, writer, "mutation { deleteAccount }").await;
    assert_eq!(refused.status, Status::TooManyRequests);
    let health = a.get("/health").await.json();
    assert_eq!(health["rate_limit_store"], "up", "{health}");
}

#[tokio::test]
async fn authentication_failures_are_counted_and_blocked_across_instances() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let overrides = [("redis_url", redis.url.as_str())];
    let a = TestApp::spawn_with(&overrides).await;
    let b = TestApp::spawn_on(a.db.shared(), &overrides).await;
    let ip = Some(unique_ip());
    // 100 failures an hour per address: 50 through each instance use them up, the 101st blocks it on both.
    for _ in 0..50 {
        limits(&a).auth_failed(ip).await;
        limits(&b).auth_failed(ip).await;
    }
    assert!(
        limits(&a).auth_allowed(ip).await.is_ok(),
        "100 failures are still allowed"
    );
    limits(&b).auth_failed(ip).await;
    for app in [&a, &b] {
        let blocked = limits(app).auth_allowed(ip).await.err();
        assert!(
            blocked.is_some_and(|l| l.class == "auth_failures" && l.retry_after_secs >= 1),
            "blocked on every instance"
        );
    }
    assert!(limits(&a).auth_allowed(Some(unique_ip())).await.is_ok());
}

#[tokio::test]
async fn a_redis_outage_falls_back_to_local_limits_and_is_reported_once() {
    let Some(mut redis) = Redis::start().await else {
        return;
    };
    let app = TestApp::spawn_with(&[("redis_url", redis.url.as_str())]).await;
    let ip = unique_ip();
    for _ in 0..5 {
        assert_eq!(from(&app, ip, HEALTH).await.status, Status::Ok);
    }
    redis.stop();
    // Served on, counted in process: the 5 before and 15 more make the burst of 20.
    for i in 0..15 {
        let response = from(&app, ip, HEALTH).await;
        assert_eq!(
            response.status,
            Status::Ok,
            "request {i} during the outage: {}",
            response.body
        );
    }
    assert_eq!(from(&app, ip, HEALTH).await.status, Status::TooManyRequests);
    let outages = events(&app, "rate_limit_store_unavailable");
    assert_eq!(outages.len(), 1, "once per outage: {outages:?}");
    let health = app.get("/health").await;
    assert_eq!(health.status, Status::Ok);
    assert_eq!(
        (&health.json()["status"], &health.json()["rate_limit_store"]),
        (&json!("degraded"), &json!("down"))
    );
    assert_eq!(
        app.get("/health/ready").await.status,
        Status::Ok,
        "readiness does not depend on Redis"
    );
}

fn limits(app: &TestApp) -> &homechef::http::RateLimits {
    app.client.rocket().state().unwrap()
}

fn maintenance(app: &TestApp) -> Arc<Maintenance> {
    Arc::clone(app.client.rocket().state::<Arc<Maintenance>>().unwrap())
}

#[tokio::test]
async fn one_instance_runs_the_maintenance_and_a_dead_holder_does_not_block_it() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_on(a.db.shared(), &[]).await;
    let token = dev_token("cook");
    let recipe = create_recipe(&a, &token, "Old soup").await;
    delete_recipe(&b, &token, &recipe).await;
    // Another instance is in the middle of a run: it holds the lock on a connection of its own. Taken before
    // the deletion is aged, so that the instances' own start-up runs (on lift-off, racing this test) are over
    // or skip: only a run after this point could purge it.
    let mut holder = homechef::db::connect(&a.db.url).await.unwrap();
    diesel::sql_query("select pg_advisory_lock($1)")
        .bind::<BigInt, _>(LOCK_KEY)
        .execute(&mut holder)
        .await
        .unwrap();
    // A deletion older than the retention (90 days): only a run purges it.
    diesel::sql_query("update tombstones set deleted_at = now() - interval '100 days'")
        .execute(&mut a.db_conn().await)
        .await
        .unwrap();
    let (on_a, on_b) = (maintenance(&a), maintenance(&b));
    let (on_a, on_b) = tokio::join!(on_a.run(true), on_b.run(false));
    assert_eq!((on_a, on_b), (Turn::Skipped, Turn::Skipped));
    assert_eq!(
        a.count("tombstones", "true").await,
        1,
        "nothing purged while another instance runs"
    );

    // The holder dies: its session ends and the lock with it.
    drop(holder);
    let mut turn = Turn::Skipped;
    for _ in 0..50 {
        turn = maintenance(&b).run(false).await;
        if turn == Turn::Ran {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(turn, Turn::Ran);
    assert_eq!(a.count("tombstones", "true").await, 0, "purged by the run");
    // Released at the end of a run: the other instance's next turn runs.
    assert_eq!(maintenance(&a).run(false).await, Turn::Ran);
}

/// An S3 emulator of the test's own (moto's server from PyPI, which `.ci/run` installs into a virtual
/// environment and names in `MOTO_SERVER`; else `moto_server` on the PATH) on a free loopback port, with one
/// new bucket; stopped with the value. `None` (the test says so and passes) where moto is not installed,
/// except under `CI`, where that fails.
struct S3 {
    child: std::process::Child,
    port: u16,
    bucket: String,
}

impl S3 {
    async fn start() -> Option<Self> {
        let port = free_port();
        let program = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".to_owned());
        let args = ["-H", "127.0.0.1", "-p", &port.to_string()];
        let child = spawn_server(&program, &args, port, "moto_server (moto[server]): media bucket tests").await?;
        let s3 = Self {
            child,
            port,
            bucket: format!("hc-{}", uuid::Uuid::new_v4().simple()),
        };
        let bucket = format!("/{}", s3.bucket);
        assert_eq!(s3.request("PUT", &bucket).await.status, Status::Ok, "bucket created");
        Some(s3)
    }

    /// The settings of an instance whose variants go to this bucket under `media/`.
    fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("media_store", format!("s3://{}/media", self.bucket)),
            ("s3_endpoint", format!("http://127.0.0.1:{}", self.port)),
            ("aws_access_key_id", "testing".to_owned()),
            ("aws_secret_access_key", "testing".to_owned()),
            ("rate_limit_enabled", "false".to_owned()),
        ]
    }

    /// One request straight to the emulator (it does not check signatures).
    async fn request(&self, method: &str, path: &str) -> crate::helpers::TestResponse {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        crate::helpers::parse_http(&answer)
    }

    /// The keys in the bucket.
    async fn keys(&self) -> Vec<String> {
        let listing = self.request("GET", &format!("/{}?list-type=2", self.bucket)).await;
        assert_eq!(listing.status, Status::Ok, "{}", listing.body);
        listing
            .body
            .split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split_once("</Key>").map(|(key, _)| key.to_owned()))
            .collect()
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn as_overrides<'a>(settings: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    settings.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn media_in_a_bucket_are_served_by_every_instance_and_collected_with_their_recipe() {
    let Some(s3) = S3::start().await else {
        return;
    };
    let settings = s3.settings();
    let a = TestApp::spawn_with(&as_overrides(&settings)).await;
    let b_socket = SocketApp::spawn_on(a.db.shared(), &as_overrides(&settings)).await;
    let b = &b_socket.app;
    let (token, recipe) = cook(&a, "shared-baker").await;
    let photo = jpeg(900, 600);
    let results = upload_results(&a, &token, &recipe, &[part("loaf.jpg", "image/jpeg", photo.clone())]).await;
    assert_eq!(results[0]["status"], "PROMOTED", "{}", results[0]);
    let keys = s3.keys().await;
    let variants = results[0]["image"]["variants"].as_array().unwrap();
    assert_eq!(keys.len(), variants.len(), "one object per variant: {keys:?}");
    assert!(
        keys.iter().all(|k| k.starts_with("media/")),
        "under the prefix: {keys:?}"
    );
    assert!(files_under(&a.media_dir()).is_empty(), "nothing on the instance's disk");
    assert!(
        files_under(&a.quarantine_dir()).is_empty(),
        "the upload left the quarantine"
    );

    // Uploaded through A, served by B: same bytes, type, length and ETag; a current copy is a 304.
    for variant in variants {
        let url = variant["url"].as_str().unwrap();
        let (from_a, from_b) = (a.get(url).await, b.get(url).await);
        assert_eq!(from_b.status, Status::Ok, "{url}: {}", from_b.body);
        assert_eq!(from_b.bytes, from_a.bytes);
        assert_eq!(from_b.header("Content-Type"), variant["contentType"].as_str());
        // Over a real socket: a sized body (Content-Length from the row), not a chunked stream.
        let request = format!(
            "GET {url} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            b_socket.addr
        );
        let served = b_socket.raw(request.as_bytes()).await;
        assert_eq!(served.status, Status::Ok);
        assert_eq!(
            served.header("Content-Length"),
            Some(from_b.bytes.len().to_string().as_str())
        );
        assert_eq!(served.header("Transfer-Encoding"), None);
        let etag = from_b.header("ETag").unwrap().to_owned();
        assert_eq!(from_a.header("ETag"), Some(etag.as_str()));
        assert_eq!(
            from_b.header("Content-Security-Policy"),
            Some("default-src 'none'; sandbox")
        );
        let current = b.get_with(url, &[("If-None-Match", &etag)]).await;
        assert_eq!(current.status, Status::NotModified);
    }

    // The same picture again is stored once (content-addressed keys).
    upload_results(b, &token, &recipe, &[part("again.jpg", "image/jpeg", photo)]).await;
    assert_eq!(s3.keys().await, keys, "identical variants share their objects");

    // Deleting the recipe through B removes its objects once nothing refers to them.
    delete_recipe(b, &token, &recipe).await;
    run_maintenance(b).await;
    assert_eq!(
        s3.keys().await,
        Vec::<String>::new(),
        "objects collected with the recipe"
    );
}

#[tokio::test]
async fn an_unreachable_bucket_refuses_uploads_with_service_unavailable_and_keeps_nothing() {
    let Some(mut s3) = S3::start().await else {
        return;
    };
    let settings = s3.settings();
    let app = TestApp::spawn_with(&as_overrides(&settings)).await;
    let (token, recipe) = cook(&app, "stranded-baker").await;
    // The store goes away (moto keeps buckets in memory: nothing of it survives).
    let _ = s3.child.kill();
    let _ = s3.child.wait();
    let started = std::time::Instant::now();
    let response = upload(&app, &token, &recipe, &[part("loaf.jpg", "image/jpeg", jpeg(640, 480))]).await;
    assert_eq!(error_code(&response.json()), "SERVICE_UNAVAILABLE", "{}", response.body);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "a dead store answers within its deadlines: {:?}",
        started.elapsed()
    );
    assert!(
        !response.body.contains("127.0.0.1"),
        "no store details leak: {}",
        response.body
    );
    assert_eq!(app.count("media", "true").await, 0, "no half-promoted image");
    assert!(files_under(&app.media_dir()).is_empty());
    assert!(
        files_under(&app.quarantine_dir()).is_empty(),
        "nothing left in quarantine"
    );
    let recipe_images = app
        .gql_as(
            &token,
            "query($id: UUID!) { recipe(id: $id) { images { id } } }",
            json!({ "id": recipe }),
        )
        .await;
    assert_eq!(recipe_images["data"]["recipe"]["images"], json!([]), "{recipe_images}");
}

/// A persisted query stored through one instance is found by hash through the other (Redis holds it).
#[tokio::test]
async fn a_persisted_query_stored_through_one_instance_is_found_through_another() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let overrides = [("redis_url", redis.url.as_str())];
    let a = TestApp::spawn_with(&overrides).await;
    let b = TestApp::spawn_on(a.db.shared(), &overrides).await;
    let query = "{ health { status } }";
    let hash = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(query.as_bytes()))
    };
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let hash_only = json!({ "extensions": persisted }).to_string();
    let before = b
        .post_graphql_raw(rocket::http::ContentType::JSON, hash_only.clone(), &[])
        .await;
    assert_eq!(error_code(&before.json()), "PERSISTED_QUERY_NOT_FOUND");
    let full = json!({ "query": query, "extensions": persisted }).to_string();
    let stored = a.post_graphql_raw(rocket::http::ContentType::JSON, full, &[]).await;
    assert_eq!(stored.json()["data"]["health"]["status"], "OK", "{}", stored.body);
    let found = b
        .post_graphql_raw(rocket::http::ContentType::JSON, hash_only, &[])
        .await;
    assert_eq!(found.json(), json!({ "data": { "health": { "status": "OK" } } }));
}

/// Redis restarted empty while limits were used up: for a minute the in-process counters, which counted all
/// along, must agree too, so the address gets no fresh burst; the probe that found Redis again ran in the
/// background.
#[tokio::test]
async fn a_restarted_empty_redis_gives_no_fresh_burst() {
    let Some(mut redis) = Redis::start().await else {
        return;
    };
    let app = TestApp::spawn_with(&[("redis_url", redis.url.as_str())]).await;
    let ip = unique_ip();
    for _ in 0..20 {
        assert_eq!(from(&app, ip, HEALTH).await.status, Status::Ok);
    }
    assert_eq!(from(&app, ip, HEALTH).await.status, Status::TooManyRequests);
    let used_up = std::time::Instant::now();
    let port: u16 = redis
        .url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    redis.stop();
    // The next request finds the connection gone (the outage starts), then Redis is back, empty.
    assert_eq!(from(&app, ip, HEALTH).await.status, Status::TooManyRequests);
    let _restarted = Redis::start_on(port).await.unwrap();
    let started = std::time::Instant::now();
    loop {
        let _ = from(&app, unique_ip(), HEALTH).await;
        if app.get("/health").await.json()["rate_limit_store"] == "up" {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "Redis was never found again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // One request a second comes back (60 a minute); an emptied Redis alone would have allowed 20 at once.
    let mut served = 0;
    for _ in 0..20 {
        if from(&app, ip, HEALTH).await.status == Status::Ok {
            served += 1;
        }
    }
    let earned = used_up.elapsed().as_secs() + 1;
    assert!(
        served <= earned && served < 20,
        "{served} served, {earned} s after the burst was used up"
    );
}
