//! A household's catalogue: recipes, tags and collections its members share, read and change, and nobody else
//! finds (answers equal to a random id's); recipes moved in and out of it explicitly, with counts and sync that
//! follow.

use serde_json::{json, Value};

use crate::helpers::{dev_token, error_code, TestApp};
use crate::households::{answers_to, household, join, ok, outsiders};

/// A recipe `token` creates (in `household` when given) tagged `tags`; its id.
async fn recipe(app: &TestApp, token: &str, title: &str, household: Option<&str>, tags: &[&str]) -> String {
    let data = ok(
        app,
        token,
        "mutation($i: CreateRecipeInput!) { createRecipe(input: $i) { id householdId } }",
        json!({ "i": { "title": title, "householdId": household, "ingredients": [{ "line": "1 onion" }] } }),
    )
    .await;
    assert_eq!(data["createRecipe"]["householdId"].as_str(), household);
    let id = data["createRecipe"]["id"].as_str().unwrap().to_owned();
    ok(
        app,
        token,
        "mutation($r: UUID!, $n: [String!]!) { setRecipeTags(recipeId: $r, names: $n) { id } }",
        json!({ "r": id, "n": tags }),
    )
    .await;
    id
}

/// A collection `token` creates (in `household` when given); its id.
async fn collection(app: &TestApp, token: &str, name: &str, household: Option<&str>) -> String {
    let data = ok(
        app,
        token,
        "mutation($i: CollectionInput!) { createCollection(input: $i) { id householdId } }",
        json!({ "i": { "name": name, "householdId": household } }),
    )
    .await;
    assert_eq!(data["createCollection"]["householdId"].as_str(), household);
    data["createCollection"]["id"].as_str().unwrap().to_owned()
}

/// A set's recipes as `token` lists them: (titles, totalCount).
async fn listed(app: &TestApp, token: &str, household: Option<&str>) -> (Vec<String>, i64) {
    let data = ok(
        app,
        token,
        "query($h: UUID) { recipes(householdId: $h) { totalCount edges { node { title } } } }",
        json!({ "h": household }),
    )
    .await;
    let titles = data["recipes"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["title"].as_str().unwrap().to_owned())
        .collect();
    (titles, data["recipes"]["totalCount"].as_i64().unwrap())
}

/// Every operation on a shared recipe, tag, collection and the household's catalogue, with the ids it needs.
fn operations(household: &str, recipe: &str, tag: &str, collection: &str) -> Vec<(&'static str, Value)> {
    let r = json!({ "r": recipe });
    vec![
        ("query($r: UUID!) { recipe(id: $r) { id } }", r.clone()),
        (
            "mutation($r: UUID!) { updateRecipe(id: $r, expectedVersion: 2, patch: { title: \"Mine\" }) { id } }",
            r.clone(),
        ),
        (
            "mutation($r: UUID!) { setRecipeTags(recipeId: $r, names: [\"x\"]) { id } }",
            r.clone(),
        ),
        ("mutation($r: UUID!) { duplicateRecipe(id: $r) { id } }", r.clone()),
        ("mutation($r: UUID!) { moveRecipe(id: $r) { id } }", r.clone()),
        (
            "mutation($r: UUID!) { reorderRecipeImages(recipeId: $r, imageIds: []) { id } }",
            r.clone(),
        ),
        ("mutation($r: UUID!) { deleteRecipe(id: $r) }", r),
        (
            "mutation($t: UUID!) { updateTag(id: $t, name: \"mine\") { id } }",
            json!({ "t": tag }),
        ),
        ("mutation($t: UUID!) { deleteTag(id: $t) }", json!({ "t": tag })),
        (
            "query($c: UUID!) { collection(id: $c) { id } }",
            json!({ "c": collection }),
        ),
        (
            "mutation($c: UUID!) { updateCollection(id: $c, name: \"Mine\") { id } }",
            json!({ "c": collection }),
        ),
        (
            "mutation($c: UUID!, $r: UUID!) { addRecipesToCollection(id: $c, recipeIds: [$r]) { id } }",
            json!({ "c": collection, "r": recipe }),
        ),
        (
            "mutation($c: UUID!) { deleteCollection(id: $c) }",
            json!({ "c": collection }),
        ),
        (
            "query($h: UUID!) { recipes(householdId: $h) { totalCount } }",
            json!({ "h": household }),
        ),
        (
            "query($h: UUID!) { tags(householdId: $h) { id } }",
            json!({ "h": household }),
        ),
        (
            "query($h: UUID!) { collections(householdId: $h) { id } }",
            json!({ "h": household }),
        ),
        (
            "mutation($h: UUID!) { createRecipe(input: { title: \"In\", householdId: $h }) { id } }",
            json!({ "h": household }),
        ),
        (
            "mutation($h: UUID!) { createCollection(input: { name: \"In\", householdId: $h }) { id } }",
            json!({ "h": household }),
        ),
    ]
}

#[tokio::test]
async fn a_household_shares_its_recipes_tags_and_collections_with_members_and_nobody_else() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol, dave, eve, mallory] =
        ["hc-alice", "hc-bob", "hc-carol", "hc-dave", "hc-eve", "hc-mallory"].map(dev_token);
    let home = household(&app, &alice, "Home").await;
    join(&app, &alice, &home, &bob).await;
    join(&app, &alice, &home, &dave).await;
    let soup = recipe(&app, &alice, "Onion soup", Some(&home), &["Dinner"]).await;
    let shelf = collection(&app, &alice, "Winter", Some(&home)).await;
    ok(
        &app,
        &alice,
        "mutation($c: UUID!, $r: UUID!) { addRecipesToCollection(id: $c, recipeIds: [$r]) { recipeCount } }",
        json!({ "c": shelf, "r": soup }),
    )
    .await;
    let bobs_own = recipe(&app, &bob, "Bob's toast", None, &["dinner"]).await;

    // Bob, a member, finds the household's catalogue beside (not in) his own, and changes it.
    assert_eq!(
        listed(&app, &bob, Some(&home)).await,
        (vec!["Onion soup".to_owned()], 1)
    );
    assert_eq!(listed(&app, &bob, None).await, (vec!["Bob's toast".to_owned()], 1));
    assert_eq!(listed(&app, &alice, None).await, (vec![], 0));
    let edit = "mutation($r: UUID!, $v: Int!, $t: String!) { updateRecipe(id: $r, expectedVersion: $v, patch: { title: $t }) { version } }";
    ok(&app, &bob, edit, json!({ "r": soup, "v": 1, "t": "French onion soup" })).await;
    let stale = app
        .gql_as(&alice, edit, json!({ "r": soup, "v": 1, "t": "Leek soup" }))
        .await;
    assert_eq!(error_code(&stale), "CONFLICT", "{stale}");
    // Tags are the household's: bob's "dinner" is the household's "Dinner", his own "dinner" stays his.
    let tagged = ok(
        &app,
        &bob,
        "mutation($r: UUID!) { setRecipeTags(recipeId: $r, names: [\"dinner\", \"Quick\"]) { tags { id name householdId } } }",
        json!({ "r": soup }),
    )
    .await;
    let tags = tagged["setRecipeTags"]["tags"].as_array().unwrap();
    assert_eq!(
        tags.iter().map(|t| t["name"].as_str().unwrap()).collect::<Vec<_>>(),
        ["Dinner", "Quick"]
    );
    assert!(tags.iter().all(|t| t["householdId"] == home.as_str()), "{tagged}");
    let tag = tags[0]["id"].as_str().unwrap().to_owned();
    let theirs = ok(
        &app,
        &alice,
        "query($h: UUID!) { tags(householdId: $h) { name } mine: tags { name } }",
        json!({ "h": home }),
    )
    .await;
    assert_eq!(theirs["tags"], json!([{ "name": "Dinner" }, { "name": "Quick" }]));
    assert_eq!(theirs["mine"], json!([]));
    let bobs_tags = ok(&app, &bob, "{ tags { name householdId } }", json!({})).await;
    assert_eq!(bobs_tags["tags"], json!([{ "name": "dinner", "householdId": null }]));
    // A household's collection holds the household's recipes only: bob's own is refused, and nothing is added.
    let refused = app
        .gql_as(
            &bob,
            "mutation($c: UUID!, $r: [UUID!]!) { addRecipesToCollection(id: $c, recipeIds: $r) { id } }",
            json!({ "c": shelf, "r": [soup, bobs_own] }),
        )
        .await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
    let shelves = ok(
        &app,
        &bob,
        "query($h: UUID!) { collections(householdId: $h) { name recipeCount recipes { edges { node { title } } } } }",
        json!({ "h": home }),
    )
    .await;
    assert_eq!(
        shelves["collections"],
        json!([{ "name": "Winter", "recipeCount": 1, "recipes": { "edges": [{ "node": { "title": "French onion soup" } }] } }])
    );

    // Everyone else: a pending invitee (carol), a former member (dave), a revoked invitee (eve), another
    // household (mallory) get exactly what a random id gets, and see none of it anywhere.
    outsiders(&app, &alice, &home, &dave, &eve).await;
    let next_door = household(&app, &mallory, "Next door").await;
    let _ = recipe(&app, &mallory, "Their stew", Some(&next_door), &["Dinner"]).await;
    let random = uuid::Uuid::now_v7().to_string();
    let baseline = answers_to(&app, &carol, operations(&random, &random, &random, &random)).await;
    assert!(baseline.iter().all(|(code, _)| code == "NOT_FOUND"), "{baseline:?}");
    for (who, token) in [
        ("pending invitee", &carol),
        ("former member", &dave),
        ("revoked invitee", &eve),
        ("other household", &mallory),
    ] {
        assert_eq!(
            answers_to(&app, token, operations(&home, &soup, &tag, &shelf)).await,
            baseline,
            "{who}"
        );
        let everything = ok(
            &app,
            token,
            "{ recipes { edges { node { id } } } tags { id } collections { id } }",
            json!({}),
        )
        .await
        .to_string();
        for id in [&soup, &tag, &shelf] {
            assert!(!everything.contains(id.as_str()), "{who} sees {id}: {everything}");
        }
    }
    // Nothing they tried changed anything.
    let now = ok(
        &app,
        &alice,
        "query($r: UUID!, $h: UUID!) { recipe(id: $r) { title version tags { name } } collections(householdId: $h) { recipeCount } }",
        json!({ "r": soup, "h": home }),
    )
    .await;
    assert_eq!(
        now,
        json!({
            "recipe": { "title": "French onion soup", "version": 2, "tags": [{ "name": "Dinner" }, { "name": "Quick" }] },
            "collections": [{ "recipeCount": 1 }]
        })
    );
}

#[tokio::test]
async fn moving_a_recipe_is_explicit_and_counts_and_sync_follow_it() {
    let app = TestApp::spawn().await;
    let [alice, bob, mallory] = ["mv-alice", "mv-bob", "mv-mallory"].map(dev_token);
    let home = household(&app, &alice, "Home").await;
    join(&app, &alice, &home, &bob).await;
    let next_door = household(&app, &mallory, "Next door").await;
    let stew = recipe(&app, &alice, "Stew", None, &["Winter"]).await;
    let _ = recipe(&app, &alice, "Salad", None, &[]).await;
    let shelf = collection(&app, &alice, "Favourites", None).await;
    ok(
        &app,
        &alice,
        "mutation($c: UUID!, $r: UUID!) { addRecipesToCollection(id: $c, recipeIds: [$r]) { id } }",
        json!({ "c": shelf, "r": stew }),
    )
    .await;
    let since = chrono::Utc::now().to_rfc3339();
    let changes = "query($s: DateTime!) { changes(since: $s) { deleted { kind id } } }";
    let move_to = "mutation($r: UUID!, $h: UUID) { moveRecipe(id: $r, householdId: $h) { householdId version tags { name householdId } } }";

    // Alice moves her stew into the household: it takes its tags by name and leaves her own collection.
    let moved = ok(&app, &alice, move_to, json!({ "r": stew, "h": home })).await;
    assert_eq!(
        moved["moveRecipe"],
        json!({ "householdId": home, "version": 2, "tags": [{ "name": "Winter", "householdId": home }] })
    );
    assert_eq!(listed(&app, &bob, Some(&home)).await, (vec!["Stew".to_owned()], 1));
    assert_eq!(listed(&app, &alice, None).await, (vec!["Salad".to_owned()], 1));
    let kept = ok(
        &app,
        &alice,
        "query($c: UUID!) { collection(id: $c) { recipeCount } tags { name } }",
        json!({ "c": shelf }),
    )
    .await;
    assert_eq!(
        kept,
        json!({ "collection": { "recipeCount": 0 }, "tags": [{ "name": "Winter" }] })
    );
    // Moving it where it is writes nothing.
    let again = ok(&app, &alice, move_to, json!({ "r": stew, "h": home })).await;
    assert_eq!(again["moveRecipe"]["version"], 2);

    // Nobody moves a recipe into a household they are not in, or moves what they cannot see.
    for (token, household) in [(&bob, &next_door), (&mallory, &next_door)] {
        let refused = app.gql_as(token, move_to, json!({ "r": stew, "h": household })).await;
        assert_eq!(error_code(&refused), "NOT_FOUND", "{refused}");
    }
    assert_eq!(listed(&app, &bob, Some(&home)).await.1, 1);

    // Bob takes it for himself: alice's sync drops it, his does not.
    let taken = ok(&app, &bob, move_to, json!({ "r": stew, "h": null })).await;
    assert_eq!(taken["moveRecipe"]["householdId"], Value::Null);
    assert_eq!(taken["moveRecipe"]["version"], 3);
    let gone = app
        .gql_as(
            &alice,
            "query($r: UUID!) { recipe(id: $r) { id } }",
            json!({ "r": stew }),
        )
        .await;
    assert_eq!(error_code(&gone), "NOT_FOUND", "{gone}");
    assert_eq!(
        ok(&app, &alice, changes, json!({ "s": since })).await["changes"]["deleted"],
        json!([{ "kind": "RECIPE", "id": stew }])
    );
    assert_eq!(
        ok(&app, &bob, changes, json!({ "s": since })).await["changes"]["deleted"],
        json!([])
    );
    assert_eq!(listed(&app, &bob, None).await, (vec!["Stew".to_owned()], 1));
    assert_eq!(listed(&app, &bob, Some(&home)).await, (vec![], 0));

    // What bob made in the household stays when he deletes his account (alice inherits it); what a member
    // deletes reaches the others' sync.
    let pie = recipe(&app, &bob, "Pie", Some(&home), &["Sweet"]).await;
    let cake = recipe(&app, &bob, "Cake", Some(&home), &[]).await;
    ok(
        &app,
        &alice,
        "mutation($r: UUID!) { deleteRecipe(id: $r) }",
        json!({ "r": cake }),
    )
    .await;
    let seen = ok(&app, &bob, changes, json!({ "s": since })).await;
    assert_eq!(seen["changes"]["deleted"], json!([{ "kind": "RECIPE", "id": cake }]));
    ok(&app, &bob, "mutation { deleteAccount }", json!({})).await;
    assert_eq!(listed(&app, &alice, Some(&home)).await, (vec!["Pie".to_owned()], 1));
    let inherited = ok(
        &app,
        &alice,
        "query($r: UUID!, $h: UUID!) { recipe(id: $r) { tags { name } } tags(householdId: $h) { name } }",
        json!({ "r": pie, "h": home }),
    )
    .await;
    assert_eq!(
        inherited,
        json!({ "recipe": { "tags": [{ "name": "Sweet" }] }, "tags": [{ "name": "Sweet" }, { "name": "Winter" }] })
    );
}

#[tokio::test]
async fn a_households_page_costs_one_statement_more_than_ones_own_whatever_its_size() {
    let app = TestApp::spawn().await;
    let [alice, bob] = ["st-alice", "st-bob"].map(dev_token);
    let home = household(&app, &alice, "Home").await;
    join(&app, &alice, &home, &bob).await;
    for i in 0..12 {
        recipe(&app, &alice, &format!("Shared {i}"), Some(&home), &["weekday"]).await;
    }
    let query = "query($h: UUID!, $first: Int) { recipes(householdId: $h, first: $first) { totalCount edges { node { title ingredients { item } steps { text } tags { name } } } } }";
    let mut counts = Vec::new();
    for first in [1, 12] {
        let (response, statements) =
            homechef::db::count_statements(app.gql_as(&bob, query, json!({ "h": home, "first": first }))).await;
        assert_eq!(response["data"]["recipes"]["totalCount"], 12, "{response}");
        assert_eq!(response["data"]["recipes"]["edges"].as_array().unwrap().len(), first);
        counts.push(statements);
    }
    // Bob's membership, then what his own page costs: the page with the household's counter, its parts, its tags.
    assert_eq!(counts, [4, 4], "constant, no N+1");
}
