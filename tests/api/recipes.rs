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
