use serde_json::{json, Value};

use crate::helpers::{create_recipe, dev_token, TestApp};

async fn collection(app: &TestApp, token: &str, name: &str) -> Value {
    app.gql_as(
        token,
        "mutation($n: String!) { createCollection(input: { name: $n, description: \"Weeknight food\" }) { id name description recipeCount } }",
        json!({ "n": name }),
    )
    .await
}

const ADD: &str =
    "mutation($id: UUID!, $r: [UUID!]!) { addRecipesToCollection(id: $id, recipeIds: $r) { recipeCount } }";
const REMOVE: &str =
    "mutation($id: UUID!, $r: [UUID!]!) { removeRecipesFromCollection(id: $id, recipeIds: $r) { recipeCount } }";

fn titles(connection: &Value) -> Vec<&str> {
    connection["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["title"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn collections_group_recipes_idempotently() {
    let app = TestApp::spawn().await;
    let token = dev_token("collector");
    let (a, b, c) = (
        create_recipe(&app, &token, "A").await,
        create_recipe(&app, &token, "B").await,
        create_recipe(&app, &token, "C").await,
    );
    let created = collection(&app, &token, "Dinners").await;
    assert_eq!(created["data"]["createCollection"]["recipeCount"], 0);
    let id = created["data"]["createCollection"]["id"].clone();
    assert_eq!(
        app.gql_as(&token, ADD, json!({ "id": id, "r": [a, b] })).await["data"]["addRecipesToCollection"]
            ["recipeCount"],
        2
    );
    assert_eq!(
        app.gql_as(&token, ADD, json!({ "id": id, "r": [b, a] })).await["data"]["addRecipesToCollection"]
            ["recipeCount"],
        2,
        "adding again changes nothing"
    );

    let query = "query($id: UUID!) { collection(id: $id) { name recipeCount recipes(sort: { field: TITLE, direction: ASC }) { totalCount edges { node { title } } } } }";
    let read = app.gql_as(&token, query, json!({ "id": id })).await;
    assert_eq!(titles(&read["data"]["collection"]["recipes"]), ["A", "B"]);
    let uncollected = app
        .gql_as(
            &token,
            "{ recipes(filter: { collection: \"UNCOLLECTED\" }) { edges { node { title } } } }",
            json!({}),
        )
        .await;
    assert_eq!(titles(&uncollected["data"]["recipes"]), ["C"]);
    let filtered = app
        .gql_as(
            &token,
            "query($c: String) { recipes(filter: { collection: $c }) { totalCount } }",
            json!({ "c": id }),
        )
        .await;
    assert_eq!(filtered["data"]["recipes"]["totalCount"], 2);

    assert_eq!(
        app.gql_as(&token, REMOVE, json!({ "id": id, "r": [a, c] })).await["data"]["removeRecipesFromCollection"]
            ["recipeCount"],
        1
    );
    assert_eq!(
        app.gql_as(&token, REMOVE, json!({ "id": id, "r": [a] })).await["data"]["removeRecipesFromCollection"]
            ["recipeCount"],
        1,
        "idempotent"
    );

    let deleted = app
        .gql_as(
            &token,
            "mutation($id: UUID!) { deleteCollection(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(deleted, json!({"data": {"deleteCollection": true}}));
    assert_eq!(
        app.count("recipes", "true").await,
        3,
        "deleting a collection keeps its recipes"
    );
    // Deleting a recipe that is in a collection never fails.
    let again = collection(&app, &token, "Again").await["data"]["createCollection"]["id"].clone();
    app.gql_as(&token, ADD, json!({ "id": again, "r": [b] })).await;
    assert_eq!(
        app.gql_as(
            &token,
            "mutation($id: UUID!) { deleteRecipe(id: $id) }",
            json!({ "id": b })
        )
        .await["data"]["deleteRecipe"],
        true
    );
    assert_eq!(
        app.gql_as(&token, "{ collections { name recipeCount } }", json!({}))
            .await["data"]["collections"],
        json!([{"name": "Again", "recipeCount": 0}])
    );
}

#[tokio::test]
async fn collections_are_private_and_names_unique_per_user() {
    let app = TestApp::spawn().await;
    let token = dev_token("owner-c");
    let other = dev_token("other-c");
    let id = collection(&app, &token, "Baking").await["data"]["createCollection"]["id"].clone();
    assert_eq!(
        collection(&app, &token, "Baking").await["errors"][0]["extensions"]["code"],
        "CONFLICT"
    );
    assert!(
        collection(&app, &other, "Baking").await["errors"].is_null(),
        "another user may use the same name"
    );

    let read = app
        .gql_as(
            &other,
            "query($id: UUID!) { collection(id: $id) { name } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read["errors"][0]["extensions"]["code"], "NOT_FOUND");
    let theirs = create_recipe(&app, &other, "Theirs").await;
    let add = app.gql_as(&token, ADD, json!({ "id": id, "r": [theirs] })).await;
    assert_eq!(
        add["errors"][0]["extensions"],
        json!({"code": "BAD_USER_INPUT", "field": "recipeIds"})
    );
    let add_to_foreign = app.gql_as(&other, ADD, json!({ "id": id, "r": [theirs] })).await;
    assert_eq!(add_to_foreign["errors"][0]["extensions"]["code"], "NOT_FOUND");
    let filter = app
        .gql_as(
            &other,
            "query($c: String) { recipes(filter: { collection: $c }) { totalCount } }",
            json!({ "c": id }),
        )
        .await;
    assert_eq!(
        filter["errors"][0]["extensions"],
        json!({"code": "BAD_USER_INPUT", "field": "filter.collection"})
    );
    let delete = app
        .gql_as(
            &other,
            "mutation($id: UUID!) { deleteCollection(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(delete["errors"][0]["extensions"]["code"], "NOT_FOUND");

    let update = "mutation($id: UUID!, $n: String, $d: String) { updateCollection(id: $id, name: $n, description: $d) { name description } }";
    let renamed = app
        .gql_as(&token, update, json!({ "id": id, "n": "Bread", "d": null }))
        .await;
    assert_eq!(
        renamed["data"]["updateCollection"],
        json!({"name": "Bread", "description": null})
    );
    for (vars, field) in [
        (json!({ "id": id, "n": "" }), "name"),
        (json!({ "id": id, "n": "x".repeat(256) }), "name"),
        (json!({ "id": id, "d": "x".repeat(1001) }), "description"),
    ] {
        let response = app.gql_as(&token, update, vars).await;
        assert_eq!(
            response["errors"][0]["extensions"],
            json!({"code": "BAD_USER_INPUT", "field": field})
        );
    }
}

#[tokio::test]
async fn another_users_tags_and_collections_are_not_found_for_every_mutation() {
    let app = TestApp::spawn().await;
    let owner = dev_token("keeper");
    let intruder = dev_token("intruder-c");
    let id = collection(&app, &owner, "Mine").await["data"]["createCollection"]["id"].clone();
    let recipe_id = create_recipe(&app, &owner, "Kept").await;
    app.gql_as(&owner, ADD, json!({ "id": id, "r": [recipe_id] })).await;
    let tag = app
        .gql_as(
            &owner,
            "mutation($id: UUID!) { setRecipeTags(recipeId: $id, names: [\"kept\"]) { tags { id } } }",
            json!({ "id": recipe_id }),
        )
        .await["data"]["setRecipeTags"]["tags"][0]["id"]
        .clone();
    for (query, vars) in [
        (
            "mutation($id: UUID!) { updateCollection(id: $id, name: \"Taken\") { name } }",
            json!({ "id": id }),
        ),
        (REMOVE, json!({ "id": id, "r": [recipe_id] })),
        ("mutation($id: UUID!) { deleteTag(id: $id) }", json!({ "id": tag })),
        (
            "mutation($id: UUID!) { updateTag(id: $id, name: \"taken\") { name } }",
            json!({ "id": tag }),
        ),
        (
            "mutation($id: UUID!) { duplicateRecipe(id: $id) { id } }",
            json!({ "id": recipe_id }),
        ),
    ] {
        let response = app.gql_as(&intruder, query, vars).await;
        assert_eq!(response["errors"][0]["extensions"]["code"], "NOT_FOUND", "{query}");
    }
    let intact = app
        .gql_as(&owner, "{ collections { name recipeCount } tags { name } }", json!({}))
        .await;
    assert_eq!(
        intact["data"],
        json!({"collections": [{"name": "Mine", "recipeCount": 1}], "tags": [{"name": "kept"}]})
    );
}
