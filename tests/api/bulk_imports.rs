//! Bulk imports by address as a person bringing their bookmarks uses them: a job runs in the background, saves
//! each page as a recipe, skips what they have, says why the rest failed, asks one site at most once a second,
//! can be cancelled, and is taken up again when the instance that ran it stopped.

use std::time::Duration;

use diesel_async::RunQueryDsl as _;
use serde_json::{json, Value};

use crate::helpers::{dev_token, error_code, SocketApp, TestApp};
use crate::imports::{fixture_server, requested_path};
use crate::live::Socket;

const UNLIMITED: &[(&str, &str)] = &[("rate_limit_enabled", "false")];
const START: &str = "mutation($u: [String!]!) { startRecipeImport(urls: $u) { id state total pending } }";
const FOLLOW: &str = "query($i: UUID!) { recipeImport(id: $i) { state total imported duplicates failed pending results { position url outcome code recipeId finishedAt } } }";

/// The job `id` once it is in one of `states`, polled as a client would (for two minutes at most).
async fn until(app: &TestApp, token: &str, id: &str, states: &[&str]) -> Value {
    for _ in 0..1200 {
        let job = app.gql_as(token, FOLLOW, json!({ "i": id })).await;
        assert!(job["errors"].is_null(), "{job}");
        if states.contains(&job["data"]["recipeImport"]["state"].as_str().unwrap()) {
            return job["data"]["recipeImport"].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the import {id} never reached {states:?}");
}

fn finished_at(result: &Value) -> chrono::DateTime<chrono::Utc> {
    result["finishedAt"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_bulk_import_saves_each_page_skips_what_you_have_and_says_why_not() {
    let server = fixture_server().await;
    // Launched: imports run in the background of a running server.
    let launched = SocketApp::spawn_importing_from(server, UNLIMITED).await;
    let app = &launched.app;
    let token = dev_token("bulk-alice");
    let at = |path: &str| format!("http://{server}{path}");
    let had = app
        .gql_as(
            &token,
            "mutation($u: String!) { createRecipe(input: { title: \"My tikka\", sourceUrl: $u }) { id } }",
            json!({ "u": at("/tikka") }),
        )
        .await;
    let had = had["data"]["createRecipe"]["id"].as_str().unwrap().to_owned();

    let urls = [
        at("/tikka"),
        at("/apple"),
        at("/r1"),
        at("/missing"),
        at("/huge"),
        "http://10.0.0.1/recipes/1".to_owned(),
        at("/apple"),
    ];
    let started = app.gql_as(&token, START, json!({ "u": urls })).await;
    assert!(started["errors"].is_null(), "{started}");
    let job = started["data"]["startRecipeImport"].clone();
    assert_eq!(job["total"], 6, "a repeated address counts once: {job}");
    let id = job["id"].as_str().unwrap().to_owned();
    // Its progress, live: a change per address done, the last one DONE, then the subscription ends.
    let mut socket = Socket::signed_in(&launched, &token).await;
    socket
        .subscribe(
            "i",
            "subscription($i: UUID!) { recipeImportChanged(id: $i) { state imported pending } }",
            json!({ "i": id }),
        )
        .await;
    // One at a time.
    let second = app.gql_as(&token, START, json!({ "u": [at("/apple")] })).await;
    assert_eq!(error_code(&second), "CONFLICT", "{second}");

    let done = until(app, &token, &id, &["DONE"]).await;
    let mut heard = Vec::new();
    loop {
        let message = socket.next().await;
        if message["type"] == "complete" {
            break;
        }
        heard.push(message["payload"]["data"]["recipeImportChanged"].clone());
    }
    assert_eq!(
        heard.last(),
        Some(&json!({ "state": "DONE", "imported": 2, "pending": 0 })),
        "{heard:?}"
    );
    assert!(heard.len() >= 3, "progress along the way: {heard:?}");
    let results = done["results"].as_array().unwrap();
    let outcomes: Vec<(&str, &str)> = results
        .iter()
        .map(|r| (r["outcome"].as_str().unwrap(), r["code"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("DUPLICATE", ""),
            ("IMPORTED", ""),
            ("IMPORTED", ""),
            ("FAILED", "UPSTREAM_HTTP_ERROR"),
            ("FAILED", "IMPORT_TOO_LARGE"),
            ("FAILED", "IMPORT_BLOCKED_ADDRESS"),
        ],
        "{done}"
    );
    assert_eq!(
        (
            &done["imported"],
            &done["duplicates"],
            &done["failed"],
            &done["pending"]
        ),
        (&json!(2), &json!(1), &json!(3), &json!(0))
    );
    assert_eq!(results[0]["recipeId"], had.as_str());
    // Each import is a recipe from its address, with what the page says.
    for (result, title) in [(&results[1], "Apple Pie"), (&results[2], "Apple Pie")] {
        let recipe = app
            .gql_as(
                &token,
                "query($r: UUID!) { recipe(id: $r) { title sourceType sourceUrl ingredients { item } images { id } } }",
                json!({ "r": result["recipeId"] }),
            )
            .await;
        let recipe = &recipe["data"]["recipe"];
        assert!(recipe["title"].as_str().unwrap().contains(title), "{recipe}");
        assert_eq!(recipe["sourceType"], "WEBSITE");
        assert_eq!(recipe["sourceUrl"], result["url"]);
        assert!(!recipe["ingredients"].as_array().unwrap().is_empty(), "{recipe}");
        // The page's picture, fetched and promoted through the upload pipeline.
        assert_eq!(recipe["images"].as_array().unwrap().len(), 1, "{recipe}");
    }
    // Politely: the fixture site was asked once a second at most (the private address is another "site"), so
    // its four pages took three seconds at least.
    let asked: Vec<_> = results[1..5].iter().map(finished_at).collect();
    for pair in asked.windows(2) {
        assert!(pair[1] - pair[0] >= chrono::Duration::milliseconds(500), "{asked:?}");
    }
    assert!(asked[3] - asked[0] >= chrono::Duration::milliseconds(2500), "{asked:?}");
    assert!(app.security_log_text().contains("import_blocked_address"));

    // Anyone else's is NOT_FOUND, like a random id; bad lists queue nothing.
    let mallory = dev_token("bulk-mallory");
    for target in [id.clone(), uuid::Uuid::now_v7().to_string()] {
        let peek = app.gql_as(&mallory, FOLLOW, json!({ "i": target })).await;
        assert_eq!(error_code(&peek), "NOT_FOUND", "{peek}");
        let stop = app
            .gql_as(
                &mallory,
                "mutation($i: UUID!) { cancelRecipeImport(id: $i) { state } }",
                json!({ "i": target }),
            )
            .await;
        assert_eq!(error_code(&stop), "NOT_FOUND", "{stop}");
    }
    let too_many: Vec<String> = (0..501).map(|i| at(&format!("/r{i}"))).collect();
    for (urls, code, field) in [
        (json!([]), "BAD_USER_INPUT", "urls"),
        (json!(too_many), "BAD_USER_INPUT", "urls"),
        (json!([at("/apple"), "not an address"]), "BAD_USER_INPUT", "urls.1"),
        (
            json!([at("/apple"), "http://[fe80::1%25eth0]/"]),
            "IMPORT_BLOCKED_ADDRESS",
            "",
        ),
        (json!(["gopher://example.com/1"]), "IMPORT_BLOCKED_ADDRESS", ""),
    ] {
        let refused = app.gql_as(&mallory, START, json!({ "u": urls })).await;
        assert_eq!(error_code(&refused), code, "{refused}");
        if !field.is_empty() {
            assert_eq!(refused["errors"][0]["extensions"]["field"], field, "{refused}");
        }
    }
    assert_eq!(app.count("recipe_imports", "true").await, 1);
}

#[tokio::test]
async fn a_cancelled_import_stops_and_one_whose_runner_stopped_is_taken_up() {
    let server = fixture_server().await;
    let launched = SocketApp::spawn_importing_from(server, UNLIMITED).await;
    let app = &launched.app;
    let token = dev_token("bulk-bob");
    // Five pages of one site: at least four seconds, politely.
    let urls: Vec<String> = ["/apple", "/tikka", "/r2", "/r3", "/huge"]
        .iter()
        .map(|p| format!("http://{server}{p}"))
        .collect();
    let started = app.gql_as(&token, START, json!({ "u": urls })).await;
    let id = started["data"]["startRecipeImport"]["id"].as_str().unwrap().to_owned();
    for waited in 0.. {
        let job = app.gql_as(&token, FOLLOW, json!({ "i": id })).await;
        if job["data"]["recipeImport"]["imported"].as_i64().unwrap() >= 1 {
            break;
        }
        assert!(waited < 300, "nothing imported: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cancelled = app
        .gql_as(
            &token,
            "mutation($i: UUID!) { cancelRecipeImport(id: $i) { state } }",
            json!({ "i": id }),
        )
        .await;
    assert_eq!(
        cancelled["data"]["cancelRecipeImport"]["state"], "CANCELLED",
        "{cancelled}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = until(app, &token, &id, &["CANCELLED"]).await;
    let pending = after["pending"].as_i64().unwrap();
    assert!(
        (2..=4).contains(&pending),
        "the page being read is finished, the rest wait: {after}"
    );
    let recipes = app.gql_as(&token, "{ recipes { totalCount } }", json!({})).await;
    assert_eq!(
        recipes["data"]["recipes"]["totalCount"].as_i64().unwrap(),
        5 - pending,
        "{after}"
    );
    // Cancelling again changes nothing; a new import may start.
    let again = app
        .gql_as(
            &token,
            "mutation($i: UUID!) { cancelRecipeImport(id: $i) { state pending } }",
            json!({ "i": id }),
        )
        .await;
    assert_eq!(again["data"]["cancelRecipeImport"]["pending"], pending);

    // An import whose instance stopped mid-way (running, its lease lapsed, one address done) is taken up by a
    // running instance from where it was.
    let me = app.gql_as(&token, "{ me { id } }", json!({})).await;
    let owner = me["data"]["me"]["id"].as_str().unwrap().to_owned();
    let orphan = uuid::Uuid::now_v7();
    let mut conn = app.db_conn().await;
    diesel::sql_query(format!(
        "insert into recipe_imports (id, owner_id, state, total, lease_until) \
         values ('{orphan}', '{owner}', 'RUNNING', 2, now() - interval '1 minute')"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query(format!(
        "insert into recipe_import_urls (import_id, position, url, outcome, code, finished_at) \
         values ('{orphan}', 0, 'http://{server}/missing', 'FAILED', 'UPSTREAM_HTTP_ERROR', now()), \
                ('{orphan}', 1, 'http://{server}/r1', null, null, null)"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let resumed = until(app, &token, &orphan.to_string(), &["DONE"]).await;
    let outcomes: Vec<&str> = resumed["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["FAILED", "IMPORTED"], "{resumed}");
}

/// A site of `pages` recipe pages at `/recipe/N` that notes when each request came.
async fn recipe_site(
    site: usize,
    asked: std::sync::Arc<std::sync::Mutex<Vec<(usize, std::time::Instant)>>>,
) -> std::net::SocketAddr {
    use tokio::io::AsyncWriteExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            asked.lock().unwrap().push((site, std::time::Instant::now()));
            tokio::spawn(async move {
                let Some(path) = requested_path(&mut socket).await else {
                    return;
                };
                let body = format!(
                    r#"<html><head><script type="application/ld+json">{{"@context":"https://schema.org","@type":"Recipe","name":"Dish {path} of site {site}","recipeIngredient":["2 cups flour","1 egg"],"recipeInstructions":["Mix.","Bake."]}}</script></head><body></body></html>"#
                );
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    addr
}

/// The issue's measurement: 200 addresses on 4 local sites (interleaved, as a bookmarks file mixes them) in one
/// job. Prints how long it took and the shortest gap between two requests to one site.
///   cargo test --test api bulk_import_of_200_addresses -- --ignored --nocapture
#[tokio::test]
#[ignore = "a measurement: about a minute"]
async fn bulk_import_of_200_addresses() {
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut sites = Vec::new();
    for site in 0..4 {
        sites.push(recipe_site(site, std::sync::Arc::clone(&asked)).await);
    }
    let db = crate::helpers::TestDatabase::create().await;
    let launched = SocketApp::spawn_configured(
        db,
        &[("rate_limit_enabled", "false"), ("import_monthly_limit", "1000")],
        |config| {
            config.import_test_addresses = sites.clone();
        },
    )
    .await;
    let app = &launched.app;
    let token = dev_token("bulk-200");
    let urls: Vec<String> = (0..200)
        .map(|i| format!("http://{}/recipe/{i}", sites[i % 4]))
        .collect();
    let started = std::time::Instant::now();
    let job = app.gql_as(&token, START, json!({ "u": urls })).await;
    let id = job["data"]["startRecipeImport"]["id"].as_str().unwrap().to_owned();
    let done = until(app, &token, &id, &["DONE"]).await;
    let elapsed = started.elapsed();
    assert_eq!(done["imported"], 200, "{done}");
    let asked = asked.lock().unwrap().clone();
    let gaps: Vec<Duration> = (0..4)
        .map(|site| {
            let times: Vec<_> = asked.iter().filter(|(s, _)| *s == site).map(|(_, t)| *t).collect();
            times.windows(2).map(|w| w[1] - w[0]).min().unwrap()
        })
        .collect();
    println!(
        "bulk import: 200 addresses on 4 sites imported in {:.1} s ({:.1} per second); shortest gap between two requests to one site: {:?}",
        elapsed.as_secs_f64(),
        200.0 / elapsed.as_secs_f64(),
        gaps.iter().min().unwrap()
    );
    assert!(gaps.iter().all(|g| *g >= Duration::from_secs(1)), "{gaps:?}");
}
