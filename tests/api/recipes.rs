use rocket::http::Status;
use serde_json::json;

use crate::helpers::{dev_token, TestApp};

const PARSE: &str = "query($lines: [String!]!) { parseIngredients(lines: $lines) { quantity quantityMax quantityDisplay unit unitDisplay item note originalText } }";

#[tokio::test]
async fn parse_ingredients_structures_lines_and_keeps_the_original() {
    let app = TestApp::spawn().await;
    let lines = [
        "1 1/2 cups flour, sifted",
        "2–3 cloves garlic",
        "12 fl oz beer",
        "salt to taste",
    ];
    let response = app.gql(PARSE, json!({ "lines": lines })).await;
    assert_eq!(
        response,
        json!({"data": {"parseIngredients": [
            {"quantity": "1.5", "quantityMax": null, "quantityDisplay": "1½", "unit": "cup", "unitDisplay": "cup",
             "item": "flour", "note": "sifted", "originalText": "1 1/2 cups flour, sifted"},
            {"quantity": "2", "quantityMax": "3", "quantityDisplay": "2–3", "unit": "clove", "unitDisplay": "clove",
             "item": "garlic", "note": null, "originalText": "2–3 cloves garlic"},
            {"quantity": "12", "quantityMax": null, "quantityDisplay": "12", "unit": "fl_oz", "unitDisplay": "fl oz",
             "item": "beer", "note": null, "originalText": "12 fl oz beer"},
            {"quantity": null, "quantityMax": null, "quantityDisplay": null, "unit": null, "unitDisplay": null,
             "item": "salt", "note": "to taste", "originalText": "salt to taste"}
        ]}})
    );
}

#[tokio::test]
async fn parse_ingredients_bounds_its_input() {
    let app = TestApp::spawn().await;
    let too_many = vec!["1 egg"; 201];
    let response = app.gql(PARSE, json!({ "lines": too_many })).await;
    assert_eq!(
        response["errors"][0]["extensions"],
        json!({"code": "BAD_USER_INPUT", "field": "lines"})
    );
    let long = vec!["1 egg".to_owned(), "x".repeat(501)];
    let response = app.gql(PARSE, json!({ "lines": long })).await;
    assert_eq!(
        response["errors"][0]["extensions"],
        json!({"code": "BAD_USER_INPUT", "field": "lines.1"})
    );
}

const RECIPE_FIELDS: &str = "id title description prepMinutes cookMinutes totalMinutes servings yieldText sourceType sourceUrl visibility version
    ingredients { position section quantity quantityMax quantityDisplay unit unitDisplay item note originalText }
    steps { position section text }";

fn create_mutation() -> String {
    format!("mutation($input: CreateRecipeInput!) {{ createRecipe(input: $input) {{ {RECIPE_FIELDS} }} }}")
}

fn pancakes() -> serde_json::Value {
    json!({
        "title": "  Fluffy pancakes ",
        "description": "Sunday <b>breakfast</b>",
        "prepMinutes": 10,
        "cookMinutes": 15,
        "servings": "4",
        "sourceType": "WEBSITE",
        "sourceUrl": "https://example.com/pancakes",
        "ingredients": [
            {"line": "1 1/2 cups flour, sifted", "section": "Batter"},
            {"line": "⅓ cup sugar"},
            {"quantity": "2", "item": "eggs", "note": "beaten"},
            {"line": "salt to taste", "note": "a pinch"}
        ],
        "steps": [{"text": "Mix.", "section": "Batter"}, {"text": "Fry until golden."}]
    })
}

async fn create(app: &TestApp, token: &str, input: serde_json::Value) -> serde_json::Value {
    app.gql_as(token, &create_mutation(), json!({ "input": input })).await
}

#[tokio::test]
async fn created_recipes_keep_structure_order_and_original_text() {
    let app = TestApp::spawn().await;
    let token = dev_token("cook");
    let created = create(&app, &token, pancakes()).await;
    let recipe = &created["data"]["createRecipe"];
    assert_eq!(recipe["title"], "Fluffy pancakes");
    assert_eq!(
        recipe["description"], "Sunday <b>breakfast</b>",
        "stored as data, not HTML"
    );
    assert_eq!(recipe["totalMinutes"], 25, "derived from prep + cook");
    assert_eq!(recipe["servings"], "4");
    assert_eq!(
        (recipe["visibility"].as_str(), recipe["version"].as_i64()),
        (Some("PRIVATE"), Some(1))
    );
    assert_eq!(
        recipe["ingredients"],
        json!([
            {"position": 0, "section": "Batter", "quantity": "1.5", "quantityMax": null, "quantityDisplay": "1½", "unit": "cup",
             "unitDisplay": "cup", "item": "flour", "note": "sifted", "originalText": "1 1/2 cups flour, sifted"},
            {"position": 1, "section": null, "quantity": "0.3333", "quantityMax": null, "quantityDisplay": "⅓", "unit": "cup",
             "unitDisplay": "cup", "item": "sugar", "note": null, "originalText": "⅓ cup sugar"},
            {"position": 2, "section": null, "quantity": "2", "quantityMax": null, "quantityDisplay": "2", "unit": null,
             "unitDisplay": null, "item": "eggs", "note": "beaten", "originalText": "2 eggs, beaten"},
            {"position": 3, "section": null, "quantity": null, "quantityMax": null, "quantityDisplay": null, "unit": null,
             "unitDisplay": null, "item": "salt", "note": "a pinch", "originalText": "salt to taste"}
        ])
    );
    assert_eq!(
        recipe["steps"],
        json!([{"position": 0, "section": "Batter", "text": "Mix."}, {"position": 1, "section": null, "text": "Fry until golden."}])
    );
    let id = recipe["id"].as_str().unwrap();
    let fetched = app
        .gql_as(
            &token,
            &format!("query($id: UUID!) {{ recipe(id: $id) {{ {RECIPE_FIELDS} }} }}"),
            json!({ "id": id }),
        )
        .await;
    assert_eq!(&fetched["data"]["recipe"], recipe);
}

#[tokio::test]
async fn another_users_recipe_is_not_found_for_reading_and_deleting() {
    let app = TestApp::spawn().await;
    let owner = dev_token("owner");
    let stranger = dev_token("stranger");
    let id = create(&app, &owner, pancakes()).await["data"]["createRecipe"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let read = app
        .gql_as(
            &stranger,
            "query($id: UUID!) { recipe(id: $id) { title } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read["errors"][0]["extensions"]["code"], "NOT_FOUND");
    let missing = app
        .gql_as(
            &stranger,
            "query($id: UUID!) { recipe(id: $id) { title } }",
            json!({ "id": uuid::Uuid::now_v7() }),
        )
        .await;
    assert_eq!(
        read["errors"][0]["message"], missing["errors"][0]["message"],
        "indistinguishable from a missing one"
    );
    let delete = app
        .gql_as(
            &stranger,
            "mutation($id: UUID!) { deleteRecipe(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(delete["errors"][0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(app.count("recipes", &format!("id = '{id}'")).await, 1);
    let anonymous = app
        .gql("query($id: UUID!) { recipe(id: $id) { title } }", json!({ "id": id }))
        .await;
    assert_eq!(anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    let deleted = app
        .gql_as(
            &owner,
            "mutation($id: UUID!) { deleteRecipe(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(deleted, json!({"data": {"deleteRecipe": true}}));
    assert_eq!(app.count("recipe_ingredients", &format!("recipe_id = '{id}'")).await, 0);
    assert_eq!(app.count("recipe_steps", &format!("recipe_id = '{id}'")).await, 0);
}

#[tokio::test]
async fn invalid_recipe_input_names_the_field() {
    let app = TestApp::spawn().await;
    let token = dev_token("sloppy");
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (json!({"title": "   "}), "input.title"),
        (json!({"title": "x".repeat(201)}), "input.title"),
        (json!({"title": "t", "prepMinutes": -5}), "input.prepMinutes"),
        (json!({"title": "t", "servings": "0"}), "input.servings"),
        (json!({"title": "t", "servings": "lots"}), "input.servings"),
        (
            json!({"title": "t", "sourceUrl": "javascript:alert(1)"}),
            "input.sourceUrl",
        ),
        (json!({"title": "t", "sourceUrl": "https://"}), "input.sourceUrl"),
        (
            json!({"title": "t", "description": "x".repeat(10_001)}),
            "input.description",
        ),
        (
            json!({"title": "t", "ingredients": [{"line": "1 egg"}, {"unit": "cup"}]}),
            "input.ingredients.1.item",
        ),
        (
            json!({"title": "t", "ingredients": [{"item": "flour", "unit": "bucket"}]}),
            "input.ingredients.0.unit",
        ),
        (
            json!({"title": "t", "ingredients": [{"item": "flour", "quantity": "3", "quantityMax": "2"}]}),
            "input.ingredients.0.quantityMax",
        ),
        (
            json!({"title": "t", "ingredients": vec![json!({"line": "1 egg"}); 201]}),
            "input.ingredients",
        ),
        (json!({"title": "t", "steps": [{"text": ""}]}), "input.steps.0.text"),
        (json!({"title": "a\u{0000}b"}), "input.title"),
    ];
    for (input, field) in cases {
        let response = create(&app, &token, input.clone()).await;
        assert_eq!(
            response["errors"][0]["extensions"],
            json!({"code": "BAD_USER_INPUT", "field": field}),
            "{input}"
        );
    }
    assert_eq!(app.count("recipes", "true").await, 0, "nothing was written");
}

#[tokio::test]
async fn deleting_an_account_deletes_its_recipes_ingredients_and_steps() {
    let app = TestApp::spawn().await;
    let token = dev_token("leaving-cook");
    create(&app, &token, pancakes()).await;
    create(&app, &token, pancakes()).await;
    let other = dev_token("staying-cook");
    create(&app, &other, pancakes()).await;
    assert_eq!(
        app.gql_as(&token, "mutation { deleteAccount }", json!({})).await["data"]["deleteAccount"],
        true
    );
    assert_eq!(
        app.count("recipes", "true").await,
        1,
        "only the other user's recipe is left"
    );
    assert_eq!(app.count("recipe_ingredients", "true").await, 4);
    assert_eq!(app.count("recipe_steps", "true").await, 2);
}

const LIST: &str = "query($first: Int, $after: String, $filter: RecipeFilter, $sort: RecipeSort) {
    recipes(first: $first, after: $after, filter: $filter, sort: $sort) {
        totalCount serverTime pageInfo { hasNextPage endCursor }
        edges { cursor node { id title totalMinutes ingredients { item } steps { text } } }
    } }";

async fn list(app: &TestApp, token: &str, vars: serde_json::Value) -> serde_json::Value {
    let response = app.gql_as(token, LIST, vars).await;
    assert!(response["errors"].is_null(), "{response}");
    response["data"]["recipes"].clone()
}

/// Creates `n` recipes titled "Recipe 00".."Recipe n-1" with varied times; returns their ids.
async fn seed(app: &TestApp, token: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let total = if i % 5 == 0 {
            serde_json::Value::Null
        } else {
            json!((i * 7) % 60)
        };
        let input = json!({
            "title": format!("Recipe {i:02}"),
            "totalMinutes": total,
            "sourceType": if i % 2 == 0 { "MANUAL" } else { "WEBSITE" },
            "ingredients": [{"line": format!("{} g flour", i + 1)}],
            "steps": [{"text": "Bake."}]
        });
        ids.push(
            create(app, token, input).await["data"]["createRecipe"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    ids
}

async fn all_pages(app: &TestApp, token: &str, sort: serde_json::Value, first: i64) -> Vec<serde_json::Value> {
    let mut nodes = Vec::new();
    let mut after = serde_json::Value::Null;
    loop {
        let page = list(app, token, json!({ "first": first, "after": after, "sort": sort })).await;
        nodes.extend(page["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()));
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    nodes
}

#[tokio::test]
async fn pages_cover_every_recipe_once_in_a_stable_order() {
    let app = TestApp::spawn().await;
    let token = dev_token("pager");
    let mut ids = seed(&app, &token, 23).await;
    let first_page = list(&app, &token, json!({ "first": 10 })).await;
    assert_eq!(first_page["totalCount"], 23);
    assert_eq!(first_page["edges"][0]["node"]["ingredients"][0]["item"], "flour");

    let newest_first = all_pages(&app, &token, json!({}), 10).await;
    let seen: Vec<String> = newest_first
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    ids.reverse();
    assert_eq!(seen, ids, "updated-at descending, each recipe exactly once");

    let by_title = all_pages(&app, &token, json!({ "field": "TITLE", "direction": "ASC" }), 7).await;
    let titles: Vec<&str> = by_title.iter().map(|n| n["title"].as_str().unwrap()).collect();
    let mut sorted = titles.clone();
    sorted.sort_unstable();
    assert_eq!(titles, sorted);

    let by_time = all_pages(&app, &token, json!({ "field": "TOTAL_TIME", "direction": "ASC" }), 4).await;
    let times: Vec<Option<i64>> = by_time.iter().map(|n| n["totalMinutes"].as_i64()).collect();
    assert_eq!(times.len(), 23);
    let known: Vec<i64> = times.iter().flatten().copied().collect();
    assert!(known.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(
        times.iter().skip_while(|t| t.is_some()).all(Option::is_none),
        "recipes without a time come last: {times:?}"
    );
}

#[tokio::test]
async fn lists_show_only_the_viewers_recipes_and_filters_apply() {
    let app = TestApp::spawn().await;
    let token = dev_token("filterer");
    seed(&app, &token, 10).await;
    let other = dev_token("neighbour");
    create(&app, &other, pancakes()).await;
    assert_eq!(list(&app, &token, json!({})).await["totalCount"], 10);
    assert_eq!(list(&app, &other, json!({})).await["totalCount"], 1);

    let search = list(&app, &other, json!({ "filter": { "text": "fluffy" } })).await;
    assert_eq!(search["edges"][0]["node"]["title"], "Fluffy pancakes");
    assert_eq!(
        list(&app, &token, json!({ "filter": { "text": "fluffy" } })).await["totalCount"],
        0,
        "never another user's"
    );
    assert_eq!(
        list(&app, &token, json!({ "filter": { "sourceType": "WEBSITE" } })).await["totalCount"],
        5
    );
    let quick = list(&app, &token, json!({ "filter": { "maxTotalMinutes": 20 } })).await;
    assert!(quick["edges"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["node"]["totalMinutes"].as_i64().unwrap() <= 20));
    let server_time = list(&app, &token, json!({})).await["serverTime"].clone();
    let since = list(&app, &token, json!({ "filter": { "updatedSince": server_time } })).await;
    assert_eq!(since["totalCount"], 0, "nothing changed since the last sync");

    let anonymous = app.gql(LIST, json!({})).await;
    assert_eq!(anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn bad_page_arguments_are_bad_user_input() {
    let app = TestApp::spawn().await;
    let token = dev_token("prober");
    seed(&app, &token, 2).await;
    let title_cursor =
        list(&app, &token, json!({ "first": 1, "sort": { "field": "TITLE" } })).await["pageInfo"]["endCursor"].clone();
    for (vars, field) in [
        (json!({ "first": 0 }), "first"),
        (json!({ "first": 1000 }), "first"),
        (json!({ "after": "not-a-cursor" }), "after"),
        (json!({ "after": "eyJ2Ijp7IlRleHQiOiJ4In19" }), "after"),
        (json!({ "after": title_cursor }), "after"),
        (json!({ "filter": { "text": "x".repeat(201) } }), "filter.text"),
    ] {
        let response = app.gql_as(&token, LIST, vars.clone()).await;
        assert_eq!(
            response["errors"][0]["extensions"],
            json!({"code": "BAD_USER_INPUT", "field": field}),
            "{vars}"
        );
    }
    let hostile = list(
        &app,
        &token,
        json!({ "filter": { "text": "'); drop table recipes; --" } }),
    )
    .await;
    assert_eq!(hostile["totalCount"], 0);
    assert_eq!(app.count("recipes", "true").await, 2);
}

#[tokio::test]
async fn large_pages_of_nested_data_cost_more_than_the_complexity_budget() {
    let app = TestApp::spawn().await;
    let token = dev_token("greedy");
    let full = "edges { cursor node { id title description prepMinutes cookMinutes totalMinutes servings yieldText
        sourceType sourceUrl visibility version createdAt updatedAt
        ingredients { id position quantity quantityDisplay unit item note originalText } steps { id position text } } }";
    let greedy = format!("{{ recipes(first: 100) {{ {full} }} }}");
    let auth = format!("Bearer {token}");
    let response = app.gql_with(&[("Authorization", &auth)], &greedy, json!({})).await;
    assert_eq!(response.status, Status::BadRequest, "{}", response.body);
    assert_eq!(response.json()["errors"][0]["extensions"]["limit"], "complexity");
    let page = format!("{{ recipes(first: 20) {{ totalCount pageInfo {{ hasNextPage endCursor }} {full} }} }}");
    assert!(
        app.gql_as(&token, &page, json!({})).await["errors"].is_null(),
        "a normal PWA page fits"
    );
}

#[tokio::test]
async fn ingredients_scale_exactly_to_other_servings() {
    let app = TestApp::spawn().await;
    let token = dev_token("scaler");
    let input = json!({
        "title": "Scalable", "servings": "4",
        "ingredients": [{"line": "1 1/2 cups flour"}, {"line": "2-3 eggs"}, {"line": "⅓ cup sugar"}, {"line": "salt to taste"}]
    });
    let id = create(&app, &token, input).await["data"]["createRecipe"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let query =
        "query($id: UUID!, $to: String) { recipe(id: $id) { ingredients(scaleTo: $to) { quantityDisplay item } } }";
    let scaled = app.gql_as(&token, query, json!({ "id": id, "to": "6" })).await;
    let shown: Vec<serde_json::Value> = scaled["data"]["recipe"]["ingredients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["quantityDisplay"].clone())
        .collect();
    assert_eq!(shown, [json!("2¼"), json!("3–4½"), json!("½"), json!(null)]);
    let same = app.gql_as(&token, query, json!({ "id": id, "to": null })).await;
    assert_eq!(same["data"]["recipe"]["ingredients"][0]["quantityDisplay"], "1½");
    for bad in ["0", "many"] {
        let response = app.gql_as(&token, query, json!({ "id": id, "to": bad })).await;
        assert_eq!(
            response["errors"][0]["extensions"],
            json!({"code": "BAD_USER_INPUT", "field": "scaleTo"}),
            "{bad}"
        );
    }
}

const UPDATE: &str = "mutation($id: UUID!, $v: Int!, $patch: RecipePatch!) {
    updateRecipe(id: $id, expectedVersion: $v, patch: $patch) {
        title description prepMinutes cookMinutes totalMinutes version ingredients { item } steps { text } } }";

#[tokio::test]
async fn updates_need_the_current_version_and_lose_nothing_when_stale() {
    let app = TestApp::spawn().await;
    let token = dev_token("editor");
    let id = create(&app, &token, pancakes()).await["data"]["createRecipe"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let patch = json!({ "title": "Fluffier pancakes", "description": null, "prepMinutes": 20, "ingredients": [{"line": "2 cups flour"}] });
    let updated = app
        .gql_as(&token, UPDATE, json!({ "id": id, "v": 1, "patch": patch }))
        .await;
    assert_eq!(
        updated["data"]["updateRecipe"],
        json!({"title": "Fluffier pancakes", "description": null, "prepMinutes": 20, "cookMinutes": 15, "totalMinutes": 35,
               "version": 2, "ingredients": [{"item": "flour"}], "steps": [{"text": "Mix."}, {"text": "Fry until golden."}]})
    );

    // An offline client still holding version 1 must not overwrite version 2.
    let stale = app
        .gql_as(
            &token,
            UPDATE,
            json!({ "id": id, "v": 1, "patch": { "title": "Old edit", "steps": [] } }),
        )
        .await;
    assert_eq!(stale["errors"][0]["extensions"]["code"], "CONFLICT");
    let now = app
        .gql_as(
            &token,
            "query($id: UUID!) { recipe(id: $id) { title version steps { text } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(now["data"]["recipe"]["title"], "Fluffier pancakes");
    assert_eq!(now["data"]["recipe"]["version"], 2);
    assert_eq!(now["data"]["recipe"]["steps"].as_array().unwrap().len(), 2);

    let foreign = app
        .gql_as(
            &dev_token("intruder"),
            UPDATE,
            json!({ "id": id, "v": 2, "patch": { "title": "Mine" } }),
        )
        .await;
    assert_eq!(foreign["errors"][0]["extensions"]["code"], "NOT_FOUND");
    let invalid = app
        .gql_as(&token, UPDATE, json!({ "id": id, "v": 2, "patch": { "title": "" } }))
        .await;
    assert_eq!(
        invalid["errors"][0]["extensions"],
        json!({"code": "BAD_USER_INPUT", "field": "patch.title"})
    );
    let invalid = app
        .gql_as(
            &token,
            UPDATE,
            json!({ "id": id, "v": 2, "patch": { "steps": [{"text": " "}] } }),
        )
        .await;
    assert_eq!(
        invalid["errors"][0]["extensions"],
        json!({"code": "BAD_USER_INPUT", "field": "patch.steps.0.text"})
    );
}

#[tokio::test]
async fn duplicates_are_private_copies_with_their_own_parts() {
    let app = TestApp::spawn().await;
    let token = dev_token("copier");
    let mut input = pancakes();
    input["visibility"] = json!("PUBLIC");
    let id = create(&app, &token, input).await["data"]["createRecipe"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let query = "mutation($id: UUID!) { duplicateRecipe(id: $id) { id title visibility ingredients { item originalText } steps { text } } }";
    let copy = app.gql_as(&token, query, json!({ "id": id })).await["data"]["duplicateRecipe"].clone();
    assert_ne!(copy["id"], json!(id));
    assert_eq!(copy["title"], "Fluffy pancakes (copy)");
    assert_eq!(copy["visibility"], "PRIVATE");
    assert_eq!(
        copy["ingredients"][0],
        json!({"item": "flour", "originalText": "1 1/2 cups flour, sifted"})
    );
    assert_eq!(app.count("recipe_ingredients", "true").await, 8);
    let foreign = app.gql_as(&dev_token("thief"), query, json!({ "id": id })).await;
    assert_eq!(foreign["errors"][0]["extensions"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn only_shared_recipes_are_public() {
    let app = TestApp::spawn().await;
    let token = dev_token("sharer");
    let id = create(&app, &token, pancakes()).await["data"]["createRecipe"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let public = "query($id: UUID!) { publicRecipe(id: $id) { title ingredients { item } } }";
    assert_eq!(
        app.gql(public, json!({ "id": id })).await["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );
    for (version, visibility) in [(1, "UNLISTED"), (2, "PUBLIC")] {
        let patch = json!({ "id": id, "v": version, "patch": { "visibility": visibility } });
        assert!(app.gql_as(&token, UPDATE, patch).await["errors"].is_null());
        let seen = app.gql(public, json!({ "id": id })).await;
        assert_eq!(seen["data"]["publicRecipe"]["title"], "Fluffy pancakes", "{visibility}");
    }
}

#[tokio::test]
async fn search_covers_ingredients_forgives_typos_and_filters_by_item() {
    let app = TestApp::spawn().await;
    let token = dev_token("searcher");
    let id = create(&app, &token, pancakes()).await["data"]["createRecipe"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    create(
        &app,
        &token,
        json!({ "title": "Tomato soup", "ingredients": [{"line": "1 kg tomatoes"}, {"line": "100% cocoa_nibs"}] }),
    )
    .await;
    let titles = |v: serde_json::Value| -> Vec<String> {
        v["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let search = |filter: serde_json::Value| list(&app, &token, json!({ "filter": filter }));
    assert_eq!(
        titles(search(json!({ "text": "sugar" })).await),
        ["Fluffy pancakes"],
        "ingredient items are searched"
    );
    assert_eq!(
        titles(search(json!({ "text": "pancaks" })).await),
        ["Fluffy pancakes"],
        "a typo still finds the title"
    );
    assert_eq!(
        titles(search(json!({ "text": "tomato -pancakes" })).await),
        ["Tomato soup"]
    );
    assert_eq!(titles(search(json!({ "ingredient": "TOMAT" })).await), ["Tomato soup"]);
    assert_eq!(
        titles(search(json!({ "ingredient": "%" })).await),
        ["Tomato soup"],
        "% is a character, not a wildcard"
    );
    assert_eq!(
        titles(search(json!({ "ingredient": "t_m" })).await),
        Vec::<String>::new(),
        "_ is a character too"
    );
    assert_eq!(titles(search(json!({ "ingredient": "a_n" })).await), ["Tomato soup"]);

    let patch = json!({ "id": id, "v": 1, "patch": { "ingredients": [{"line": "2 cups buckwheat"}] } });
    assert!(app.gql_as(&token, UPDATE, patch).await["errors"].is_null());
    assert_eq!(
        titles(search(json!({ "text": "buckwheat" })).await),
        ["Fluffy pancakes"]
    );
    assert!(titles(search(json!({ "text": "sugar" })).await).is_empty());
}

#[tokio::test]
async fn a_page_costs_the_same_number_of_statements_whatever_its_size() {
    let app = TestApp::spawn().await;
    let token = dev_token("counter");
    for i in 0..30 {
        let mut input = pancakes();
        input["title"] = json!(format!("Pancakes {i}"));
        let id = create(&app, &token, input).await["data"]["createRecipe"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let tags = json!({ "id": id, "names": ["breakfast", format!("batch {}", i % 3)] });
        app.gql_as(
            &token,
            "mutation($id: UUID!, $names: [String!]!) { setRecipeTags(recipeId: $id, names: $names) { id } }",
            tags,
        )
        .await;
    }
    let query = "query($first: Int) { recipes(first: $first) { totalCount edges { node { title ingredients { item } steps { text } tags { name } } } } }";
    let mut counts = Vec::new();
    for first in [1, 10, 30] {
        let (response, statements) =
            homechef::db::count_statements(app.gql_as(&token, query, json!({ "first": first }))).await;
        assert_eq!(
            response["data"]["recipes"]["edges"].as_array().unwrap().len(),
            first as usize
        );
        for edge in response["data"]["recipes"]["edges"].as_array().unwrap() {
            let i: usize = edge["node"]["title"].as_str().unwrap()["Pancakes ".len()..]
                .parse()
                .unwrap();
            assert_eq!(
                edge["node"]["tags"],
                json!([{ "name": format!("batch {}", i % 3) }, { "name": "breakfast" }]),
                "each recipe's own tags, by name"
            );
        }
        counts.push(statements);
    }
    assert!(counts[0] > 0, "statements are counted: {counts:?}");
    assert!(counts.iter().all(|c| *c == counts[0]), "constant, no N+1: {counts:?}");
    // The page with the owner's counter, then (pipelined, one round trip) its ingredients and steps (one
    // statement) and its tags; the viewer comes from the cache and the connection is not pinged.
    assert_eq!(counts[0], 3, "three statements per counted page: {counts:?}");
    let (response, uncounted) = homechef::db::count_statements(app.gql_as(
        &token,
        "{ recipes(first: 5) { edges { node { title ingredients { item } steps { text } tags { name } } } } }",
        json!({}),
    ))
    .await;
    assert_eq!(response["data"]["recipes"]["edges"].as_array().unwrap().len(), 5);
    assert_eq!(uncounted, 3, "no count unless totalCount is selected");
}

#[tokio::test]
async fn the_unfiltered_total_follows_every_way_recipes_come_and_go() {
    let app = TestApp::spawn().await;
    let token = dev_token("tally");
    let total = || async {
        app.gql_as(&token, "{ recipes { totalCount } }", json!({})).await["data"]["recipes"]["totalCount"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(total().await, 0);
    let first = create(&app, &token, pancakes()).await["data"]["createRecipe"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    create(&app, &token, pancakes()).await;
    let copy = app
        .gql_as(
            &token,
            "mutation($id: UUID!) { duplicateRecipe(id: $id) { id } }",
            json!({ "id": first }),
        )
        .await;
    assert!(copy["data"]["duplicateRecipe"]["id"].is_string(), "{copy}");
    assert_eq!(total().await, 3);
    app.gql_as(
        &token,
        "mutation($id: UUID!) { deleteRecipe(id: $id) }",
        json!({ "id": first }),
    )
    .await;
    assert_eq!(total().await, 2);
    // Another user's recipes are theirs.
    create(&app, &dev_token("other"), pancakes()).await;
    assert_eq!(total().await, 2);
    assert_eq!(app.count("recipes", "true").await, 3);
}

#[tokio::test]
async fn relevance_ranks_title_over_description_over_ingredients_across_pages() {
    let app = TestApp::spawn().await;
    let token = dev_token("ranker");
    create(
        &app,
        &token,
        json!({ "title": "Soup", "ingredients": [{"line": "2 cloves garlic"}] }),
    )
    .await;
    create(
        &app,
        &token,
        json!({ "title": "Pasta", "description": "With plenty of garlic." }),
    )
    .await;
    create(&app, &token, json!({ "title": "Garlic bread" })).await;
    create(&app, &token, json!({ "title": "Cake" })).await;
    let sort = json!({ "field": "RELEVANCE", "direction": "DESC" });
    let mut titles = Vec::new();
    let mut after = serde_json::Value::Null;
    loop {
        let page = list(
            &app,
            &token,
            json!({ "first": 1, "after": after, "sort": sort, "filter": { "text": "garlic" } }),
        )
        .await;
        titles.extend(
            page["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["title"].as_str().unwrap().to_owned()),
        );
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(titles, ["Garlic bread", "Pasta", "Soup"]);
    let without_text = app.gql_as(&token, LIST, json!({ "sort": sort })).await;
    assert_eq!(
        without_text["errors"][0]["extensions"],
        json!({"code": "BAD_USER_INPUT", "field": "sort.field"})
    );
}
