//! Database faults and retries: idempotent mutations, connection faults answered as unavailability, the
//! database-side deadline, and a restart under write load (on a PostgreSQL cluster the test starts itself).

use std::path::Path;
use std::time::{Duration, Instant};

use diesel_async::{AsyncPgConnection, RunQueryDsl as _, SimpleAsyncConnection as _};
use homechef::db::embedded::EmbeddedPostgres;
use rocket::futures::future::join_all;
use rocket::http::Status;
use serde_json::{json, Value};

use crate::helpers::{dev_token, error_code, ServerProcess, TestApp, TestDatabase, TestResponse};

const CREATE: &str = "mutation($t: String!) { createRecipe(input: { title: $t, ingredients: [{ line: \"2 eggs\" }] }) \
                      { id title ingredients { item } } }";

async fn send(app: &TestApp, token: &str, key: Option<&str>, query: &str, variables: Value) -> TestResponse {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("Authorization", auth.as_str())];
    if let Some(key) = key {
        headers.push(("Idempotency-Key", key));
    }
    app.gql_with(&headers, query, variables).await
}

#[tokio::test]
async fn a_replayed_mutation_returns_the_first_response_without_running_again() {
    let app = TestApp::spawn().await;
    let token = dev_token("ida");
    let first = send(&app, &token, Some("k-1"), CREATE, json!({ "t": "Omelette" })).await;
    assert_eq!(first.status, Status::Ok, "{}", first.body);
    assert_eq!(first.json()["data"]["createRecipe"]["ingredients"][0]["item"], "eggs");
    assert_eq!(first.header("Idempotent-Replayed"), None);

    let replay = send(&app, &token, Some("\"k-1\""), CREATE, json!({ "t": "Omelette" })).await;
    assert_eq!(replay.status, Status::Ok);
    assert_eq!(replay.bytes, first.bytes, "byte for byte the first response");
    assert_eq!(replay.header("Idempotent-Replayed"), Some("true"));
    assert_eq!(app.count("recipes", "true").await, 1);

    let other = send(&app, &token, Some("k-1"), CREATE, json!({ "t": "Frittata" })).await;
    assert_eq!(other.status, Status::UnprocessableEntity, "{}", other.body);
    assert_eq!(error_code(&other.json()), "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(app.count("recipes", "true").await, 1);

    // Keys are per user: another user's identical request runs.
    let someone_else = send(&app, &dev_token("jo"), Some("k-1"), CREATE, json!({ "t": "Omelette" })).await;
    assert_eq!(someone_else.status, Status::Ok);
    assert_ne!(someone_else.bytes, first.bytes);
    assert_eq!(app.count("recipes", "true").await, 2);

    // Without a key, or on a query, nothing is kept.
    send(&app, &token, None, CREATE, json!({ "t": "Omelette" })).await;
    let query = send(&app, &token, Some("k-q"), "{ recipes { totalCount } }", json!({})).await;
    assert_eq!(query.json()["data"]["recipes"]["totalCount"], 2);
    assert_eq!(app.count("idempotency_keys", "true").await, 2);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_run_once() {
    let app = TestApp::spawn().await;
    let token = dev_token("kai");
    create_user(&app, &token).await;
    let answers =
        join_all((0..8).map(|_| send(&app, &token, Some("same-key"), CREATE, json!({ "t": "Shakshuka" })))).await;
    let mut bodies = Vec::new();
    for answer in &answers {
        match answer.status {
            Status::Ok => bodies.push(answer.bytes.clone()),
            Status::Conflict => {
                assert_eq!(error_code(&answer.json()), "CONFLICT");
                assert_eq!(answer.header("Retry-After"), Some("1"));
            }
            other => panic!("unexpected {other}: {}", answer.body),
        }
    }
    assert!(!bodies.is_empty());
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "every 200 is the one response");
    assert_eq!(app.count("recipes", "true").await, 1);
    // Once the first has finished, a retry of a refused one gets its response.
    let retried = send(&app, &token, Some("same-key"), CREATE, json!({ "t": "Shakshuka" })).await;
    assert_eq!(retried.bytes, bodies[0]);
}

#[tokio::test]
async fn a_key_whose_request_is_still_running_is_a_conflict_to_retry() {
    let app = TestApp::spawn().await;
    let token = dev_token("rio");
    let me = app.gql_as(&token, "{ me { id } }", json!({})).await;
    let user = me["data"]["me"]["id"].as_str().unwrap().to_owned();
    // What the first request holds while it runs: the key's lock.
    let mut first = app.db_conn().await;
    first
        .batch_execute(&format!("select pg_advisory_lock(727002, hashtext('{user}:running'))"))
        .await
        .unwrap();
    let second = send(&app, &token, Some("running"), CREATE, json!({ "t": "Soup" })).await;
    assert_eq!(second.status, Status::Conflict, "{}", second.body);
    assert_eq!(error_code(&second.json()), "CONFLICT");
    assert_eq!(second.header("Retry-After"), Some("1"));
    assert_eq!(app.count("recipes", "true").await, 0);
    first
        .batch_execute(&format!(
            "select pg_advisory_unlock(727002, hashtext('{user}:running'))"
        ))
        .await
        .unwrap();
    let retried = send(&app, &token, Some("running"), CREATE, json!({ "t": "Soup" })).await;
    assert_eq!(retried.status, Status::Ok, "{}", retried.body);
    assert_eq!(app.count("recipes", "true").await, 1);
}

#[tokio::test]
async fn each_field_of_an_idempotent_mutation_succeeds_or_fails_on_its_own() {
    let app = TestApp::spawn().await;
    let token = dev_token("lea");
    let mutation = "mutation { a: createCollection(input: { name: \"Soups\" }) { id } \
                    b: createCollection(input: { name: \"Soups\" }) { id } \
                    c: createRecipe(input: { title: \"Leek soup\" }) { id } }";
    let first = send(&app, &token, Some("three-fields"), mutation, json!({})).await;
    let json = first.json();
    assert!(json["data"]["a"]["id"].is_string(), "{json}");
    assert_eq!(error_code(&json), "CONFLICT", "{json}");
    assert!(
        json["data"]["c"]["id"].is_string(),
        "the field after a failed one still runs: {json}"
    );
    assert_eq!(app.count("collections", "true").await, 1);
    assert_eq!(app.count("recipes", "true").await, 1);
    let replay = send(&app, &token, Some("three-fields"), mutation, json!({})).await;
    assert_eq!(replay.bytes, first.bytes);
    assert_eq!(app.count("collections", "true").await, 1);
}

#[tokio::test]
async fn bad_keys_and_anonymous_mutations_are_refused_clearly() {
    let app = TestApp::spawn().await;
    let token = dev_token("max");
    for key in ["", &"k".repeat(256), "caf\u{e9}"] {
        let answer = send(&app, &token, Some(key), CREATE, json!({ "t": "Tea" })).await;
        assert_eq!(answer.status, Status::BadRequest, "{key:?}: {}", answer.body);
        assert_eq!(error_code(&answer.json()), "BAD_REQUEST");
    }
    let anonymous = app
        .gql_with(&[("Idempotency-Key", "anon")], CREATE, json!({ "t": "Tea" }))
        .await;
    assert_eq!(error_code(&anonymous.json()), "UNAUTHENTICATED");
    assert_eq!(app.count("recipes", "true").await, 0);
    assert_eq!(app.count("idempotency_keys", "true").await, 0);
}

async fn create_user(app: &TestApp, token: &str) {
    let me = app.gql_as(token, "{ me { id } }", json!({})).await;
    assert!(me["data"]["me"]["id"].is_string(), "{me}");
}

/// Holds an exclusive lock on `recipes` in a transaction of its own, so that statements on it wait.
async fn lock_recipes(url: &str) -> AsyncPgConnection {
    let mut conn = homechef::db::connect(url).await.unwrap();
    conn.batch_execute("begin; lock table recipes in access exclusive mode")
        .await
        .unwrap();
    conn
}

/// The backends of this database waiting for a lock (`pid`s), polled until there are `n`.
async fn waiting_for_lock(conn: &mut AsyncPgConnection, n: usize) -> Vec<i32> {
    #[derive(diesel::QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let started = Instant::now();
    loop {
        let pids: Vec<Pid> = diesel::sql_query(
            "select pid from pg_stat_activity where datname = current_database() \
             and wait_event_type = 'Lock' and pid <> pg_backend_pid()",
        )
        .load(conn)
        .await
        .unwrap();
        if pids.len() == n || started.elapsed() > Duration::from_secs(15) {
            return pids.into_iter().map(|p| p.pid).collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_query_past_its_deadline_is_cancelled_in_postgresql_too() {
    let app = TestApp::spawn().await;
    let token = dev_token("ned");
    create_user(&app, &token).await;
    let mut lock = lock_recipes(&app.db.url).await;
    let mut observer = homechef::db::connect(&app.db.url).await.unwrap();
    let (answer, waiting) = tokio::join!(
        send(&app, &token, None, "{ recipes { totalCount } }", json!({})),
        waiting_for_lock(&mut observer, 1)
    );
    assert_eq!(waiting.len(), 1, "the query waited in PostgreSQL");
    assert_eq!(answer.status, Status::ServiceUnavailable, "{}", answer.body);
    assert_eq!(error_code(&answer.json()), "EXECUTION_TIMEOUT");
    // The statement does not outlive the request: PostgreSQL cancels it (statement_timeout) at once.
    let started = Instant::now();
    while !waiting_for_lock(&mut observer, 0).await.is_empty() {
        assert!(started.elapsed() < Duration::from_secs(3), "the statement still runs");
    }
    lock.batch_execute("rollback").await.unwrap();
}

/// A PostgreSQL cluster of the test's own, under the test's temporary directory.
async fn private_cluster(name: &str) -> (EmbeddedPostgres, std::path::PathBuf) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cluster-{name}"));
    let cluster = EmbeddedPostgres::start(&dir).await.unwrap();
    cluster.stop_after_exit_of(std::process::id()).unwrap();
    (cluster, dir)
}

/// `(status, code or "OK", recipe id)` of a write.
type Outcome = (u16, String, Option<String>);

fn outcome(answer: &TestResponse) -> Outcome {
    let json: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    let id = json["data"]["createRecipe"]["id"].as_str().map(str::to_owned);
    let code = json["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("OK")
        .to_owned();
    (answer.status.code, code, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_faults_are_unavailability_and_no_acknowledged_write_is_lost() {
    let (mut cluster, dir) = private_cluster("faults").await;
    let db = TestDatabase::on_cluster(&cluster).await;
    let url = db.url.clone();
    let app = TestApp::spawn_on(db, &[("rate_limit_enabled", "false")]).await;
    let token = dev_token("ola");
    create_user(&app, &token).await;

    // 1. The backends of a write and of a read are terminated while they wait.
    let mut lock = lock_recipes(&url).await;
    let mut admin = homechef::db::connect(&url).await.unwrap();
    let kill = async {
        let pids = waiting_for_lock(&mut admin, 2).await;
        assert_eq!(pids.len(), 2);
        for pid in pids {
            admin
                .batch_execute(&format!("select pg_terminate_backend({pid})"))
                .await
                .unwrap();
        }
        lock.batch_execute("rollback").await.unwrap();
    };
    let (write, read, ()) = tokio::join!(
        send(&app, &token, Some("w-1"), CREATE, json!({ "t": "Cut off" })),
        send(&app, &token, None, "{ recipes { totalCount } }", json!({})),
        kill
    );
    assert_eq!(write.status, Status::ServiceUnavailable, "{}", write.body);
    assert_eq!(error_code(&write.json()), "SERVICE_UNAVAILABLE");
    assert_eq!(write.header("Retry-After"), Some("2"));
    assert!(!write.body.contains("terminating"), "{}", write.body);
    assert_eq!(
        read.status,
        Status::Ok,
        "a read is retried once on a fresh connection: {}",
        read.body
    );
    assert_eq!(read.json()["data"]["recipes"]["totalCount"], 0);
    // The write was not committed (nor its key): the same request with the same key now runs.
    let again = send(&app, &token, Some("w-1"), CREATE, json!({ "t": "Cut off" })).await;
    assert_eq!(again.status, Status::Ok, "{}", again.body);
    assert_eq!(again.header("Idempotent-Replayed"), None);

    // 2. Writers keep writing while the cluster restarts.
    let running = std::sync::atomic::AtomicBool::new(true);
    let writer = |n: usize| {
        let (app, token, running) = (&app, &token, &running);
        async move {
            let mut outcomes: Vec<Outcome> = Vec::new();
            let mut i = 0;
            while running.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let answer = send(app, token, None, CREATE, json!({ "t": format!("w{n}-{i}") })).await;
                let result = outcome(&answer);
                if result.0 == 503 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                outcomes.push(result);
            }
            outcomes
        }
    };
    let restart = async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(cluster.stop().await.unwrap(), homechef::db::embedded::Stopped::Stopped);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let restarted = EmbeddedPostgres::start(&dir).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        running.store(false, std::sync::atomic::Ordering::Relaxed);
        restarted
    };
    let (by_writer, mut restarted) = tokio::join!(join_all((0..4).map(writer)), restart);
    for outcomes in &by_writer {
        assert_eq!(
            outcomes.last().map(|o| o.0),
            Some(200),
            "writes resumed after the restart"
        );
    }
    let outcomes: Vec<Outcome> = by_writer.into_iter().flatten().collect();
    let acknowledged: Vec<&str> = outcomes.iter().filter_map(|o| o.2.as_deref()).collect();
    for (status, code, id) in &outcomes {
        match id {
            Some(_) => assert_eq!(*status, 200),
            None => assert_eq!((*status, code.as_str()), (503, "SERVICE_UNAVAILABLE"), "{outcomes:?}"),
        }
    }
    assert!(outcomes.iter().any(|o| o.0 == 503), "the outage was seen");
    let stored = count_recipes(&app.db.url, &acknowledged).await;
    assert_eq!(stored, acknowledged.len(), "every acknowledged write is stored");
    drop(app);
    restarted.stop().await.unwrap();
}

/// One `createRecipe` over a fresh connection; `None` when the server did not answer (it had stopped).
fn create_over_socket(addr: std::net::SocketAddr, token: &str, title: &str) -> Option<TestResponse> {
    use std::io::{Read as _, Write as _};
    let body = json!({ "query": CREATE, "variables": { "t": title } }).to_string();
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    let request = format!(
        "POST /graphql HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    (!answer.is_empty()).then(|| crate::helpers::parse_http(&answer))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_burst_of_writes_loses_no_acknowledged_write() {
    let db = TestDatabase::create().await;
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sigterm-{}", db.name));
    let mut process = ServerProcess::spawn(&db, &dir, &[]);
    let (addr, log_path) = (process.addr, process.log_path.clone());
    let server = &mut process.child;
    let token = dev_token("sam");
    let started = Instant::now();
    while create_over_socket(addr, &token, "warm-up").is_none_or(|r| r.status != Status::Ok) {
        assert!(
            server.try_wait().unwrap().is_none(),
            "{}",
            std::fs::read_to_string(&log_path).unwrap()
        );
        assert!(started.elapsed() < Duration::from_secs(60), "the server never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let writers: Vec<_> = (0..6)
        .map(|n| {
            let token = token.clone();
            std::thread::spawn(move || {
                let mut answers = Vec::new();
                for i in 0.. {
                    match create_over_socket(addr, &token, &format!("burst {n}-{i}")) {
                        Some(answer) => answers.push(outcome(&answer)),
                        None => return answers,
                    }
                }
                answers
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (status, _) = sigterm(server).await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(status.success(), "{status:?}\n{log}");
    let outcomes: Vec<Outcome> = writers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    let acknowledged: Vec<&str> = outcomes.iter().filter_map(|o| o.2.as_deref()).collect();
    assert!(acknowledged.len() > 10, "a burst was under way: {outcomes:?}");
    for (status, code, _) in outcomes.iter().filter(|o| o.2.is_none()) {
        assert_eq!((*status, code.as_str()), (503, "SERVICE_UNAVAILABLE"), "{log}");
    }
    let stored = count_recipes(&db.url, &acknowledged).await;
    assert_eq!(stored, acknowledged.len(), "every 200 is committed");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sends SIGTERM and waits for the exit, which must come within `docker stop`'s 10 s: the status and how long
/// it took.
async fn sigterm(server: &mut std::process::Child) -> (std::process::ExitStatus, Duration) {
    let killed = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(server.id().to_string())
        .status();
    assert!(killed.unwrap().success());
    let stopping = Instant::now();
    loop {
        if let Some(status) = server.try_wait().unwrap() {
            return (status, stopping.elapsed());
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many of `ids` are stored.
async fn count_recipes(url: &str, ids: &[&str]) -> usize {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = homechef::db::connect(url).await.unwrap();
    let ids: Vec<uuid::Uuid> = ids.iter().map(|id| id.parse().unwrap()).collect();
    let row: Count = diesel::sql_query("select count(*) as n from recipes where id = any($1)")
        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
        .get_result(&mut conn)
        .await
        .unwrap();
    usize::try_from(row.n).unwrap()
}

#[tokio::test]
async fn files_of_what_an_idempotent_mutation_deleted_go_once_it_has_committed() {
    use crate::uploads::{cook, files_under, jpeg, part, upload_app, upload_results};
    let app = upload_app(&[]).await;
    let (token, recipe) = cook(&app, "pia").await;
    upload_results(&app, &token, &recipe, &[part("a.jpg", "image/jpeg", jpeg(300, 200))]).await;
    assert!(!files_under(&app.media_dir()).is_empty());
    let delete = "mutation($id: UUID!) { deleteRecipe(id: $id) }";
    let deleted = send(&app, &token, Some("del-1"), delete, json!({ "id": recipe })).await;
    assert_eq!(deleted.json()["data"]["deleteRecipe"], true, "{}", deleted.body);
    assert!(files_under(&app.media_dir()).is_empty(), "collected after the commit");
    assert_eq!(app.count("media_garbage", "true").await, 0);
    let replay = send(&app, &token, Some("del-1"), delete, json!({ "id": recipe })).await;
    assert_eq!(replay.bytes, deleted.bytes, "the replay says true, not NOT_FOUND");
}

#[tokio::test]
async fn stored_responses_are_forgotten_after_24_hours() {
    let app = TestApp::spawn().await;
    let token = dev_token("quin");
    send(&app, &token, Some("old"), CREATE, json!({ "t": "Old" })).await;
    send(&app, &token, Some("new"), CREATE, json!({ "t": "New" })).await;
    let mut conn = app.db_conn().await;
    conn.batch_execute("update idempotency_keys set created_at = now() - interval '25 hours' where key = 'old'")
        .await
        .unwrap();
    // An expired key is a new request again.
    let again = send(&app, &token, Some("old"), CREATE, json!({ "t": "Old" })).await;
    assert_eq!(again.header("Idempotent-Replayed"), None);
    assert_eq!(app.count("recipes", "true").await, 3);
    conn.batch_execute("update idempotency_keys set created_at = now() - interval '25 hours' where key = 'old'")
        .await
        .unwrap();
    let purged = homechef::idempotency::purge_expired(&mut conn, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(purged, 1);
    assert_eq!(app.count("idempotency_keys", "true").await, 1);
}

/// A stop with requests that cannot finish in time (each waits on a row lock the test holds) and idle
/// keep-alive connections: every stuck request is answered 503 `SERVICE_UNAVAILABLE` with `Retry-After` and
/// `Connection: close` before the grace ends, its transaction rolled back; idle connections are closed
/// cleanly (end of stream, no reset); the process exits 0 well within `docker stop`'s 10 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_answers_stuck_requests_and_closes_idle_connections_cleanly() {
    use std::io::{Read as _, Write as _};
    let db = TestDatabase::create().await;
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("stuck-{}", db.name));
    let mut process = ServerProcess::spawn(&db, &dir, &[]);
    let addr = process.addr;
    let token = dev_token("stuck");
    let started = Instant::now();
    let recipe = loop {
        if let Some(answer) = create_over_socket(addr, &token, "Held").filter(|r| r.status == Status::Ok) {
            break answer.json()["data"]["createRecipe"]["id"].as_str().unwrap().to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server never answered: {}",
            process.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut holder = homechef::db::connect(&db.url).await.unwrap();
    holder
        .batch_execute(&format!(
            "begin; select 1 from recipes where id = '{recipe}' for update"
        ))
        .await
        .unwrap();

    let stuck: Vec<_> = (0..4)
        .map(|i| {
            let (token, recipe) = (token.clone(), recipe.clone());
            std::thread::spawn(move || {
                let body = json!({
                    "query": "mutation($id: UUID!, $t: String!) { updateRecipe(id: $id, expectedVersion: 1, patch: { title: $t }) { id } }",
                    "variables": { "id": recipe, "t": format!("changed {i}") },
                })
                .to_string();
                let mut stream = std::net::TcpStream::connect(addr).unwrap();
                let request = format!(
                    "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
                     Authorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(request.as_bytes()).unwrap();
                let mut answer = Vec::new();
                let read = stream.read_to_end(&mut answer);
                (read.map_err(|e| e.kind()), crate::helpers::parse_http(&answer))
            })
        })
        .collect();
    // Idle keep-alive connections: one request answered on each, then nothing.
    let mut idle: Vec<std::net::TcpStream> = (0..3)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            let request = format!("GET /health/live HTTP/1.1\r\nHost: {addr}\r\n\r\n");
            stream.write_all(request.as_bytes()).unwrap();
            let mut buf = [0; 4096];
            let n = stream.read(&mut buf).unwrap();
            assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
            stream
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (status, stopped_in) = sigterm(&mut process.child).await;
    let log = process.log();
    assert!(status.success(), "{status:?}\n{log}");
    for thread in stuck {
        let (read, answer) = thread.join().unwrap();
        assert!(read.is_ok(), "the answer was read to its end: {read:?} {log}");
        assert_eq!(answer.status.code, 503, "{}\n{log}", answer.body);
        assert_eq!(error_code(&answer.json()), "SERVICE_UNAVAILABLE");
        assert!(answer.header("Retry-After").is_some(), "{:?}", answer.headers);
        assert_eq!(answer.header("Connection"), Some("close"), "{:?}", answer.headers);
    }
    for stream in &mut idle {
        let mut rest = Vec::new();
        assert_eq!(
            stream.read_to_end(&mut rest).map_err(|e| e.kind()),
            Ok(0),
            "closed cleanly"
        );
    }
    holder.batch_execute("rollback").await.unwrap();
    let title: Vec<String> = {
        #[derive(diesel::QueryableByName)]
        struct Title {
            #[diesel(sql_type = diesel::sql_types::Text)]
            title: String,
        }
        diesel::sql_query(format!("select title from recipes where id = '{recipe}'"))
            .load::<Title>(&mut holder)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.title)
            .collect()
    };
    assert_eq!(title, ["Held"], "the stuck writes were rolled back");
    eprintln!("stopped in {stopped_in:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A key header that is present but unusable is refused before anything runs, never ignored: two keys, or a
/// key that is not visible ASCII (a Latin-1 one never reaches us: Rocket drops it, and Caddy refuses it,
/// `scripts/verify-container.sh`).
#[tokio::test]
async fn unusable_idempotency_keys_are_refused_and_nothing_runs() {
    let app = TestApp::spawn().await;
    let auth = format!("Bearer {}", dev_token("keys"));
    let create = json!({ "query": CREATE, "variables": { "t": "Twice?" } }).to_string();
    for keys in [vec!["first", "second"], vec!["caf\u{e9}"], vec![""]] {
        let mut headers = vec![("Authorization", auth.as_str())];
        headers.extend(keys.iter().map(|key| ("Idempotency-Key", *key)));
        let refused = app
            .post_graphql_raw(rocket::http::ContentType::JSON, create.clone(), &headers)
            .await;
        assert_eq!(refused.status, Status::BadRequest, "{keys:?}: {}", refused.body);
        assert_eq!(error_code(&refused.json()), "BAD_REQUEST");
    }
    assert_eq!(app.count("recipes", "true").await, 0);
}
