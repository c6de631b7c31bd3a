//! Meal plans and shopping lists, through the API as a client uses them.

use serde_json::{json, Value};

use crate::helpers::{create_recipe, dev_token, error_code, TestApp};

const CREATE_PLAN: &str =
    "mutation($input: MealPlanInput!) { createMealPlan(input: $input) { id name weeks active version } }";
const ADD: &str = "mutation($plan: UUID!, $input: MealPlanEntryInput!) { addMealPlanEntry(planId: $plan, input: $input) { id date week weekday meal note servings recipe { id title } } }";
const DAYS: &str = "query($from: Date!, $to: Date!, $plan: UUID) { mealPlanDays(from: $from, to: $to, planId: $plan) { date week entries { meal note recipe { title } } } }";
const LIST: &str = "query($from: Date!, $to: Date!, $plan: UUID) { shoppingList(from: $from, to: $to, planId: $plan) { planId lines { quantity quantityDisplay unit item fromRecipes } } }";
const SAVE: &str = "mutation($from: Date!, $to: Date!, $plan: UUID) { createShoppingList(from: $from, to: $to, planId: $plan, name: \"Week 1\") { id name items { id item quantity unit checked version } } }";

async fn plan(app: &TestApp, token: &str, input: Value) -> String {
    let created = app.gql_as(token, CREATE_PLAN, json!({ "input": input })).await;
    created["data"]["createMealPlan"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned()
}

async fn add(app: &TestApp, token: &str, plan: &str, input: Value) -> Value {
    let added = app.gql_as(token, ADD, json!({ "plan": plan, "input": input })).await;
    assert!(added["errors"].is_null(), "{added}");
    added["data"]["addMealPlanEntry"].clone()
}

async fn recipe(app: &TestApp, token: &str, title: &str, servings: &str, lines: &[&str]) -> String {
    let ingredients: Vec<Value> = lines.iter().map(|l| json!({ "line": l })).collect();
    let created = app
        .gql_as(
            token,
            "mutation($input: CreateRecipeInput!) { createRecipe(input: $input) { id } }",
            json!({ "input": { "title": title, "servings": servings, "ingredients": ingredients } }),
        )
        .await;
    created["data"]["createRecipe"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned()
}

fn field(response: &Value) -> &str {
    response["errors"][0]["extensions"]["field"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_week_of_21_meals_makes_one_merged_scaled_list() {
    let app = TestApp::spawn().await;
    let token = dev_token("planner");
    let pancakes = recipe(
        &app,
        &token,
        "Pancakes",
        "4",
        &[
            "200 g flour",
            "2 eggs",
            "1 1/2 cups milk",
            "1 tbsp sugar",
            "salt to taste",
        ],
    )
    .await;
    let salad = recipe(
        &app,
        &token,
        "Salad",
        "2",
        &["1 head lettuce", "2 tbsp olive oil", "1/2 lb tomatoes"],
    )
    .await;
    let pasta = recipe(
        &app,
        &token,
        "Pasta",
        "2",
        &["250 g spaghetti", "2 cloves garlic", "1/3 cup olive oil", "salt"],
    )
    .await;
    let bread = recipe(
        &app,
        &token,
        "Bread",
        "8",
        &["1 kg flour", "2 tsp salt", "700 ml water"],
    )
    .await;
    let week = plan(
        &app,
        &token,
        json!({ "name": "First week of January", "startDate": "2027-01-04", "endDate": "2027-01-10", "active": true }),
    )
    .await;
    let days = [
        "2027-01-04",
        "2027-01-05",
        "2027-01-06",
        "2027-01-07",
        "2027-01-08",
        "2027-01-09",
        "2027-01-10",
    ];
    // Breakfast: pancakes as written Monday to Thursday (×1), for 6 Friday to Sunday (×1½): 8½ batches.
    // Lunch: salad as written Monday to Wednesday (×1), for 1 Thursday to Sunday (×½): 5 batches.
    // Dinner: pasta ×1, ×1½, a note, ×½, bread ×1, for 4 (×½), a note.
    let dinners = [
        json!({ "recipeId": pasta }),
        json!({ "recipeId": pasta, "servings": "3" }),
        json!({ "note": "Leftovers" }),
        json!({ "recipeId": pasta, "servings": "1" }),
        json!({ "recipeId": bread }),
        json!({ "recipeId": bread, "servings": "4" }),
        json!({ "note": "Eat out" }),
    ];
    for (i, (day, dinner)) in days.iter().zip(dinners).enumerate() {
        let mut breakfast = json!({ "date": day, "meal": "BREAKFAST", "recipeId": pancakes });
        if i >= 4 {
            breakfast["servings"] = json!("6");
        }
        let mut lunch = json!({ "date": day, "meal": "LUNCH", "recipeId": salad });
        if i >= 3 {
            lunch["servings"] = json!("1");
        }
        let mut dinner = dinner;
        dinner["date"] = json!(day);
        dinner["meal"] = json!("DINNER");
        // Added out of order: the day lists them by meal.
        add(&app, &token, &week, dinner).await;
        add(&app, &token, &week, lunch).await;
        add(&app, &token, &week, breakfast).await;
    }

    let planned = app
        .gql_as(&token, DAYS, json!({ "from": "2027-01-03", "to": "2027-01-11" }))
        .await;
    let planned = planned["data"]["mealPlanDays"].as_array().unwrap();
    assert_eq!(planned.len(), 9);
    assert_eq!(planned[0]["entries"], json!([]), "the day before the plan");
    assert_eq!(planned[8]["entries"], json!([]), "the day after");
    let total: usize = planned.iter().map(|d| d["entries"].as_array().unwrap().len()).sum();
    assert_eq!(total, 21);
    assert_eq!(
        planned[3]["entries"],
        json!([
            { "meal": "BREAKFAST", "note": null, "recipe": { "title": "Pancakes" } },
            { "meal": "LUNCH", "note": null, "recipe": { "title": "Salad" } },
            { "meal": "DINNER", "note": "Leftovers", "recipe": null },
        ])
    );

    let list = app
        .gql_as(&token, LIST, json!({ "from": "2027-01-04", "to": "2027-01-10" }))
        .await;
    let lines: Vec<(String, String, String, String)> = list["data"]["shoppingList"]["lines"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .map(|l| {
            let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
            (
                text(&l["quantity"]),
                text(&l["quantityDisplay"]),
                text(&l["unit"]),
                text(&l["item"]),
            )
        })
        .collect();
    let expected = [
        // 2 × 8½
        ("17", "17", "-", "eggs"),
        // 200 g × 8½ + 1 kg × 1½ = 3 200 g
        ("3.2", "3.2", "kg", "flour"),
        // 2 cloves × 3
        ("6", "6", "clove", "garlic"),
        ("5", "5", "head", "lettuce"),
        // 1½ cups × 8½
        ("12.75", "12¾", "cup", "milk"),
        // ⅓ cup × 3 + 2 tbsp × 5 = 48 + 30 tsp = 1⅝ cup
        ("1.625", "1⅝", "cup", "olive oil"),
        // 2 tsp × 1½ = 1 tbsp, and "to taste" twice
        ("1", "1", "tbsp", "salt"),
        ("750", "750", "g", "spaghetti"),
        // 1 tbsp × 8½
        ("8.5", "8½", "tbsp", "sugar"),
        // ½ lb × 5
        ("2.5", "2½", "lb", "tomatoes"),
        // 700 ml × 1½
        ("1.05", "1.05", "l", "water"),
    ];
    let expected: Vec<(String, String, String, String)> = expected
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect();
    assert_eq!(lines, expected);
    let salt = &list["data"]["shoppingList"]["lines"][6];
    assert_eq!(
        salt["fromRecipes"],
        json!(["Pancakes", "Pasta", "Bread"]),
        "each recipe once, in plan order"
    );

    // Saved, the same lines become items to tick off.
    let saved = app
        .gql_as(&token, SAVE, json!({ "from": "2027-01-04", "to": "2027-01-10" }))
        .await;
    let items = saved["data"]["createShoppingList"]["items"].as_array().unwrap();
    assert_eq!(items.len(), expected.len());
    assert_eq!(items[4]["item"], "milk");
    assert_eq!(items[4]["quantity"], "12.75");
    assert!(items.iter().all(|i| i["checked"] == false && i["version"] == 1));
}

#[tokio::test]
async fn rotations_resolve_to_dates_across_month_and_year_boundaries() {
    let app = TestApp::spawn().await;
    let token = dev_token("rotator");
    let (a, b) = (
        create_recipe(&app, &token, "Week one Monday").await,
        create_recipe(&app, &token, "Week two Monday").await,
    );
    // Starts on a Wednesday: week 1 is 21–27 December, week 2 is 28 December – 3 January, and so on.
    let rotation = plan(
        &app,
        &token,
        json!({ "name": "Fortnight", "startDate": "2026-12-23", "weeks": 2, "active": true }),
    )
    .await;
    add(
        &app,
        &token,
        &rotation,
        json!({ "week": 1, "weekday": "MONDAY", "meal": "DINNER", "recipeId": a }),
    )
    .await;
    add(
        &app,
        &token,
        &rotation,
        json!({ "week": 2, "weekday": "MONDAY", "meal": "DINNER", "recipeId": b }),
    )
    .await;
    add(
        &app,
        &token,
        &rotation,
        json!({ "week": 1, "weekday": "FRIDAY", "meal": "LUNCH", "note": "Soup" }),
    )
    .await;

    let planned = |from: &'static str, to: &'static str| {
        let app = &app;
        let token = &token;
        async move {
            let days = app.gql_as(token, DAYS, json!({ "from": from, "to": to })).await;
            days["data"]["mealPlanDays"]
                .as_array()
                .unwrap_or_else(|| panic!("{days}"))
                .iter()
                .filter(|d| !d["entries"].as_array().unwrap().is_empty())
                .map(|d| {
                    let what = &d["entries"][0];
                    let label = what["recipe"]["title"]
                        .as_str()
                        .or(what["note"].as_str())
                        .unwrap()
                        .to_owned();
                    (
                        d["date"].as_str().unwrap().to_owned(),
                        d["week"].as_i64().unwrap(),
                        label,
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let owned = |rows: &[(&str, i64, &str)]| {
        rows.iter()
            .map(|(d, w, l)| (d.to_string(), *w, l.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        planned("2026-12-21", "2027-01-10").await,
        owned(&[
            // Monday 21 and the days before the 23rd are before the start: nothing.
            ("2026-12-25", 1, "Soup"),
            ("2026-12-28", 2, "Week two Monday"),
            ("2027-01-04", 1, "Week one Monday"),
            ("2027-01-08", 1, "Soup"),
        ])
    );
    assert_eq!(
        planned("2027-01-25", "2027-02-07").await,
        owned(&[
            ("2027-01-25", 2, "Week two Monday"),
            ("2027-02-01", 1, "Week one Monday"),
            ("2027-02-05", 1, "Soup"),
        ])
    );
    // Ended plans stop: with an end date, nothing after it.
    let version = app
        .gql_as(
            &token,
            "query($id: UUID!) { mealPlan(id: $id) { version } }",
            json!({ "id": rotation }),
        )
        .await["data"]["mealPlan"]["version"]
        .clone();
    let ended = app
        .gql_as(
            &token,
            "mutation($id: UUID!, $v: Int!) { updateMealPlan(id: $id, expectedVersion: $v, patch: { endDate: \"2027-01-31\" }) { version endDate } }",
            json!({ "id": rotation, "v": version }),
        )
        .await;
    assert_eq!(ended["data"]["updateMealPlan"]["endDate"], "2027-01-31");
    assert_eq!(
        planned("2027-01-25", "2027-02-07").await,
        owned(&[("2027-01-25", 2, "Week two Monday")])
    );
    let empty = app
        .gql_as(
            &token,
            "mutation($id: UUID!) { updateMealPlan(id: $id, expectedVersion: 2, patch: {}) { version } }",
            json!({ "id": rotation }),
        )
        .await;
    assert_eq!(field(&empty), "patch", "an empty patch is refused: {empty}");
    let stale = app
        .gql_as(
            &token,
            "mutation($id: UUID!, $v: Int!) { updateMealPlan(id: $id, expectedVersion: $v, patch: { name: \"Late\" }) { version } }",
            json!({ "id": rotation, "v": version }),
        )
        .await;
    assert_eq!(error_code(&stale), "CONFLICT", "a stale version is refused");
}

#[tokio::test]
async fn at_most_one_plan_is_active_under_concurrent_activations() {
    let app = TestApp::spawn().await;
    let token = dev_token("switcher");
    let mut plans = Vec::new();
    for i in 0..10 {
        plans.push(
            plan(
                &app,
                &token,
                json!({ "name": format!("Plan {i}"), "startDate": "2027-01-04" }),
            )
            .await,
        );
    }
    let activate = "mutation($id: UUID) { setActiveMealPlan(id: $id) { id active } }";
    let answers =
        rocket::futures::future::join_all(plans.iter().map(|id| app.gql_as(&token, activate, json!({ "id": id }))))
            .await;
    for answer in &answers {
        assert!(answer["errors"].is_null(), "{answer}");
        assert_eq!(answer["data"]["setActiveMealPlan"]["active"], true);
    }
    assert_eq!(app.count("meal_plans", "active").await, 1);
    let active = app.gql_as(&token, "{ activeMealPlan { id } }", json!({})).await;
    assert!(plans.iter().any(|p| active["data"]["activeMealPlan"]["id"] == *p));

    // Creating an active plan takes over; `null` leaves none.
    let newest = plan(
        &app,
        &token,
        json!({ "name": "Newest", "startDate": "2027-01-04", "active": true }),
    )
    .await;
    let active = app.gql_as(&token, "{ activeMealPlan { id } }", json!({})).await;
    assert_eq!(active["data"]["activeMealPlan"]["id"], newest.as_str());
    assert_eq!(app.count("meal_plans", "active").await, 1);
    let none = app.gql_as(&token, activate, json!({ "id": null })).await;
    assert_eq!(none["data"]["setActiveMealPlan"], Value::Null);
    assert_eq!(app.count("meal_plans", "active").await, 0);
    let page = app
        .gql_as(
            &token,
            "{ mealPlans(first: 4) { totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(page["data"]["mealPlans"]["totalCount"], 11);
    assert_eq!(page["data"]["mealPlans"]["edges"][0]["node"]["name"], "Newest");
    let cursor = page["data"]["mealPlans"]["pageInfo"]["endCursor"].clone();
    let next = app
        .gql_as(
            &token,
            "query($after: String) { mealPlans(first: 10, after: $after) { pageInfo { hasNextPage } edges { node { name } } } }",
            json!({ "after": cursor }),
        )
        .await;
    assert_eq!(next["data"]["mealPlans"]["edges"].as_array().unwrap().len(), 7);
    assert_eq!(next["data"]["mealPlans"]["pageInfo"]["hasNextPage"], false);
}

#[tokio::test]
async fn another_users_plans_entries_lists_and_recipes_are_not_found() {
    let app = TestApp::spawn().await;
    let (owner, other) = (dev_token("owner"), dev_token("intruder"));
    let recipe_id = recipe(&app, &owner, "Stew", "4", &["2 carrots"]).await;
    let plan_id = plan(
        &app,
        &owner,
        json!({ "name": "Mine", "startDate": "2027-01-04", "active": true }),
    )
    .await;
    let entry = add(
        &app,
        &owner,
        &plan_id,
        json!({ "date": "2027-01-04", "meal": "DINNER", "recipeId": recipe_id }),
    )
    .await;
    let saved = app
        .gql_as(&owner, SAVE, json!({ "from": "2027-01-04", "to": "2027-01-04" }))
        .await;
    let list_id = saved["data"]["createShoppingList"]["id"].clone();
    let item_id = saved["data"]["createShoppingList"]["items"][0]["id"].clone();
    let own_plan = plan(&app, &other, json!({ "name": "Theirs", "startDate": "2027-01-04" })).await;
    let missing = uuid::Uuid::now_v7().to_string();

    let attempts: Vec<(&str, Value, Value)> = vec![
        ("query($id: UUID!) { mealPlan(id: $id) { id } }", json!({ "id": plan_id }), json!({ "id": missing })),
        (
            "mutation($id: UUID!) { updateMealPlan(id: $id, expectedVersion: 1, patch: { name: \"x\" }) { id } }",
            json!({ "id": plan_id }),
            json!({ "id": missing }),
        ),
        ("mutation($id: UUID!) { deleteMealPlan(id: $id) }", json!({ "id": plan_id }), json!({ "id": missing })),
        ("mutation($id: UUID!) { setActiveMealPlan(id: $id) { id } }", json!({ "id": plan_id }), json!({ "id": missing })),
        (
            "mutation($id: UUID!) { addMealPlanEntry(planId: $id, input: { date: \"2027-01-04\", meal: LUNCH, note: \"x\" }) { id } }",
            json!({ "id": plan_id }),
            json!({ "id": missing }),
        ),
        (
            "mutation($p: UUID!, $id: UUID!) { addMealPlanEntry(planId: $p, input: { date: \"2027-01-04\", meal: LUNCH, recipeId: $id }) { id } }",
            json!({ "p": own_plan, "id": recipe_id }),
            json!({ "p": own_plan, "id": missing }),
        ),
        (
            "mutation($id: UUID!) { moveMealPlanEntry(id: $id, to: { date: \"2027-01-05\", meal: LUNCH }) { id } }",
            json!({ "id": entry["id"] }),
            json!({ "id": missing }),
        ),
        ("mutation($id: UUID!) { removeMealPlanEntry(id: $id) }", json!({ "id": entry["id"] }), json!({ "id": missing })),
        (
            "query($id: UUID!) { mealPlanDays(from: \"2027-01-04\", to: \"2027-01-05\", planId: $id) { date } }",
            json!({ "id": plan_id }),
            json!({ "id": missing }),
        ),
        (
            "query($id: UUID!) { shoppingList(from: \"2027-01-04\", to: \"2027-01-05\", planId: $id) { planId } }",
            json!({ "id": plan_id }),
            json!({ "id": missing }),
        ),
        ("query($id: UUID!) { savedShoppingList(id: $id) { id } }", json!({ "id": list_id }), json!({ "id": missing })),
        ("mutation($id: UUID!) { deleteShoppingList(id: $id) }", json!({ "id": list_id }), json!({ "id": missing })),
        (
            "mutation($id: UUID!) { addShoppingListItem(listId: $id, text: \"2 lemons\") { id } }",
            json!({ "id": list_id }),
            json!({ "id": missing }),
        ),
        ("mutation($id: UUID!) { checkShoppingListItem(id: $id) { id } }", json!({ "id": item_id }), json!({ "id": missing })),
        (
            "mutation($id: UUID!) { updateShoppingListItem(id: $id, expectedVersion: 1, patch: { item: \"x\" }) { id } }",
            json!({ "id": item_id }),
            json!({ "id": missing }),
        ),
        ("mutation($id: UUID!) { removeShoppingListItem(id: $id) }", json!({ "id": item_id }), json!({ "id": missing })),
    ];
    for (query, foreign, absent) in attempts {
        let theirs = app.gql_as(&other, query, foreign).await;
        let nothing = app.gql_as(&other, query, absent).await;
        assert_eq!(error_code(&theirs), "NOT_FOUND", "{query}: {theirs}");
        assert_eq!(
            theirs["errors"][0]["message"], nothing["errors"][0]["message"],
            "{query}"
        );
        assert_eq!(error_code(&nothing), "NOT_FOUND", "{query}: {nothing}");
    }
    // Nothing of the owner's changed.
    let mine = app
        .gql_as(
            &owner,
            "query($id: UUID!) { mealPlan(id: $id) { name active entries { date } } }",
            json!({ "id": plan_id }),
        )
        .await;
    assert_eq!(
        mine["data"]["mealPlan"],
        json!({ "name": "Mine", "active": true, "entries": [{ "date": "2027-01-04" }] })
    );
    assert_eq!(app.count("shopping_list_items", "checked").await, 0);
    // The intruder's own views are empty.
    let theirs = app
        .gql_as(
            &other,
            "{ activeMealPlan { id } shoppingLists { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        theirs["data"],
        json!({ "activeMealPlan": null, "shoppingLists": { "edges": [] } })
    );
}

#[tokio::test]
async fn invalid_dates_ranges_weeks_and_servings_are_refused_with_the_field() {
    let app = TestApp::spawn().await;
    let token = dev_token("careless");
    let calendar = plan(&app, &token, json!({ "name": "Cal", "startDate": "2027-01-04" })).await;
    let rotation = plan(
        &app,
        &token,
        json!({ "name": "Rot", "startDate": "2027-01-04", "weeks": 2 }),
    )
    .await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (DAYS, json!({ "from": "2027-02-30", "to": "2027-03-01" }), "from"),
        (DAYS, json!({ "from": "2027-01-01", "to": "tomorrow" }), "to"),
        (DAYS, json!({ "from": "2027-01-01", "to": "2027-03-04" }), "to"),
        (DAYS, json!({ "from": "2027-01-05", "to": "2027-01-04" }), "to"),
        (LIST, json!({ "from": "2027-01-01", "to": "2027-12-31" }), "to"),
        (
            CREATE_PLAN,
            json!({ "input": { "name": "x", "startDate": "2027-01-04", "weeks": 0 } }),
            "input.weeks",
        ),
        (
            CREATE_PLAN,
            json!({ "input": { "name": "x", "startDate": "2027-01-04", "weeks": 9 } }),
            "input.weeks",
        ),
        (
            CREATE_PLAN,
            json!({ "input": { "name": "x", "startDate": "2027-01-04", "endDate": "2027-01-03" } }),
            "input.endDate",
        ),
        (
            CREATE_PLAN,
            json!({ "input": { "name": "x\u{0}y", "startDate": "2027-01-04" } }),
            "input.name",
        ),
        (
            CREATE_PLAN,
            json!({ "input": { "name": "  ", "startDate": "2027-01-04" } }),
            "input.name",
        ),
        (
            CREATE_PLAN,
            json!({ "input": { "name": "x", "startDate": "2027-1-4" } }),
            "input.startDate",
        ),
        (
            ADD,
            json!({ "plan": calendar, "input": { "date": "2027-01-04", "meal": "LUNCH", "note": "x", "servings": "0" } }),
            "input.servings",
        ),
        (
            ADD,
            json!({ "plan": calendar, "input": { "date": "2027-01-04", "meal": "LUNCH", "note": "x", "servings": "-2" } }),
            "input.servings",
        ),
        (
            ADD,
            json!({ "plan": calendar, "input": { "date": "2027-01-03", "meal": "LUNCH", "note": "x" } }),
            "input.date",
        ),
        (
            ADD,
            json!({ "plan": calendar, "input": { "week": 1, "weekday": "MONDAY", "meal": "LUNCH", "note": "x" } }),
            "input.week",
        ),
        (
            ADD,
            json!({ "plan": calendar, "input": { "date": "2027-01-04", "meal": "LUNCH" } }),
            "input.recipeId",
        ),
        (
            ADD,
            json!({ "plan": calendar, "input": { "date": "2027-01-04", "meal": "LUNCH", "note": "a\u{0}" } }),
            "input.note",
        ),
        (
            ADD,
            json!({ "plan": rotation, "input": { "week": 3, "weekday": "MONDAY", "meal": "LUNCH", "note": "x" } }),
            "input.week",
        ),
        (
            ADD,
            json!({ "plan": rotation, "input": { "week": 1, "meal": "LUNCH", "note": "x" } }),
            "input.weekday",
        ),
        (
            ADD,
            json!({ "plan": rotation, "input": { "date": "2027-01-04", "meal": "LUNCH", "note": "x" } }),
            "input.date",
        ),
    ];
    for (query, variables, expected) in cases {
        let refused = app.gql_as(&token, query, variables.clone()).await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{variables}: {refused}");
        assert_eq!(field(&refused), expected, "{variables}: {refused}");
    }
    assert_eq!(app.count("meal_plan_entries", "true").await, 0, "nothing was written");
    assert_eq!(app.count("meal_plans", "true").await, 2);
}

#[tokio::test]
async fn a_recipe_deleted_while_planned_leaves_a_valid_plan() {
    let app = TestApp::spawn().await;
    let token = dev_token("forgetful");
    let soup = recipe(&app, &token, "Soup", "2", &["1 l stock"]).await;
    let salad = recipe(&app, &token, "Salad", "2", &["1 head lettuce"]).await;
    let week = plan(
        &app,
        &token,
        json!({ "name": "Week", "startDate": "2027-01-04", "active": true }),
    )
    .await;
    let gone = add(
        &app,
        &token,
        &week,
        json!({ "date": "2027-01-04", "meal": "DINNER", "recipeId": soup }),
    )
    .await;
    add(
        &app,
        &token,
        &week,
        json!({ "date": "2027-01-05", "meal": "DINNER", "recipeId": salad }),
    )
    .await;
    let since = chrono::Utc::now().to_rfc3339();
    let deleted = app
        .gql_as(
            &token,
            "mutation($id: UUID!) { deleteRecipe(id: $id) }",
            json!({ "id": soup }),
        )
        .await;
    assert_eq!(deleted["data"]["deleteRecipe"], true, "a planned recipe can be deleted");
    let read = app
        .gql_as(
            &token,
            "query($id: UUID!) { mealPlan(id: $id) { entries { recipe { title } } } }",
            json!({ "id": week }),
        )
        .await;
    assert_eq!(
        read["data"]["mealPlan"]["entries"],
        json!([{ "recipe": { "title": "Salad" } }])
    );
    let list = app
        .gql_as(&token, LIST, json!({ "from": "2027-01-04", "to": "2027-01-05" }))
        .await;
    assert_eq!(list["data"]["shoppingList"]["lines"][0]["item"], "lettuce");
    assert_eq!(list["data"]["shoppingList"]["lines"].as_array().unwrap().len(), 1);
    let changes = app
        .gql_as(
            &token,
            "query($s: DateTime!) { changes(since: $s) { deleted { kind id } } }",
            json!({ "s": since }),
        )
        .await;
    let deleted = changes["data"]["changes"]["deleted"].as_array().unwrap();
    assert!(
        deleted.contains(&json!({ "kind": "MEAL_PLAN_ENTRY", "id": gone["id"] })),
        "{changes}"
    );
    assert!(deleted.contains(&json!({ "kind": "RECIPE", "id": soup })));
}

#[tokio::test]
async fn two_phones_tick_and_edit_a_saved_list_without_losing_an_update() {
    let app = TestApp::spawn().await;
    let token = dev_token("shopper");
    let soup = recipe(&app, &token, "Soup", "2", &["2 carrots", "1 l stock"]).await;
    let week = plan(
        &app,
        &token,
        json!({ "name": "Week", "startDate": "2027-01-04", "active": true }),
    )
    .await;
    add(
        &app,
        &token,
        &week,
        json!({ "date": "2027-01-04", "meal": "DINNER", "recipeId": soup }),
    )
    .await;
    let saved = app
        .gql_as(&token, SAVE, json!({ "from": "2027-01-04", "to": "2027-01-10" }))
        .await;
    let list = saved["data"]["createShoppingList"].clone();
    assert_eq!(list["name"], "Week 1");
    let carrots = list["items"][0]["id"].clone();
    assert_eq!(list["items"][0]["item"], "carrots");

    let check = "mutation($id: UUID!) { checkShoppingListItem(id: $id) { checked version } }";
    let (a, b) = tokio::join!(
        app.gql_as(&token, check, json!({ "id": carrots })),
        app.gql_as(&token, check, json!({ "id": carrots }))
    );
    for answer in [a, b] {
        assert_eq!(
            answer["data"]["checkShoppingListItem"],
            json!({ "checked": true, "version": 1 })
        );
    }

    let edit = "mutation($id: UUID!, $v: Int!, $patch: ShoppingListItemPatch!) { updateShoppingListItem(id: $id, expectedVersion: $v, patch: $patch) { quantity item note checked version } }";
    let first = app
        .gql_as(
            &token,
            edit,
            json!({ "id": carrots, "v": 1, "patch": { "quantity": "3", "note": "organic" } }),
        )
        .await;
    assert_eq!(
        first["data"]["updateShoppingListItem"],
        json!({ "quantity": "3", "item": "carrots", "note": "organic", "checked": true, "version": 2 })
    );
    let stale = app
        .gql_as(
            &token,
            edit,
            json!({ "id": carrots, "v": 1, "patch": { "quantity": "5" } }),
        )
        .await;
    assert_eq!(error_code(&stale), "CONFLICT");
    let bad_unit = app
        .gql_as(
            &token,
            edit,
            json!({ "id": carrots, "v": 2, "patch": { "unit": "bucket" } }),
        )
        .await;
    assert_eq!(field(&bad_unit), "patch.unit");

    let added = app
        .gql_as(
            &token,
            "mutation($id: UUID!) { addShoppingListItem(listId: $id, text: \"2 lemons, unwaxed\") { id position quantity item note } }",
            json!({ "id": list["id"] }),
        )
        .await;
    let lemons = &added["data"]["addShoppingListItem"];
    assert_eq!(
        (&lemons["quantity"], &lemons["item"], &lemons["note"]),
        (&json!("2"), &json!("lemons"), &json!("unwaxed"))
    );
    assert_eq!(lemons["position"], 2);
    let removed = app
        .gql_as(
            &token,
            "mutation($id: UUID!) { removeShoppingListItem(id: $id) }",
            json!({ "id": lemons["id"] }),
        )
        .await;
    assert_eq!(removed["data"]["removeShoppingListItem"], true);

    let read = app
        .gql_as(
            &token,
            "query($id: UUID!) { savedShoppingList(id: $id) { items { item quantity checked version } } }",
            json!({ "id": list["id"] }),
        )
        .await;
    assert_eq!(
        read["data"]["savedShoppingList"]["items"],
        json!([
            { "item": "carrots", "quantity": "3", "checked": true, "version": 2 },
            { "item": "stock", "quantity": "1", "checked": false, "version": 1 },
        ])
    );
    let since = chrono::Utc::now().to_rfc3339();
    let deleted = app
        .gql_as(
            &token,
            "mutation($id: UUID!) { deleteShoppingList(id: $id) }",
            json!({ "id": list["id"] }),
        )
        .await;
    assert_eq!(deleted["data"]["deleteShoppingList"], true);
    let changes = app
        .gql_as(
            &token,
            "query($s: DateTime!) { changes(since: $s) { deleted { kind } } }",
            json!({ "s": since }),
        )
        .await;
    let kinds: Vec<&str> = changes["data"]["changes"]["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"SHOPPING_LIST") && kinds.contains(&"SHOPPING_LIST_ITEM"),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn days_and_shopping_lists_cost_the_same_statements_whatever_the_range() {
    let app = TestApp::spawn().await;
    let token = dev_token("steady");
    let soup = recipe(&app, &token, "Soup", "2", &["2 carrots", "1 l stock"]).await;
    let bread = recipe(&app, &token, "Bread", "8", &["1 kg flour"]).await;
    let rotation = plan(
        &app,
        &token,
        json!({ "name": "Four weeks", "startDate": "2027-01-04", "weeks": 4, "active": true }),
    )
    .await;
    for week in 1..=4 {
        for weekday in ["MONDAY", "WEDNESDAY", "FRIDAY"] {
            let recipe = if weekday == "WEDNESDAY" { &bread } else { &soup };
            add(
                &app,
                &token,
                &rotation,
                json!({ "week": week, "weekday": weekday, "meal": "DINNER", "recipeId": recipe }),
            )
            .await;
        }
    }
    let mut day_counts = Vec::new();
    for to in ["2027-01-04", "2027-01-10", "2027-01-31"] {
        let (days, statements) =
            homechef::db::count_statements(app.gql_as(&token, DAYS, json!({ "from": "2027-01-04", "to": to }))).await;
        assert!(days["errors"].is_null(), "{days}");
        day_counts.push(statements);
    }
    assert_eq!(day_counts, [2, 2, 2], "the plan, then its entries with their recipes");
    let mut list_counts = Vec::new();
    for to in ["2027-01-04", "2027-01-31"] {
        let (list, statements) =
            homechef::db::count_statements(app.gql_as(&token, LIST, json!({ "from": "2027-01-04", "to": to }))).await;
        assert!(list["errors"].is_null(), "{list}");
        list_counts.push(statements);
    }
    assert_eq!(list_counts, [3, 3], "the plan, its entries, their ingredients");
    for i in 0..3 {
        plan(
            &app,
            &token,
            json!({ "name": format!("Other {i}"), "startDate": "2027-02-01" }),
        )
        .await;
    }
    let mut page_counts = Vec::new();
    for first in [1, 4] {
        let (page, statements) = homechef::db::count_statements(app.gql_as(
            &token,
            "query($first: Int) { mealPlans(first: $first) { totalCount edges { node { name entries { meal recipe { title } } } } } }",
            json!({ "first": first }),
        ))
        .await;
        assert_eq!(page["data"]["mealPlans"]["edges"].as_array().unwrap().len(), first);
        page_counts.push(statements);
    }
    assert_eq!(
        page_counts,
        [3, 3],
        "the page, the count, the entries of every plan on it"
    );
    let month = app
        .gql_as(&token, LIST, json!({ "from": "2027-01-04", "to": "2027-01-31" }))
        .await;
    // 8 soups (2 carrots, 1 l stock) and 4 breads (1 kg flour) in four weeks.
    let lines: Vec<(&str, &str, &str)> = month["data"]["shoppingList"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["quantity"].as_str().unwrap(),
                l["unit"].as_str().unwrap_or("-"),
                l["item"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [("16", "-", "carrots"), ("4", "kg", "flour"), ("8", "l", "stock")]
    );
}
