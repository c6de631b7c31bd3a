use serde_json::{json, Value};

use crate::helpers::{create_recipe, dev_token, TestApp};

const SET: &str = "mutation($id: UUID!, $names: [String!]!) { setRecipeTags(recipeId: $id, names: $names) { tags { id name colour } } }";

async fn set_tags(app: &TestApp, token: &str, id: &str, names: &[&str]) -> Value {
    app.gql_as(token, SET, json!({ "id": id, "names": names })).await
}

fn names(tags: &Value) -> Vec<&str> {
    tags.as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn tags_are_per_user_and_unique_regardless_of_case() {
    let app = TestApp::spawn().await;
    let token = dev_token("tagger");
    let soup = create_recipe(&app, &token, "Soup").await;
    let stew = create_recipe(&app, &token, "Stew").await;
    let set = set_tags(&app, &token, &soup, &["Dinner", " vegan ", "dinner"]).await;
    assert_eq!(names(&set["data"]["setRecipeTags"]["tags"]), ["Dinner", "vegan"]);
    let set = set_tags(&app, &token, &stew, &["DINNER", "Winter"]).await;
    assert_eq!(
        names(&set["data"]["setRecipeTags"]["tags"]),
        ["Dinner", "Winter"],
        "existing tag reused"
    );
    let all = app.gql_as(&token, "{ tags { name } }", json!({})).await;
    assert_eq!(names(&all["data"]["tags"]), ["Dinner", "vegan", "Winter"]);

    let other = dev_token("other-tagger");
    assert_eq!(
        app.gql_as(&other, "{ tags { name } }", json!({})).await["data"]["tags"],
        json!([])
    );
    let foreign = set_tags(&app, &other, &soup, &["Mine"]).await;
    assert_eq!(foreign["errors"][0]["extensions"]["code"], "NOT_FOUND");
    let too_many: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
    let refs: Vec<&str> = too_many.iter().map(String::as_str).collect();
    assert_eq!(
        set_tags(&app, &token, &soup, &refs).await["errors"][0]["extensions"]["field"],
        "names"
    );
    assert_eq!(
        set_tags(&app, &token, &soup, &["  "]).await["errors"][0]["extensions"]["field"],
        "names.0"
    );
}

#[tokio::test]
async fn tags_can_be_renamed_recoloured_and_deleted() {
    let app = TestApp::spawn().await;
    let token = dev_token("curator");
    let id = create_recipe(&app, &token, "Cake").await;
    let tags = set_tags(&app, &token, &id, &["Sweet", "Baking"]).await["data"]["setRecipeTags"]["tags"].clone();
    let sweet = tags.as_array().unwrap().iter().find(|t| t["name"] == "Sweet").unwrap()["id"].clone();
    let baking = tags.as_array().unwrap().iter().find(|t| t["name"] == "Baking").unwrap()["id"].clone();
    let update = "mutation($id: UUID!, $name: String, $colour: String) { updateTag(id: $id, name: $name, colour: $colour) { name colour } }";
    let renamed = app
        .gql_as(
            &token,
            update,
            json!({ "id": sweet, "name": "Dessert", "colour": "#FFAA00" }),
        )
        .await;
    assert_eq!(
        renamed["data"]["updateTag"],
        json!({"name": "Dessert", "colour": "#ffaa00"})
    );
    let clash = app
        .gql_as(&token, update, json!({ "id": sweet, "name": "BAKING" }))
        .await;
    assert_eq!(clash["errors"][0]["extensions"]["code"], "CONFLICT");
    let bad = app
        .gql_as(&token, update, json!({ "id": sweet, "colour": "red" }))
        .await;
    assert_eq!(
        bad["errors"][0]["extensions"],
        json!({"code": "BAD_USER_INPUT", "field": "colour"})
    );
    let cleared = app.gql_as(&token, update, json!({ "id": sweet, "colour": null })).await;
    assert_eq!(cleared["data"]["updateTag"]["colour"], Value::Null);
    let foreign = app
        .gql_as(&dev_token("vandal"), update, json!({ "id": sweet, "name": "x" }))
        .await;
    assert_eq!(foreign["errors"][0]["extensions"]["code"], "NOT_FOUND");

    let deleted = app
        .gql_as(
            &token,
            "mutation($id: UUID!) { deleteTag(id: $id) }",
            json!({ "id": baking }),
        )
        .await;
    assert_eq!(deleted, json!({"data": {"deleteTag": true}}));
    let left = app
        .gql_as(
            &token,
            "query($id: UUID!) { recipe(id: $id) { tags { name } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(names(&left["data"]["recipe"]["tags"]), ["Dessert"]);
}

#[tokio::test]
async fn recipes_filter_by_any_all_and_none_of_the_viewers_tags() {
    let app = TestApp::spawn().await;
    let token = dev_token("planner");
    let a = create_recipe(&app, &token, "A").await;
    let b = create_recipe(&app, &token, "B").await;
    create_recipe(&app, &token, "C").await;
    let tags_a = set_tags(&app, &token, &a, &["quick", "vegan"]).await["data"]["setRecipeTags"]["tags"].clone();
    set_tags(&app, &token, &b, &["quick"]).await;
    let id_of = |name: &str| tags_a.as_array().unwrap().iter().find(|t| t["name"] == name).unwrap()["id"].clone();
    let (quick, vegan) = (id_of("quick"), id_of("vegan"));
    let query = "query($tags: TagFilter) { recipes(filter: { tags: $tags }, sort: { field: TITLE, direction: ASC }) { edges { node { title tags { name } } } } }";
    let titles = |v: &Value| -> Vec<String> {
        v["data"]["recipes"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        titles(
            &app.gql_as(&token, query, json!({ "tags": { "any": [quick, vegan] } }))
                .await
        ),
        ["A", "B"]
    );
    assert_eq!(
        titles(
            &app.gql_as(&token, query, json!({ "tags": { "all": [quick, vegan] } }))
                .await
        ),
        ["A"]
    );
    assert_eq!(
        titles(&app.gql_as(&token, query, json!({ "tags": { "none": [quick] } })).await),
        ["C"]
    );
    let listed = app.gql_as(&token, query, json!({ "tags": { "all": [vegan] } })).await;
    assert_eq!(
        names(&listed["data"]["recipes"]["edges"][0]["node"]["tags"]),
        ["quick", "vegan"]
    );

    let other = dev_token("snoop");
    let theirs = app.gql_as(&other, query, json!({ "tags": { "any": [quick] } })).await;
    assert_eq!(
        theirs["errors"][0]["extensions"],
        json!({"code": "BAD_USER_INPUT", "field": "filter.tags.any"})
    );
    let unknown = app
        .gql_as(&token, query, json!({ "tags": { "none": [uuid::Uuid::now_v7()] } }))
        .await;
    assert_eq!(
        unknown["errors"][0]["extensions"],
        json!({"code": "BAD_USER_INPUT", "field": "filter.tags.none"})
    );
}
