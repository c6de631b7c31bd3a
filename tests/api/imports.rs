//! Imports from pasted pages and text: drafts from the fixture pages in `tests/fixtures/imports/`, modelled
//! on how large recipe sites mark recipes up, saved through `createRecipe` as a client would.

use serde_json::{json, Value};

use crate::helpers::{dev_token, error_code, TestApp};

const FROM_HTML: &str = "mutation($html: String!, $url: String!) { importRecipeFromHtml(html: $html, url: $url) {
  title description prepMinutes cookMinutes totalMinutes servings yieldText sourceType sourceUrl
  ingredients { quantity unit item note originalText } steps { section text } imageUrls
  completeness missingFields foundIn similarRecipes { title } } }";
const FROM_TEXT: &str = "mutation($text: String!) { importRecipeFromText(text: $text) {
  title servings ingredients { quantity unit item } steps { text } completeness missingFields foundIn } }";

/// Most tests import more than the `imports` rate class allows in a minute; one test checks the class.
const UNLIMITED: &[(&str, &str)] = &[("rate_limit_enabled", "false")];

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/imports/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

async fn import(app: &TestApp, token: &str, html: &str, url: &str) -> Value {
    app.gql_as(token, FROM_HTML, json!({ "html": html, "url": url })).await
}

fn draft(response: &Value) -> &Value {
    assert!(response["errors"].is_null(), "{response}");
    &response["data"]["importRecipeFromHtml"]
}

fn column<'a>(list: &'a Value, key: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v[key].as_str().unwrap_or("-"))
        .collect()
}

#[tokio::test]
async fn json_ld_in_a_graph_with_sections_durations_and_image_lists() {
    let app = TestApp::spawn_with(UNLIMITED).await;
    let token = dev_token("importer");
    let response = import(
        &app,
        &token,
        &fixture("jsonld-graph.html"),
        "https://blog.example/tikka/",
    )
    .await;
    let d = draft(&response);
    assert_eq!(d["title"], "Chicken Tikka Masala & Rice");
    assert_eq!(d["description"], "A weeknight classic.");
    assert_eq!(
        (&d["prepMinutes"], &d["cookMinutes"], &d["totalMinutes"]),
        (&json!(20), &json!(40), &json!(60))
    );
    assert_eq!((&d["servings"], &d["yieldText"]), (&json!("4"), &json!("4 servings")));
    assert_eq!(d["foundIn"], "JSON_LD");
    assert_eq!(d["sourceType"], "WEBSITE");
    assert_eq!(d["ingredients"][0]["quantity"], "1.5", "a hyphenated mixed number");
    assert_eq!(d["ingredients"][0]["unit"], "lb");
    assert_eq!(d["ingredients"][3]["note"], "14 oz");
    assert_eq!(
        d["ingredients"][0]["originalText"],
        "1-1/2 pounds boneless chicken thighs"
    );
    assert_eq!(column(&d["steps"], "section"), ["Marinate", "Marinate", "Cook", "Cook"]);
    assert_eq!(
        d["steps"][2]["text"], "Sear the chicken.",
        "a HowToStep's text wins over its name"
    );
    assert_eq!(
        d["imageUrls"],
        json!([
            "https://blog.example/wp-content/tikka-1x1.jpg",
            "https://blog.example/wp-content/tikka-4x3.jpg",
            "https://blog.example/og.jpg"
        ]),
        "image objects and strings, each once, then the page's og:image"
    );
    assert_eq!(d["completeness"], 100);
    assert_eq!(d["missingFields"], json!([]));

    // Saved with createRecipe as it is, then imported again: the draft points at the saved recipe.
    let ingredients: Vec<Value> = d["ingredients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| json!({ "line": i["originalText"] }))
        .collect();
    let steps: Vec<Value> = d["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| json!({ "section": s["section"], "text": s["text"] }))
        .collect();
    let input = json!({
        "title": d["title"], "description": d["description"], "prepMinutes": d["prepMinutes"],
        "cookMinutes": d["cookMinutes"], "servings": d["servings"], "yieldText": d["yieldText"],
        "sourceType": d["sourceType"], "sourceUrl": d["sourceUrl"], "ingredients": ingredients, "steps": steps,
    });
    let saved = app
        .gql_as(
            &token,
            "mutation($input: CreateRecipeInput!) { createRecipe(input: $input) { title totalMinutes } }",
            json!({ "input": input }),
        )
        .await;
    assert_eq!(saved["data"]["createRecipe"]["totalMinutes"], 60, "{saved}");
    let again = import(
        &app,
        &token,
        &fixture("jsonld-graph.html"),
        "https://blog.example/tikka/",
    )
    .await;
    assert_eq!(
        draft(&again)["similarRecipes"],
        json!([{ "title": "Chicken Tikka Masala & Rice" }])
    );
    let elsewhere = dev_token("someone-else");
    let theirs = import(
        &app,
        &elsewhere,
        &fixture("jsonld-graph.html"),
        "https://blog.example/tikka/",
    )
    .await;
    assert_eq!(draft(&theirs)["similarRecipes"], json!([]), "only your own recipes");
}

#[tokio::test]
async fn json_ld_lists_type_lists_text_instructions_and_relative_images() {
    let app = TestApp::spawn_with(UNLIMITED).await;
    let token = dev_token("importer");
    let response = import(
        &app,
        &token,
        &fixture("jsonld-array.html"),
        "https://big.example/cakes/lemon?ref=x",
    )
    .await;
    let d = draft(&response);
    assert_eq!(d["title"], "Lemon Drizzle Cake");
    assert_eq!(d["servings"], "8");
    assert_eq!(d["totalMinutes"], 75);
    assert_eq!(d["imageUrls"], json!(["https://big.example/images/lemon-cake.jpg"]));
    assert_eq!(
        column(&d["steps"], "text"),
        [
            "Heat oven to 180C.",
            "Beat butter and sugar.",
            "Add the eggs, then the flour."
        ]
    );
    assert_eq!(
        column(&d["ingredients"], "item")[..2],
        ["unsalted butter", "caster sugar"]
    );
    assert_eq!(d["missingFields"], json!([]));
}

#[tokio::test]
async fn microdata_after_broken_json_ld_then_opengraph_then_nothing() {
    let app = TestApp::spawn_with(UNLIMITED).await;
    let token = dev_token("importer");
    let response = import(
        &app,
        &token,
        &fixture("microdata.html"),
        "https://pies.example/recipes/apple.html",
    )
    .await;
    let d = draft(&response);
    assert_eq!(d["foundIn"], "MICRODATA");
    assert_eq!(d["title"], "Grandma's Apple Pie");
    assert_eq!(d["description"], "Flaky & tart.");
    assert_eq!(
        (&d["prepMinutes"], &d["cookMinutes"], &d["totalMinutes"]),
        (&json!(30), &json!(50), &json!(80))
    );
    assert_eq!(d["servings"], "8");
    assert_eq!(
        column(&d["ingredients"], "originalText"),
        [
            "6 cups sliced apples",
            "3/4 cup white sugar",
            "1 (9 inch) double pie crust"
        ]
    );
    assert_eq!(
        column(&d["steps"], "text"),
        ["Toss the apples with sugar.", "Fill the crust and bake."]
    );
    assert_eq!(d["imageUrls"], json!(["https://pies.example/recipes/pie.jpg"]));

    let og = import(
        &app,
        &token,
        &fixture("opengraph.html"),
        "https://salads.example/summer",
    )
    .await;
    let d = draft(&og);
    assert_eq!(d["foundIn"], "OPEN_GRAPH");
    assert_eq!(d["title"], "Our favourite summer salad");
    assert_eq!(d["imageUrls"], json!(["https://cdn.example/salad.jpg"]));
    assert_eq!(d["completeness"], 30);
    assert_eq!(
        d["missingFields"],
        json!(["ingredients", "steps", "servings", "totalMinutes"])
    );

    for page in [
        fixture("no-recipe.html"),
        String::new(),
        "not html at all {}".into(),
        "\u{1F600}".repeat(1000),
    ] {
        let none = import(&app, &token, &page, "https://x.example/").await;
        assert_eq!(error_code(&none), "IMPORT_NO_RECIPE_DATA", "{none}");
    }
}

#[tokio::test]
async fn page_text_is_plain_and_only_web_addresses_are_kept() {
    let app = TestApp::spawn_with(UNLIMITED).await;
    let token = dev_token("importer");
    let response = import(&app, &token, &fixture("jsonld-main-entity.html"), "https://p.example/").await;
    let d = draft(&response);
    assert_eq!(d["title"], "Pancakes", "markup is stripped, never kept as HTML");
    assert_eq!(d["yieldText"], "Makes 12 pancakes");
    assert_eq!(d["servings"], "12");
    assert_eq!(column(&d["steps"], "text"), ["Whisk.", "Fry & flip."]);
    assert_eq!(d["imageUrls"], json!([]), "a javascript: address is dropped");

    for (url, field) in [
        ("ftp://p.example/", "url"),
        ("javascript:alert(1)", "url"),
        ("/relative", "url"),
    ] {
        let refused = import(&app, &token, "<html></html>", url).await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{url}");
        assert_eq!(refused["errors"][0]["extensions"]["field"], field);
    }
    let anonymous = app
        .gql(
            FROM_HTML,
            json!({ "html": "<html></html>", "url": "https://p.example/" }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_long_page_with_the_recipe_at_the_end_is_read_and_a_longer_one_refused() {
    let app = TestApp::spawn_with(UNLIMITED).await;
    let token = dev_token("importer");
    let comment = "<div class=\"comment\"><p>Loved it! Made it twice &amp; shared.</p></div>\n";
    let page = |comments: usize| {
        format!(
            "<html><body>{}{}</body></html>",
            comment.repeat(comments),
            fixture("jsonld-array.html")
        )
    };
    let long = page(800);
    assert!(long.len() > 50_000, "parsed off the async workers");
    let response = import(&app, &token, &long, "https://big.example/cake").await;
    assert_eq!(draft(&response)["title"], "Lemon Drizzle Cake");
    let too_long = app
        .gql_with(
            &[("Authorization", &format!("Bearer {token}"))],
            FROM_HTML,
            json!({ "html": page(2_000), "url": "https://big.example/cake" }),
        )
        .await;
    assert_eq!(too_long.status.code, 413, "the JSON body limit holds");
}

#[tokio::test]
async fn pasted_text_becomes_a_draft() {
    let app = TestApp::spawn_with(UNLIMITED).await;
    let token = dev_token("importer");
    let caption = "Best banana bread 🍌\nServes 8\n\nIngredients:\n- 3 ripe bananas\n- 1-1/2 cups flour\n\nMethod\n1. Mash.\n2. Bake 1 hour.\n#baking";
    let response = app.gql_as(&token, FROM_TEXT, json!({ "text": caption })).await;
    let d = &response["data"]["importRecipeFromText"];
    assert_eq!(d["title"], "Best banana bread 🍌", "{response}");
    assert_eq!(d["servings"], "8");
    assert_eq!(
        d["ingredients"][1],
        json!({ "quantity": "1.5", "unit": "cup", "item": "flour" })
    );
    assert_eq!(column(&d["steps"], "text"), ["Mash.", "Bake 1 hour."]);
    assert_eq!(d["foundIn"], "TEXT");
    assert_eq!(d["missingFields"], json!(["imageUrls", "totalMinutes"]));
    assert_eq!(d["completeness"], 85);
    let empty = app.gql_as(&token, FROM_TEXT, json!({ "text": "#yum #food\n\n" })).await;
    assert_eq!(error_code(&empty), "IMPORT_NO_RECIPE_DATA");
    let long = app
        .gql_as(&token, FROM_TEXT, json!({ "text": "x".repeat(20_001) }))
        .await;
    assert_eq!(empty["errors"][0]["extensions"]["code"], "IMPORT_NO_RECIPE_DATA");
    assert_eq!(long["errors"][0]["extensions"]["field"], "text");
}

/// A fixture web server on 127.0.0.1 (the only address tests talk to): pages, redirects, a slow answer, a
/// huge page, an image and errors.
/// The path of the request a fixture server's client sends (its head read whole); `None` when it hangs up first.
pub async fn requested_path(socket: &mut tokio::net::TcpStream) -> Option<String> {
    use tokio::io::AsyncReadExt as _;
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&request);
    Some(head.lines().next()?.split(' ').nth(1).unwrap_or("/").to_owned())
}

pub async fn fixture_server() -> std::net::SocketAddr {
    use tokio::io::AsyncWriteExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Some(path) = requested_path(&mut socket).await else {
                    return;
                };
                let page = |status: &str, kind: &str, body: &[u8]| {
                    let mut answer = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    answer.extend_from_slice(body);
                    answer
                };
                let redirect = |to: &str| {
                    format!("HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .into_bytes()
                };
                let answer = match path.as_str() {
                    "/tikka" => page(
                        "200 OK",
                        "text/html; charset=utf-8",
                        fixture("jsonld-graph.html").as_bytes(),
                    ),
                    "/apple" => page("200 OK", "text/html", fixture("microdata.html").as_bytes()),
                    "/r1" => redirect("/r2"),
                    "/r2" => redirect(&format!("http://{addr}/r3")),
                    "/r3" => redirect("/apple"),
                    "/loop" => redirect("/loop"),
                    "/to-private" => redirect("http://127.0.0.1:1/admin"),
                    "/to-metadata" => redirect("http://169.254.169.254/latest/meta-data/"),
                    "/huge" => page("200 OK", "text/html", &vec![b'x'; 6 * 1024 * 1024]),
                    "/photo.jpg" => page("200 OK", "image/jpeg", &[0xff, 0xd8, 0xff, 0xe0]),
                    "/img/pie.png" => page("200 OK", "image/png", &crate::uploads::png(320, 200)),
                    // The picture the microdata page names (relative: `pie.jpg`).
                    "/pie.jpg" => page("200 OK", "image/jpeg", &crate::uploads::jpeg(320, 200)),
                    "/img/to-pie" => redirect("/img/pie.png"),
                    "/img/php.jpg" => page(
                        "200 OK",
                        "image/jpeg",
                        &crate::uploads::with_segment(
                            &crate::uploads::jpeg(64, 64),
                            0xFE,
                            b"<?php system($_GET['c']); ?>",
                        ),
                    ),
                    "/img/big.jpg" => page("200 OK", "image/jpeg", &vec![0xff; 300_000]),
                    "/img/pie.svg" => page("200 OK", "image/svg+xml", b"<svg onload=\"alert(1)\"/>"),
                    "/slow" => {
                        tokio::time::sleep(std::time::Duration::from_secs(12)).await;
                        page("200 OK", "text/html", b"<html></html>")
                    }
                    "/trickle" => {
                        // Headers at once, then a byte a second of a 100 000-byte body.
                        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 100000\r\n\r\n<html>";
                        if socket.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        for _ in 0..20 {
                            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                            if socket.write_all(b" ").await.is_err() {
                                return;
                            }
                        }
                        Vec::new()
                    }
                    _ => page("404 Not Found", "text/html", b"gone"),
                };
                let _ = socket.write_all(&answer).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    addr
}

const FROM_URL: &str =
    "mutation($url: String!) { importRecipeFromUrl(url: $url) { title sourceUrl foundIn ingredients { item } } }";

#[tokio::test]
async fn pages_are_fetched_through_the_guard_and_redirects_followed() {
    let server = fixture_server().await;
    let app = TestApp::spawn_importing_from(server, UNLIMITED).await;
    let token = dev_token("fetcher");
    let from = |path: &str| json!({ "url": format!("http://{server}{path}") });
    let tikka = app.gql_as(&token, FROM_URL, from("/tikka")).await;
    let d = &tikka["data"]["importRecipeFromUrl"];
    assert_eq!(d["title"], "Chicken Tikka Masala & Rice", "{tikka}");
    assert_eq!(d["foundIn"], "JSON_LD");
    let chain = app.gql_as(&token, FROM_URL, from("/r1")).await;
    let d = &chain["data"]["importRecipeFromUrl"];
    assert_eq!(d["title"], "Grandma's Apple Pie", "three redirects: {chain}");
    assert_eq!(
        d["sourceUrl"],
        format!("http://{server}/apple"),
        "the address it was read from"
    );

    for (path, code) in [
        ("/loop", "UPSTREAM_HTTP_ERROR"),
        ("/missing", "UPSTREAM_HTTP_ERROR"),
        ("/huge", "IMPORT_TOO_LARGE"),
        ("/photo.jpg", "IMPORT_NO_RECIPE_DATA"),
        ("/to-private", "IMPORT_BLOCKED_ADDRESS"),
        ("/to-metadata", "IMPORT_BLOCKED_ADDRESS"),
    ] {
        let refused = app.gql_as(&token, FROM_URL, from(path)).await;
        assert_eq!(error_code(&refused), code, "{path}: {refused}");
    }
}

#[tokio::test]
async fn loopback_private_and_metadata_addresses_are_refused_in_every_spelling() {
    let server = fixture_server().await;
    let app = TestApp::spawn_importing_from(server, UNLIMITED).await;
    let token = dev_token("prober");
    let port = server.port();
    for url in [
        "http://localhost/tikka".into(),
        "http://localhost./tikka".into(),
        format!("http://[::1]:{port}/tikka"),
        format!("http://127.0.0.1:{}/tikka", port.wrapping_add(1).max(1)),
        "http://127.0.0.1/".into(),
        "http://2130706433/".into(),
        "http://0x7f.1/".into(),
        "http://0177.0.0.1/".into(),
        "http://127.1./".into(),
        "http://[::ffff:127.0.0.1]/".into(),
        "http://[::ffff:a9fe:a9fe]/".into(),
        "http://169.254.169.254/latest/meta-data/".into(),
        "http://0.0.0.0/".into(),
        "https://10.0.0.1/".into(),
        "http://192.168.1.1:8080/".into(),
    ] {
        let refused = app.gql_as(&token, FROM_URL, json!({ "url": url })).await;
        assert_eq!(error_code(&refused), "IMPORT_BLOCKED_ADDRESS", "{url}: {refused}");
    }
    let events: Vec<Value> = app
        .security_events()
        .into_iter()
        .filter(|e| e["event_type"] == "import_blocked_address")
        .collect();
    assert_eq!(events.len(), 15, "each refusal is a security event");
    // What request forgery tries besides addresses: other schemes and an IPv6 zone (an interface of ours).
    for url in [
        "ftp://example.com/".to_owned(),
        "file:///etc/passwd".into(),
        "gopher://127.0.0.1:6379/_FLUSHALL".into(),
        "dict://127.0.0.1:11211/stat".into(),
        "ldap://127.0.0.1/".into(),
        format!("http://[::1%25lo]:{port}/tikka"),
        "http://[fe80::1%eth0]/".into(),
    ] {
        let refused = app.gql_as(&token, FROM_URL, json!({ "url": url })).await;
        assert_eq!(error_code(&refused), "IMPORT_BLOCKED_ADDRESS", "{url}: {refused}");
    }
    let events = app.security_events();
    let blocked: Vec<&Value> = events
        .iter()
        .filter(|e| e["event_type"] == "import_blocked_address")
        .collect();
    assert_eq!(blocked.len(), 22, "each refusal is a security event");
    assert!(
        blocked.iter().all(|e| e["user_id"].is_string()),
        "naming the user: {blocked:?}"
    );
    for url in [
        "http://cook.example:65536/".to_owned(),
        format!("http://127.0.0.1:{}/tikka", u32::from(port) + 65536),
        "http://cook.example:0/".into(),
        "http://user:secret@cook.example/".into(),
        "not an address".into(),
    ] {
        let refused = app.gql_as(&token, FROM_URL, json!({ "url": url })).await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{url}: {refused}");
        assert_eq!(refused["errors"][0]["extensions"]["field"], "url", "{url}");
    }
}

#[tokio::test]
async fn a_page_slower_than_the_deadline_is_a_timeout() {
    let server = fixture_server().await;
    let app = TestApp::spawn_importing_from(server, UNLIMITED).await;
    let token = dev_token("patient");
    let started = std::time::Instant::now();
    let from = |path: &str| json!({ "url": format!("http://{server}{path}") });
    let (slow, trickle) = tokio::join!(
        app.gql_as(&token, FROM_URL, from("/slow")),
        app.gql_as(&token, FROM_URL, from("/trickle"))
    );
    assert_eq!(error_code(&slow), "IMPORT_TIMEOUT", "{slow}");
    assert_eq!(
        error_code(&trickle),
        "IMPORT_TIMEOUT",
        "a body trickling past the deadline: {trickle}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test]
async fn imports_have_a_rate_class_and_a_monthly_quota_that_holds_under_concurrency() {
    let server = fixture_server().await;
    let app = TestApp::spawn_importing_from(server, &[("import_monthly_limit", "3")]).await;
    let token = dev_token("hoarder");
    let url = json!({ "url": format!("http://{server}/tikka") });
    let answers = rocket::futures::future::join_all((0..5).map(|_| app.gql_as(&token, FROM_URL, url.clone()))).await;
    let codes: Vec<&str> = answers
        .iter()
        .map(|a| a["errors"][0]["extensions"]["code"].as_str().unwrap_or("OK"))
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == "OK").count(), 3, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == "QUOTA_EXCEEDED").count(), 2, "{codes:?}");
    // The five imports used the minute's allowance: the sixth fetch is refused before it runs…
    let auth = format!("Bearer {token}");
    let sixth = app.gql_with(&[("Authorization", &auth)], FROM_URL, url.clone()).await;
    assert_eq!(sixth.status.code, 429);
    assert_eq!(sixth.header("X-RateLimit-Limit"), Some("5"), "the imports class");
    // …while drafts of what the user sends (nothing fetched, nothing written) have a class of their own,
    // bursts of 20, beyond the 10 mutations a burst of writes allows.
    let text = "mutation { importRecipeFromText(text: \"Tea\\n1 bag tea\") { title } }";
    for n in 0..20 {
        let draft = app.gql_with(&[("Authorization", &auth)], text, json!({})).await;
        assert_eq!(draft.status.code, 200, "draft {n}: {}", draft.body);
    }
    let sixth = app.gql_with(&[("Authorization", &auth)], text, json!({})).await;
    assert_eq!(sixth.status.code, 429);
    assert_eq!(sixth.header("X-RateLimit-Limit"), Some("20"), "the drafts class");
    assert!(sixth.header("Retry-After").is_some());
    assert_eq!(crate::helpers::error_code(&sixth.json()), "RATE_LIMITED");
    let other = dev_token("someone-else");
    let theirs = app.gql_as(&other, FROM_URL, url).await;
    assert!(theirs["errors"].is_null(), "limits are per user: {theirs}");
}

const IMAGE: &str = "mutation($recipeId: UUID!, $url: String!) { importRecipeImage(recipeId: $recipeId, url: $url) {
  id status score findings { code } image { isCover variants { name contentType url } } } }";

#[tokio::test]
async fn an_imported_image_goes_through_quarantine_and_the_scanner_like_an_upload() {
    let server = fixture_server().await;
    let app = TestApp::spawn_importing_from(
        server,
        &[("rate_limit_enabled", "false"), ("max_upload_size", "200000")],
    )
    .await;
    let (token, recipe) = crate::uploads::cook(&app, "photographer").await;
    let image = |path: &str, recipe: &str| json!({ "recipeId": recipe, "url": format!("http://{server}{path}") });

    let pie = app.gql_as(&token, IMAGE, image("/img/to-pie", &recipe)).await;
    let result = &pie["data"]["importRecipeImage"];
    assert_eq!(result["status"], "PROMOTED", "{pie}");
    assert_eq!(result["image"]["isCover"], true, "the recipe's only image is its cover");
    let variants = result["image"]["variants"].as_array().unwrap();
    assert!(!variants.is_empty());
    let served = app.get(variants[0]["url"].as_str().unwrap()).await;
    assert_eq!(
        served.status.code, 200,
        "a re-encoded copy served by us, never the source's address"
    );
    assert!(served.bytes.starts_with(b"\x89PNG") || served.bytes.starts_with(b"\xFF\xD8\xFF"));
    let shown = app
        .gql_as(
            &token,
            "query($id: UUID!) { recipe(id: $id) { images { id } coverImage { id } } }",
            json!({ "id": recipe }),
        )
        .await;
    assert_eq!(
        shown["data"]["recipe"]["images"].as_array().unwrap().len(),
        1,
        "{shown}"
    );
    assert_eq!(
        shown["data"]["recipe"]["coverImage"]["id"], result["id"],
        "the recipe's cover now"
    );

    let php = app.gql_as(&token, IMAGE, image("/img/php.jpg", &recipe)).await;
    let result = &php["data"]["importRecipeImage"];
    assert_eq!(result["status"], "REJECTED", "{php}");
    assert!(
        crate::uploads::codes(result).contains(&"EMBEDDED_SCRIPT".to_owned()),
        "{php}"
    );
    assert!(result["image"].is_null());

    for (path, code, field) in [
        ("/img/big.jpg", "IMPORT_TOO_LARGE", None),
        ("/img/pie.svg", "BAD_USER_INPUT", Some("url")),
        ("/tikka", "BAD_USER_INPUT", Some("url")),
        ("/missing.png", "UPSTREAM_HTTP_ERROR", None),
        ("/to-metadata", "IMPORT_BLOCKED_ADDRESS", None),
    ] {
        let refused = app.gql_as(&token, IMAGE, image(path, &recipe)).await;
        assert_eq!(error_code(&refused), code, "{path}: {refused}");
        assert_eq!(refused["errors"][0]["extensions"]["field"].as_str(), field, "{path}");
    }
    let blocked = app
        .gql_as(
            &token,
            IMAGE,
            json!({ "recipeId": recipe, "url": "http://169.254.169.254/latest/meta-data/" }),
        )
        .await;
    assert_eq!(error_code(&blocked), "IMPORT_BLOCKED_ADDRESS");

    // Another user's recipe: NOT_FOUND before anything is fetched (the slow page would take 12 s).
    let stranger = dev_token("stranger");
    let started = std::time::Instant::now();
    let theirs = app.gql_as(&stranger, IMAGE, image("/slow", &recipe)).await;
    assert_eq!(error_code(&theirs), "NOT_FOUND", "{theirs}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    assert_eq!(app.count("media", "status = 'PROMOTED'").await, 1);
    assert_eq!(app.count("media", "true").await, 2, "refused fetches store nothing");
    crate::uploads::no_partial_files(&app);
}

/// Shapes big sites publish: Yoast's graph with the image by reference and WP Recipe Maker's sections and
/// entities, a block after broken ones with a `@type` list, CDATA with raw line breaks, microdata with nested
/// items, and a video page with only a name.
#[tokio::test]
async fn plugin_graphs_cdata_nested_microdata_and_video_pages() {
    let app = TestApp::spawn_with(UNLIMITED).await;
    let token = dev_token("importer");
    let base = "https://site.example/recipes/x";

    let response = import(&app, &token, &fixture("wprm-yoast.html"), base).await;
    let d = draft(&response);
    assert_eq!(d["title"], "Easy Banana Bread", "the Recipe node, not the Article");
    assert_eq!(d["description"], "Moist, one-bowl banana bread – no mixer needed.");
    assert_eq!(
        d["imageUrls"],
        json!([
            "https://kitchen.example/wp-content/uploads/2026/03/banana-bread.jpg",
            "https://kitchen.example/wp-content/uploads/2026/03/og-banana.jpg"
        ]),
        "the ImageObject the @id names (not the reference or the author's avatar), then og:image"
    );
    assert_eq!(
        (&d["servings"], &d["yieldText"]),
        (&json!("10"), &json!("1 loaf (10 slices)"))
    );
    assert_eq!(
        column(&d["ingredients"], "originalText")[..2],
        [
            "3 ripe bananas (mashed, about 1½ cups)",
            "½ cup (113g) unsalted butter, melted"
        ]
    );
    assert_eq!(d["ingredients"][4]["item"], "packed light brown sugar", "tags stripped");
    assert_eq!(
        (
            &d["ingredients"][6]["quantity"],
            &d["ingredients"][6]["unit"],
            &d["ingredients"][6]["item"]
        ),
        (&json!("1.5"), &json!("cup"), &json!("all-purpose flour")),
        "1 and 1/2 cups"
    );
    assert_eq!(column(&d["steps"], "section"), ["Batter", "Batter", "Bake"]);
    assert_eq!(d["steps"][0]["text"], "Preheat the oven to 350°F (177°C).");

    let response = import(&app, &token, &fixture("several-scripts.html"), base).await;
    let d = draft(&response);
    assert_eq!(d["title"], "Miso-Glazed Salmon", "headline when there is no name");
    assert_eq!(d["description"], "Sweet, salty, fast.");
    assert_eq!(
        column(&d["steps"], "text"),
        [
            "Heat the broiler.",
            "Whisk the miso and mirin; brush over the salmon.",
            "Broil 6 to 8 minutes, until glazed."
        ],
        "an HTML list in one string"
    );
    assert_eq!(d["ingredients"][2]["note"], "6-ounce");

    let response = import(&app, &token, &fixture("cdata-raw-newlines.html"), base).await;
    let d = draft(&response);
    assert_eq!(
        d["title"], "Weeknight Dal",
        "CDATA, lower-case @type and raw line breaks"
    );
    assert_eq!(d["description"], "Red lentils, tempered spices. Ready in half an hour.");
    assert_eq!(d["steps"].as_array().unwrap().len(), 3, "one step per line: {d}");
    assert_eq!(d["imageUrls"], json!(["https://spice.example/images/dal.webp"]));

    let response = import(&app, &token, &fixture("microdata-nested-scopes.html"), base).await;
    let d = draft(&response);
    assert_eq!(d["foundIn"], "MICRODATA");
    assert_eq!(d["title"], "Roast Chicken with Lemon", "not the author's name");
    assert_eq!(
        d["imageUrls"],
        json!(["https://site.example/recipes/photos/roast-chicken.jpg"]),
        "not the author's photo"
    );
    assert_eq!(column(&d["ingredients"], "item")[3], "soft butter");
    assert_eq!(d["steps"].as_array().unwrap().len(), 3);
    assert_eq!((&d["cookMinutes"], &d["totalMinutes"]), (&json!(80), &json!(95)));

    let response = import(&app, &token, &fixture("video-only.html"), base).await;
    let d = draft(&response);
    assert_eq!(d["title"], "60-second tacos");
    assert_eq!(d["completeness"], 30);
    assert_eq!(
        d["missingFields"],
        json!(["ingredients", "steps", "servings", "totalMinutes"])
    );
    assert_eq!(
        d["imageUrls"],
        json!(["https://cdn.clips.example/t/tacos-cover.jpg"]),
        "the OpenGraph image when the recipe has none"
    );
}

/// A recipe carousel (the first recipe of an `ItemList`), old microdata (`ingredients`, `<time datetime>`), a
/// JSON-LD block after a byte-order mark in German, and a page written to attack whoever shows the draft.
#[tokio::test]
async fn carousels_legacy_microdata_byte_order_marks_and_a_hostile_page() {
    let app = TestApp::spawn_with(UNLIMITED).await;
    let token = dev_token("importer");
    let base = "https://site.example/recipes/x";

    let response = import(&app, &token, &fixture("itemlist-carousel.html"), base).await;
    let d = draft(&response);
    assert_eq!(d["title"], "Cacio e Pepe", "the list's first recipe");
    assert_eq!(
        column(&d["ingredients"], "item"),
        ["spaghetti", "pecorino romano", "black pepper"]
    );
    assert_eq!(d["completeness"], 100);

    let response = import(&app, &token, &fixture("microdata-legacy.html"), base).await;
    let d = draft(&response);
    assert_eq!(
        (&d["foundIn"], &d["title"]),
        (&json!("MICRODATA"), &json!("Irish Soda Bread"))
    );
    assert_eq!(
        (&d["prepMinutes"], &d["cookMinutes"], &d["totalMinutes"]),
        (&json!(10), &json!(45), &json!(55))
    );
    assert_eq!(d["ingredients"][3]["quantity"], "1.75");
    assert_eq!(
        d["steps"][2]["text"],
        "Shape into a round, cut a deep cross and bake 40–45 minutes."
    );

    let response = import(&app, &token, &fixture("jsonld-bom-german.html"), base).await;
    let d = draft(&response);
    assert_eq!(d["title"], "Omas Apfelkuchen", "a byte-order mark before the JSON");
    assert_eq!((&d["servings"], &d["yieldText"]), (&json!("12"), &json!("12 Stücke")));
    assert_eq!(
        (
            &d["ingredients"][4]["quantity"],
            &d["ingredients"][4]["unit"],
            &d["ingredients"][4]["item"]
        ),
        (&json!("1"), &json!("kg"), &json!("Äpfel"))
    );
    assert_eq!(d["steps"][1]["text"], "Äpfel schälen und in Spalten schneiden.");

    let response = import(&app, &token, &fixture("hostile.html"), base).await;
    let d = draft(&response);
    assert_eq!(d["title"], "Cookies", "tags gone, and what a script held with them");
    assert_eq!(d["description"], "Crisp edges", "markup escaped twice is still markup");
    assert_eq!(d["steps"][0]["text"], "Bake 10 minutes.");
    assert_eq!(
        column(&d["ingredients"], "originalText"),
        ["1 cup sugar", "9999999999999999999999 g flour", "2 eggs"]
    );
    assert!(
        d["ingredients"][1]["quantity"].is_null(),
        "an absurd amount is not read as one"
    );
    assert_eq!(
        d["imageUrls"],
        json!(["https://cdn.cookies.example/c.jpg"]),
        "data:, javascript: and file: addresses dropped"
    );
    assert_eq!((&d["prepMinutes"], &d["totalMinutes"]), (&json!(null), &json!(null)));
    assert!(!d.to_string().contains('<'), "no markup anywhere in the draft: {d}");
}

#[tokio::test]
async fn pasted_text_keeps_every_ingredient_line_as_written() {
    let app = TestApp::spawn_with(UNLIMITED).await;
    let token = dev_token("importer");
    let text = "T\nIngredients\n0.5 cup chopped onion\n1.0kg broccoli\n  - 2) 3 eggs \nMethod\n1. Mix.\n1.5 hours in the oven.";
    let query = "mutation($text: String!) { importRecipeFromText(text: $text) {
      ingredients { quantity unit item originalText } steps { text } } }";
    let response = app.gql_as(&token, query, json!({ "text": text })).await;
    let d = &response["data"]["importRecipeFromText"];
    assert_eq!(
        column(&d["ingredients"], "originalText"),
        ["0.5 cup chopped onion", "1.0kg broccoli", "- 2) 3 eggs"],
        "{response}"
    );
    assert_eq!(
        (&d["ingredients"][0]["quantity"], &d["ingredients"][1]["quantity"]),
        (&json!("0.5"), &json!("1")),
        "decimals are amounts, not step numbers"
    );
    assert_eq!(column(&d["steps"], "text"), ["Mix.", "1.5 hours in the oven."]);
}

const FROM_PAGE: &str = "mutation($page: Upload, $url: String!) { importRecipeFromHtml(page: $page, url: $url) {
  title ingredients { originalText } steps { text } imageUrls foundIn } }";

/// `importRecipeFromHtml` with the page as the file part of a multipart request, as a share sheet sends it.
fn page_request(page: &[u8], url: &str) -> (Vec<u8>, rocket::http::ContentType) {
    use crate::uploads::{multipart_body, multipart_type, part};
    let operations = json!({ "query": FROM_PAGE, "variables": { "page": null, "url": url } });
    let file = part("page.html", "text/html", page.to_vec());
    let body = multipart_body(
        &operations,
        &json!({ "0": ["variables.page"] }),
        &[("0".to_owned(), &file)],
    );
    (body, multipart_type())
}

/// A real recipe page grown to `bytes` the way WordPress pages grow: inline CSS and scripts in the head.
fn whole_page(bytes: usize) -> String {
    let page = fixture("wprm-yoast.html");
    let rule = ".wp-block-button__link{color:#fff;background-color:#32373c;border-radius:9999px}\n";
    let style = format!(
        "<style id=\"global-styles-inline-css\">{}</style>",
        rule.repeat(bytes / rule.len())
    );
    page.replacen("</head>", &format!("{style}</head>"), 1)
}

#[tokio::test]
async fn a_whole_page_is_sent_as_a_file_part_up_to_five_mebibytes() {
    let app = TestApp::spawn_with(UNLIMITED).await;
    let token = dev_token("importer");
    let auth = format!("Bearer {token}");
    let headers = [("Authorization", auth.as_str()), ("GraphQL-Require-Preflight", "1")];
    let page = whole_page(4 * 1024 * 1024);
    assert!(page.len() > 4 * 1024 * 1024);
    let (body, content_type) = page_request(page.as_bytes(), "https://kitchen.example/banana-bread/");
    let response = app.post_graphql_raw(content_type, body, &headers).await.json();
    let d = &response["data"]["importRecipeFromHtml"];
    assert_eq!(d["title"], "Easy Banana Bread", "{response}");
    assert_eq!(d["foundIn"], "JSON_LD");
    assert!(d["ingredients"].as_array().is_some_and(|i| i.len() > 5));

    let (body, content_type) = page_request(whole_page(5 * 1024 * 1024 + 10).as_bytes(), "https://kitchen.example/");
    let response = app.post_graphql_raw(content_type, body, &headers).await.json();
    assert_eq!(error_code(&response), "IMPORT_TOO_LARGE", "{response}");

    let query = "mutation($html: String, $url: String!) { importRecipeFromHtml(html: $html, url: $url) { title } }";
    let neither = app
        .gql_as(&token, query, json!({ "url": "https://kitchen.example/" }))
        .await;
    assert_eq!(error_code(&neither), "BAD_USER_INPUT");
    assert_eq!(neither["errors"][0]["extensions"]["field"], "page");
    let not_sent = app
        .gql_as(
            &token,
            FROM_PAGE,
            json!({ "page": null, "url": "https://kitchen.example/" }),
        )
        .await;
    assert_eq!(error_code(&not_sent), "BAD_USER_INPUT");
    assert!(
        std::fs::read_dir(app.quarantine_dir()).map_or(true, |mut d| d.next().is_none()),
        "a page's spool leaves quarantine with its request"
    );
}

/// Pages written to exhaust whoever reads them, each up to the largest accepted size: what the HTML5 tree
/// builder repairs (misnested formatting, the 64 KB bomb scaled up), depth, one tag with every
/// attribute, entities, JSON-LD that parses into many values, and microdata properties inside each other.
fn hostile_pages() -> Vec<(&'static str, String)> {
    const SIZE: usize = 5 * 1024 * 1024 - 1024;
    let fill = |head: &str, unit: &str, tail: &str| {
        let n = (SIZE - head.len() - tail.len()) / unit.len();
        format!("{head}{}{tail}", unit.repeat(n))
    };
    let half = |unit: &str| unit.repeat(SIZE / 2 / unit.len());
    let attributes: String = (0..)
        .map(|i| format!(" a{i}=\"{i}\""))
        .take_while({
            let mut len = 0;
            move |a: &String| {
                len += a.len();
                len < SIZE - 100
            }
        })
        .collect();
    let json_block = format!(
        "<script type=\"application/ld+json\">[{}{{}}]</script>",
        "{},".repeat(1024 * 1024 / 3 - 4)
    );
    vec![
        (
            "formatting bomb",
            format!("<div>{}</div>{}", half("<b id=i>"), half("<div>x</div>")),
        ),
        ("misnested anchors and tables", fill("", "<a><p><table><td>x</a>", "")),
        ("depth", fill("", "<div>", "")),
        ("one tag with every attribute", format!("<p{attributes}>x</p>")),
        ("entities", fill("<p>", "&notin;&#x1F600;&amp", "</p>")),
        ("json-ld that parses into many values", fill("", &json_block, "")),
        (
            "microdata inside microdata",
            fill(
                "<div itemscope itemtype=\"https://schema.org/Recipe\">",
                "<div itemprop=\"recipeIngredient recipeInstructions name\"><li>x<br>",
                "",
            ),
        ),
    ]
}

fn proc_status(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap()
        * 1024
}

/// One raw HTTP/1.0 request over a fresh connection; the whole answer (status 0 when nothing listens).
fn over_socket(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> crate::helpers::TestResponse {
    use std::io::{Read as _, Write as _};
    let mut answer = Vec::new();
    // Not listening yet: no answer (status 0).
    if let Ok(mut stream) = std::net::TcpStream::connect(addr) {
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let _ = stream.read_to_end(&mut answer);
    }
    crate::helpers::parse_http(&answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_pages_are_read_in_bounded_memory_by_the_real_server() {
    use crate::helpers::{ServerProcess, TestDatabase};
    let db = TestDatabase::create().await;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("hostile-{}", db.name));
    let server = ServerProcess::spawn(&db, &dir, &[]);
    let (addr, pid) = (server.addr, server.child.id());
    let token = dev_token("attacker");
    let started = std::time::Instant::now();
    while over_socket(addr, "GET /health/ready HTTP/1.0\r\n\r\n", b"").status.code != 200 {
        assert!(
            started.elapsed().as_secs() < 60,
            "the server never answered\n{}",
            server.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let send = |page: &str| {
        let (body, content_type) = page_request(page.as_bytes(), "https://hostile.example/");
        let head = format!(
            "POST /graphql HTTP/1.0\r\nContent-Type: {content_type}\r\nAuthorization: Bearer {token}\r\n\
             GraphQL-Require-Preflight: 1\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        over_socket(addr, &head, &body)
    };
    // Warm up: the first import allocates what every later one reuses.
    let warm = send(&fixture("wprm-yoast.html"));
    assert_eq!(
        warm.json()["data"]["importRecipeFromHtml"]["title"],
        "Easy Banana Bread",
        "{}",
        warm.body
    );
    let idle = proc_status(pid, "VmRSS:");
    for (name, page) in hostile_pages() {
        let before = proc_status(pid, "VmRSS:");
        // Linux resets the peak to the current size ("5" into clear_refs), so each page's peak is its own.
        std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
        let answer = send(&page);
        drop(page);
        let peak = proc_status(pid, "VmHWM:");
        let code = answer.json()["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or("a draft")
            .to_owned();
        assert!(
            answer.status.code == 200 && code != "IMPORT_TIMEOUT" && code != "INTERNAL",
            "{name}: {}",
            answer.body
        );
        let above = peak.saturating_sub(idle) / (1024 * 1024);
        let kept = before.saturating_sub(idle) / (1024 * 1024);
        println!("{name}: peak {above} MB above idle ({kept} MB of it kept by the allocator from earlier pages), answer {code:?}");
        assert!(above < 64, "{name}: peak {above} MB above idle");
    }
}

#[tokio::test]
async fn what_an_import_reads_is_data_not_a_probe() {
    let app = TestApp::spawn_with(UNLIMITED).await;
    let token = dev_token("importer");
    let page = format!("{}<script>alert(1)</script>", fixture("jsonld-array.html"));
    assert!(draft(&import(&app, &token, &page, "https://big.example/cake").await)["title"].is_string());
    let text = app
        .gql_as(
            &token,
            FROM_TEXT,
            json!({ "text": "Soup\n<script>alert(1)</script>\n1 leek" }),
        )
        .await;
    assert!(text["errors"].is_null(), "{text}");
    let probes = |app: &TestApp| {
        app.security_events()
            .into_iter()
            .filter(|e| e["event_type"] == "suspicious_request")
            .count()
    };
    assert_eq!(probes(&app), 0, "{:?}", app.security_events());
    // The same text sent where it would be kept is still reported.
    let query = "mutation($t: String!) { createRecipe(input: { title: $t }) { id } }";
    app.gql_as(&token, query, json!({ "t": "<script>alert(1)</script>" }))
        .await;
    assert_eq!(probes(&app), 1);
}

#[tokio::test]
async fn a_page_without_structured_data_is_read_by_its_headings() {
    let app = TestApp::spawn_with(UNLIMITED).await;
    let token = dev_token("importer");
    let page = "<html><head><title>Blog | Kuchen</title><meta property=\"og:image\" content=\"/k.jpg\"></head><body>
        <nav><ul><li>Zutaten</li><li>Zubereitung</li></ul></nav><h1>Omas Kuchen</h1>
        <p><strong>Zutaten:</strong></p><p>200 g Mehl<br>2 EL Zucker<br>3 Eier</p>
        <h2>Zubereitung</h2><ol><li>Alles verrühren.</li><li>40 Minuten backen.</li></ol></body></html>";
    let response = import(&app, &token, page, "https://blog.example/kuchen").await;
    let d = draft(&response);
    assert_eq!(d["foundIn"], "OUTLINE");
    assert_eq!(d["title"], "Omas Kuchen");
    assert_eq!(
        column(&d["ingredients"], "originalText"),
        ["200 g Mehl", "2 EL Zucker", "3 Eier"]
    );
    assert_eq!(column(&d["steps"], "text"), ["Alles verrühren.", "40 Minuten backen."]);
    assert_eq!(d["imageUrls"], json!(["https://blog.example/k.jpg"]));
}

#[tokio::test]
async fn drafts_are_not_counted_as_writes_of_the_address() {
    use crate::helpers::{unique_ip, SocketApp};
    // An address of its own (through a trusted proxy), so no other socket test shares its allowances.
    let server = SocketApp::spawn_with(&[("trusted_proxies", "127.0.0.1/32")]).await;
    let (auth, client) = (format!("Bearer {}", dev_token("paster")), unique_ip().to_string());
    let headers = [("Authorization", auth.as_str()), ("X-Forwarded-For", client.as_str())];
    let text = "mutation { importRecipeFromText(text: \"Tea\\n1 bag tea\") { title } }";
    // A burst of writes from one address is 10; drafts write nothing and have their own class (bursts of 20).
    for n in 0..12 {
        let answer = server.post_graphql(&headers, text).await;
        assert_eq!(answer.status.code, 200, "draft {n}: {}", answer.body);
    }
}
