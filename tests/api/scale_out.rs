//! More than one instance on one database, as behind a load balancer: rate limits counted in one Redis, the
//! maintenance run done by one instance at a time.

use std::sync::Arc;

use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl as _;
use homechef::maintenance::{Maintenance, Turn, LOCK_KEY};
use rocket::http::Status;
use serde_json::json;

use crate::helpers::{create_recipe, dev_token, error_code, unique_ip, TestApp};
use crate::perimeter::{events, from, HEALTH};

/// A Redis of the test's own on a free loopback port (Debian's `redis-server`, which `.ci/run` installs),
/// keeping nothing on disk; stopped with the value. `None` (the test says so and passes) where redis-server
/// is not installed, except under `CI`, where that fails.
struct Redis {
    child: std::process::Child,
    url: String,
}

impl Redis {
    async fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let spawned = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn();
        let Ok(child) = spawned else {
            assert!(
                std::env::var("CI").is_err(),
                "redis-server is not installed; .ci/run installs it"
            );
            eprintln!("redis-server not installed: shared rate-limit tests skipped (apt-get install redis-server)");
            return None;
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
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
    // Writes (bursts of 10): 5 + 5.
    let writer = unique_ip();
    for _ in 0..5 {
        assert_eq!(from(&a, writer, "mutation { deleteAccount }").await.status, Status::Ok);
        assert_eq!(from(&b, writer, "mutation { deleteAccount }").await.status, Status::Ok);
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
    let deleted = b
        .gql_as(
            &token,
            "mutation($id: UUID!) { deleteRecipe(id: $id) }",
            json!({ "id": recipe }),
        )
        .await;
    assert_eq!(deleted["data"]["deleteRecipe"], true, "{deleted}");
    // A deletion older than the retention (90 days): only a run purges it.
    diesel::sql_query("update tombstones set deleted_at = now() - interval '100 days'")
        .execute(&mut a.db_conn().await)
        .await
        .unwrap();

    // Another instance is in the middle of a run: it holds the lock on a connection of its own.
    let mut holder = homechef::db::connect(&a.db.url).await.unwrap();
    diesel::sql_query("select pg_advisory_lock($1)")
        .bind::<BigInt, _>(LOCK_KEY)
        .execute(&mut holder)
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
