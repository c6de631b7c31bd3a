//! Households as their people use them: one creates it and invites, others accept, leave or are removed,
//! and what the household shares is theirs alone. Every other person (another household's member, a former
//! member, someone with a pending or revoked invite) finds it exactly as they find a random id.

use serde_json::{json, Value};

use crate::helpers::{dev_token, error_code, TestApp};

/// Runs a mutation or query that must succeed and returns its `data`.
pub async fn ok(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let response = app.gql_as(token, query, variables).await;
    assert!(response["errors"].is_null(), "{query}: {response}");
    response["data"].clone()
}

/// A household `owner` created, and its id.
pub async fn household(app: &TestApp, owner: &str, name: &str) -> String {
    let data = ok(
        app,
        owner,
        "mutation($n: String!) { createHousehold(name: $n) { id role } }",
        json!({ "n": name }),
    )
    .await;
    assert_eq!(data["createHousehold"]["role"], "OWNER");
    data["createHousehold"]["id"].as_str().unwrap().to_owned()
}

/// A fresh invite code to `household`.
pub async fn invite(app: &TestApp, owner: &str, household: &str) -> (String, String) {
    let data = ok(
        app,
        owner,
        "mutation($h: UUID!) { createHouseholdInvite(householdId: $h) { id code expiresAt } }",
        json!({ "h": household }),
    )
    .await;
    let invite = &data["createHouseholdInvite"];
    (
        invite["id"].as_str().unwrap().to_owned(),
        invite["code"].as_str().unwrap().to_owned(),
    )
}

pub async fn join(app: &TestApp, owner: &str, household: &str, member: &str) {
    let (_, code) = invite(app, owner, household).await;
    let data = ok(
        app,
        member,
        "mutation($c: String!) { acceptHouseholdInvite(code: $c) { id role } }",
        json!({ "c": code }),
    )
    .await;
    assert_eq!(data["acceptHouseholdInvite"]["role"], "MEMBER");
}

/// A list shared with `household` holding one item; (list id, item id).
pub async fn shared_list(app: &TestApp, token: &str, household: &str) -> (String, String) {
    let data = ok(
        app,
        token,
        r#"mutation($h: UUID!) { createShoppingList(from: "2027-01-04", to: "2027-01-10", name: "Week", householdId: $h) { id householdId version } }"#,
        json!({ "h": household }),
    )
    .await;
    let list = data["createShoppingList"]["id"].as_str().unwrap().to_owned();
    assert_eq!(data["createShoppingList"]["householdId"], household);
    let data = ok(
        app,
        token,
        "mutation($l: UUID!) { addShoppingListItem(listId: $l, text: \"2 lemons\") { id } }",
        json!({ "l": list }),
    )
    .await;
    (list, data["addShoppingListItem"]["id"].as_str().unwrap().to_owned())
}

/// Every operation on a shared list and its household, with the ids it needs.
fn operations(household: &str, list: &str, item: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("query($l: UUID!) { savedShoppingList(id: $l) { id } }", json!({ "l": list })),
        ("mutation($l: UUID!) { addShoppingListItem(listId: $l, text: \"salt\") { id } }", json!({ "l": list })),
        ("mutation($i: UUID!) { checkShoppingListItem(id: $i) { id } }", json!({ "i": item })),
        (
            "mutation($i: UUID!) { updateShoppingListItem(id: $i, expectedVersion: 1, patch: { item: \"limes\" }) { id } }",
            json!({ "i": item }),
        ),
        ("mutation($i: UUID!) { removeShoppingListItem(id: $i) }", json!({ "i": item })),
        ("mutation($l: UUID!) { deleteShoppingList(id: $l) }", json!({ "l": list })),
        (
            r#"mutation($h: UUID!) { createShoppingList(from: "2027-01-04", to: "2027-01-05", householdId: $h) { id } }"#,
            json!({ "h": household }),
        ),
        ("query($h: UUID!) { household(id: $h) { id } }", json!({ "h": household })),
        ("mutation($h: UUID!) { createHouseholdInvite(householdId: $h) { code } }", json!({ "h": household })),
        ("mutation($h: UUID!) { renameHousehold(id: $h, name: \"Mine now\") { id } }", json!({ "h": household })),
        ("mutation($h: UUID!) { leaveHousehold(householdId: $h) }", json!({ "h": household })),
    ]
}

/// What `token` gets for every operation, with the message and code of each; must equal what a random id
/// gets.
pub async fn answers_to(app: &TestApp, token: &str, operations: Vec<(&str, Value)>) -> Vec<(String, String)> {
    let mut all = Vec::new();
    for (query, variables) in operations {
        let response = app.gql_as(token, query, variables).await;
        all.push((
            error_code(&response).to_owned(),
            response["errors"][0]["message"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    all
}

async fn answers(app: &TestApp, token: &str, household: &str, list: &str, item: &str) -> Vec<(String, String)> {
    answers_to(app, token, operations(household, list, item)).await
}

/// Makes the people every household must keep out: `pending` holds an open invite, `former` (a member) leaves,
/// `revoked` tries an invite the owner revoked.
pub async fn outsiders(app: &TestApp, owner: &str, household: &str, former: &str, revoked: &str) {
    let _pending = invite(app, owner, household).await;
    ok(
        app,
        former,
        "mutation($h: UUID!) { leaveHousehold(householdId: $h) }",
        json!({ "h": household }),
    )
    .await;
    let (id, code) = invite(app, owner, household).await;
    ok(
        app,
        owner,
        "mutation($i: UUID!) { revokeHouseholdInvite(id: $i) }",
        json!({ "i": id }),
    )
    .await;
    let refused = app
        .gql_as(
            revoked,
            "mutation($c: String!) { acceptHouseholdInvite(code: $c) { id } }",
            json!({ "c": code }),
        )
        .await;
    assert_eq!(error_code(&refused), "NOT_FOUND", "{refused}");
}

#[tokio::test]
async fn a_household_shares_its_lists_with_members_and_with_nobody_else() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol, dave, eve, mallory] =
        ["hh-alice", "hh-bob", "hh-carol", "hh-dave", "hh-eve", "hh-mallory"].map(dev_token);
    let home = household(&app, &alice, "Home").await;
    join(&app, &alice, &home, &bob).await;
    join(&app, &alice, &home, &dave).await;
    let (list, item) = shared_list(&app, &alice, &home).await;

    // A pending invitee (carol), a former member (dave), a revoked invite (eve), another household (mallory).
    outsiders(&app, &alice, &home, &dave, &eve).await;
    let theirs = household(&app, &mallory, "Next door").await;
    let _ = shared_list(&app, &mallory, &theirs).await;

    // Bob, a member, reads and writes the list alice made, with optimistic concurrency across members.
    let seen = ok(
        &app,
        &bob,
        "{ shoppingLists { edges { node { id householdId items { item } } } } }",
        json!({}),
    )
    .await;
    assert_eq!(seen["shoppingLists"]["edges"][0]["node"]["id"], list.as_str());
    assert_eq!(seen["shoppingLists"]["edges"][0]["node"]["items"][0]["item"], "lemons");
    let edit = "mutation($i: UUID!, $v: Int!, $t: String!) { updateShoppingListItem(id: $i, expectedVersion: $v, patch: { item: $t }) { version } }";
    ok(&app, &bob, edit, json!({ "i": item, "v": 1, "t": "limes" })).await;
    let stale = app
        .gql_as(&alice, edit, json!({ "i": item, "v": 1, "t": "oranges" }))
        .await;
    assert_eq!(error_code(&stale), "CONFLICT", "{stale}");
    ok(
        &app,
        &bob,
        "mutation($i: UUID!) { checkShoppingListItem(id: $i) { checked } }",
        json!({ "i": item }),
    )
    .await;

    // Everyone else: every operation answers exactly what a random id does, and no list of theirs shows it.
    let random = answers(
        &app,
        &carol,
        &uuid::Uuid::now_v7().to_string(),
        &uuid::Uuid::now_v7().to_string(),
        &uuid::Uuid::now_v7().to_string(),
    )
    .await;
    assert!(random.iter().all(|(code, _)| code == "NOT_FOUND"), "{random:?}");
    for (who, token) in [
        ("pending invitee", &carol),
        ("former member", &dave),
        ("revoked invitee", &eve),
        ("other household", &mallory),
    ] {
        assert_eq!(answers(&app, token, &home, &list, &item).await, random, "{who}");
        let lists = ok(
            &app,
            token,
            "{ shoppingLists { edges { node { id } } } households { id } }",
            json!({}),
        )
        .await;
        assert!(!lists.to_string().contains(&list), "{who} sees the list: {lists}");
        assert!(!lists.to_string().contains(&home), "{who} sees the household: {lists}");
    }
    // Nothing they tried changed anything.
    let list_now = ok(
        &app,
        &alice,
        "query($l: UUID!) { savedShoppingList(id: $l) { items { item checked } } }",
        json!({ "l": list }),
    )
    .await;
    assert_eq!(
        list_now["savedShoppingList"]["items"],
        json!([{ "item": "limes", "checked": true }])
    );
    let names = ok(
        &app,
        &bob,
        "query($h: UUID!) { household(id: $h) { name members { role } } }",
        json!({ "h": home }),
    )
    .await;
    assert_eq!(names["household"]["name"], "Home");
    assert_eq!(names["household"]["members"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn invites_are_single_use_expire_are_the_owners_and_households_have_room_for_twenty() {
    let app = TestApp::spawn().await;
    let owner = dev_token("inv-owner");
    let home = household(&app, &owner, "Home").await;
    let accept = "mutation($c: String!) { acceptHouseholdInvite(code: $c) { id } }";

    let (_, code) = invite(&app, &owner, &home).await;
    ok(&app, &dev_token("inv-first"), accept, json!({ "c": code })).await;
    let second = app.gql_as(&dev_token("inv-second"), accept, json!({ "c": code })).await;
    assert_eq!(error_code(&second), "NOT_FOUND", "used: {second}");
    // The code is spent, for the one who used it too.
    let again = app.gql_as(&dev_token("inv-first"), accept, json!({ "c": code })).await;
    assert_eq!(error_code(&again), "NOT_FOUND", "{again}");

    let (_, late) = invite(&app, &owner, &home).await;
    {
        use diesel_async::RunQueryDsl as _;
        let mut conn = app.db_conn().await;
        diesel::sql_query(
            "update household_invites set expires_at = now() - interval '1 second' where accepted_at is null",
        )
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let expired = app.gql_as(&dev_token("inv-late"), accept, json!({ "c": late })).await;
    assert_eq!(error_code(&expired), "NOT_FOUND", "expired: {expired}");
    for junk in ["", "x", &"A".repeat(10_000), "' or 1=1 --", "\u{202e}code"] {
        let response = app.gql_as(&dev_token("inv-junk"), accept, json!({ "c": junk })).await;
        assert_eq!(error_code(&response), "NOT_FOUND", "{junk:.20}: {response}");
    }
    // Only the owner invites, removes and hands over.
    let member = dev_token("inv-first");
    let denied = app
        .gql_as(
            &member,
            "mutation($h: UUID!) { createHouseholdInvite(householdId: $h) { code } }",
            json!({ "h": home }),
        )
        .await;
    assert_eq!(error_code(&denied), "FORBIDDEN", "{denied}");
    assert_eq!(
        app.count(
            "household_invites",
            "revoked_at is null and accepted_at is null and expires_at > now()"
        )
        .await,
        0
    );

    // Twenty people in all: the twenty-first is refused with a quota, and nothing is half-done.
    for n in 2..20 {
        crate::households::join(&app, &owner, &home, &dev_token(&format!("inv-m{n}"))).await;
    }
    let (_, code) = invite(&app, &owner, &home).await;
    let full = app.gql_as(&dev_token("inv-21"), accept, json!({ "c": code })).await;
    assert_eq!(error_code(&full), "QUOTA_EXCEEDED", "{full}");
    assert_eq!(
        app.count("household_members", &format!("household_id = '{home}'"))
            .await,
        20
    );
    assert_eq!(
        app.count(
            "household_invites",
            "accepted_at is null and revoked_at is null and expires_at > now()"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn leaving_removal_and_account_deletion_hand_the_household_on_and_sync_says_who_left() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol] = ["lv-alice", "lv-bob", "lv-carol"].map(dev_token);
    let home = household(&app, &alice, "Home").await;
    join(&app, &alice, &home, &bob).await;
    join(&app, &alice, &home, &carol).await;
    let (list, item) = shared_list(&app, &alice, &home).await;
    let since = chrono::Utc::now().to_rfc3339();
    let changes = "query($s: DateTime!) { changes(since: $s) { deleted { kind id } } }";

    // Bob removes an item: carol's sync drops it, like her own deletions.
    ok(
        &app,
        &bob,
        "mutation($i: UUID!) { removeShoppingListItem(id: $i) }",
        json!({ "i": item }),
    )
    .await;
    let seen = ok(&app, &carol, changes, json!({ "s": since })).await;
    assert_eq!(
        seen["changes"]["deleted"],
        json!([{ "kind": "SHOPPING_LIST_ITEM", "id": item }])
    );

    // Only the owner removes; the owner removes carol, whose sync then says she is out.
    let denied = app
        .gql_as(
            &bob,
            "mutation($h: UUID!, $u: UUID!) { removeHouseholdMember(householdId: $h, userId: $u) }",
            json!({ "h": home, "u": uuid::Uuid::now_v7() }),
        )
        .await;
    assert_eq!(error_code(&denied), "FORBIDDEN");
    let members = ok(
        &app,
        &alice,
        "query($h: UUID!) { household(id: $h) { members { userId name } } }",
        json!({ "h": home }),
    )
    .await;
    let carol_id = members["household"]["members"][2]["userId"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(
        &app,
        &alice,
        "mutation($h: UUID!, $u: UUID!) { removeHouseholdMember(householdId: $h, userId: $u) }",
        json!({ "h": home, "u": carol_id }),
    )
    .await;
    let out = ok(&app, &carol, changes, json!({ "s": since })).await;
    assert!(
        out["changes"]["deleted"]
            .as_array()
            .unwrap()
            .contains(&json!({ "kind": "HOUSEHOLD", "id": home })),
        "{out}"
    );
    let gone = app
        .gql_as(
            &carol,
            "query($l: UUID!) { savedShoppingList(id: $l) { id } }",
            json!({ "l": list }),
        )
        .await;
    assert_eq!(error_code(&gone), "NOT_FOUND");

    // The owner leaves: bob, the oldest member left, owns it now and keeps the list alice made.
    ok(
        &app,
        &alice,
        "mutation($h: UUID!) { leaveHousehold(householdId: $h) }",
        json!({ "h": home }),
    )
    .await;
    let now = ok(
        &app,
        &bob,
        "query($h: UUID!, $l: UUID!) { household(id: $h) { role members { role } } savedShoppingList(id: $l) { id } }",
        json!({ "h": home, "l": list }),
    )
    .await;
    assert_eq!(now["household"]["role"], "OWNER");
    assert_eq!(now["household"]["members"], json!([{ "role": "OWNER" }]));
    let lost = app
        .gql_as(
            &alice,
            "query($l: UUID!) { savedShoppingList(id: $l) { id } }",
            json!({ "l": list }),
        )
        .await;
    assert_eq!(error_code(&lost), "NOT_FOUND", "the maker who left no longer sees it");

    // Carol comes back; ownership goes to her and back (only an owner hands it on); then bob deletes his
    // account: the household stays, and carol, the oldest member left, owns it with the list.
    join(&app, &bob, &home, &carol).await;
    ok(
        &app,
        &bob,
        "mutation($h: UUID!, $u: UUID!) { transferHouseholdOwnership(householdId: $h, userId: $u) { role } }",
        json!({ "h": home, "u": carol_id }),
    )
    .await;
    ok(
        &app,
        &carol,
        "mutation($h: UUID!, $u: UUID!) { transferHouseholdOwnership(householdId: $h, userId: $u) { role } }",
        json!({ "h": home, "u": members["household"]["members"][1]["userId"] }),
    )
    .await;
    ok(&app, &bob, "mutation { deleteAccount }", json!({})).await;
    let kept = ok(
        &app,
        &carol,
        "query($h: UUID!, $l: UUID!) { household(id: $h) { role } savedShoppingList(id: $l) { items { id } } }",
        json!({ "h": home, "l": list }),
    )
    .await;
    assert_eq!(kept["household"]["role"], "OWNER");
    assert_eq!(app.count("shopping_lists", &format!("id = '{list}'")).await, 1);

    // The last one out takes the household and what it shares with her.
    ok(
        &app,
        &carol,
        "mutation($h: UUID!) { leaveHousehold(householdId: $h) }",
        json!({ "h": home }),
    )
    .await;
    assert_eq!(app.count("households", &format!("id = '{home}'")).await, 0);
    assert_eq!(app.count("shopping_lists", &format!("id = '{list}'")).await, 0);
}

#[tokio::test]
async fn a_household_plans_meals_together_and_its_list_needs_every_members_recipes() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol] = ["mp-alice", "mp-bob", "mp-carol"].map(dev_token);
    let home = household(&app, &alice, "Home").await;
    join(&app, &alice, &home, &bob).await;
    let plan = ok(
        &app,
        &alice,
        r#"mutation($h: UUID!) { createMealPlan(input: { name: "Our week", startDate: "2027-01-04", active: true, householdId: $h }) { id householdId active } }"#,
        json!({ "h": home }),
    )
    .await["createMealPlan"]
        .clone();
    assert_eq!(plan["householdId"], home.as_str());
    let plan = plan["id"].as_str().unwrap().to_owned();
    let recipe = |token: &str, title: &str, line: &str| {
        let (token, title, line) = (token.to_owned(), title.to_owned(), line.to_owned());
        let app = &app;
        async move {
            let data = ok(
                app,
                &token,
                "mutation($t: String!, $l: String!) { createRecipe(input: { title: $t, servings: \"2\", ingredients: [{ line: $l }] }) { id } }",
                json!({ "t": title, "l": line }),
            )
            .await;
            data["createRecipe"]["id"].as_str().unwrap().to_owned()
        }
    };
    let soup = recipe(&alice, "Soup", "1 onion").await;
    let salad = recipe(&bob, "Salad", "2 tomatoes").await;
    let add = "mutation($p: UUID!, $r: UUID!, $d: Date!) { addMealPlanEntry(planId: $p, input: { date: $d, meal: DINNER, recipeId: $r }) { id recipe { title } } }";
    ok(&app, &alice, add, json!({ "p": plan, "r": soup, "d": "2027-01-04" })).await;
    // Bob plans his own recipe in the household's plan; alice's recipes stay hers to plan.
    ok(&app, &bob, add, json!({ "p": plan, "r": salad, "d": "2027-01-05" })).await;
    let theirs = app
        .gql_as(&bob, add, json!({ "p": plan, "r": soup, "d": "2027-01-06" }))
        .await;
    assert_eq!(error_code(&theirs), "NOT_FOUND", "{theirs}");

    // The household's active plan, seen by both, with both members' dinners; a personal one is apart.
    let active = "query($h: UUID) { activeMealPlan(householdId: $h) { id entries { recipe { title } } } }";
    for token in [&alice, &bob] {
        let seen = ok(&app, token, active, json!({ "h": home })).await;
        assert_eq!(seen["activeMealPlan"]["id"], plan.as_str());
        assert_eq!(
            seen["activeMealPlan"]["entries"],
            json!([{ "recipe": { "title": "Soup" } }, { "recipe": { "title": "Salad" } }])
        );
        assert_eq!(
            ok(&app, token, active, json!({ "h": null })).await["activeMealPlan"],
            Value::Null
        );
    }
    // Its shopping list needs both members' recipes.
    let list = ok(
        &app,
        &bob,
        r#"query($p: UUID!) { shoppingList(from: "2027-01-04", to: "2027-01-10", planId: $p) { lines { item quantityDisplay fromRecipes } } }"#,
        json!({ "p": plan }),
    )
    .await;
    assert_eq!(
        list["shoppingList"]["lines"],
        json!([
            { "item": "onion", "quantityDisplay": "1", "fromRecipes": ["Soup"] },
            { "item": "tomatoes", "quantityDisplay": "2", "fromRecipes": ["Salad"] },
        ])
    );

    // Carol, in no household: the plan and its entries are NOT_FOUND, its household has no active plan for her.
    let read = app
        .gql_as(
            &carol,
            "query($p: UUID!) { mealPlan(id: $p) { id } }",
            json!({ "p": plan }),
        )
        .await;
    assert_eq!(error_code(&read), "NOT_FOUND");
    let write = app
        .gql_as(&carol, add, json!({ "p": plan, "r": salad, "d": "2027-01-07" }))
        .await;
    assert_eq!(error_code(&write), "NOT_FOUND");
    assert_eq!(
        ok(&app, &carol, active, json!({ "h": home })).await["activeMealPlan"],
        Value::Null
    );
    let plans = ok(&app, &carol, "{ mealPlans { totalCount } }", json!({})).await;
    assert_eq!(plans["mealPlans"]["totalCount"], 0);

    // Bob stops following it for the household; alice's personal plan is untouched by that.
    ok(
        &app,
        &alice,
        r#"mutation { createMealPlan(input: { name: "Mine", startDate: "2027-01-04", active: true }) { id } }"#,
        json!({}),
    )
    .await;
    ok(
        &app,
        &bob,
        "mutation($h: UUID) { setActiveMealPlan(id: null, householdId: $h) { id } }",
        json!({ "h": home }),
    )
    .await;
    assert_eq!(
        ok(&app, &alice, active, json!({ "h": home })).await["activeMealPlan"],
        Value::Null
    );
    let mine = ok(&app, &alice, "{ activeMealPlan { name } }", json!({})).await;
    assert_eq!(mine["activeMealPlan"]["name"], "Mine");

    // Bob leaves: his dinner stays in the household's plan, which he no longer sees.
    ok(
        &app,
        &bob,
        "mutation($h: UUID!) { leaveHousehold(householdId: $h) }",
        json!({ "h": home }),
    )
    .await;
    let kept = ok(
        &app,
        &alice,
        "query($p: UUID!) { mealPlan(id: $p) { entries { recipe { title } } } }",
        json!({ "p": plan }),
    )
    .await;
    assert_eq!(kept["mealPlan"]["entries"].as_array().unwrap().len(), 2);
    let gone = app
        .gql_as(
            &bob,
            "query($p: UUID!) { mealPlan(id: $p) { id } }",
            json!({ "p": plan }),
        )
        .await;
    assert_eq!(error_code(&gone), "NOT_FOUND");
}
