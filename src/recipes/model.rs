//! The `recipes`, `recipe_ingredients` and `recipe_steps` tables and their queries. Every function that
//! reads or writes takes the owner and scopes by it here, so no resolver can forget to.

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{recipe_ingredients, recipe_steps, recipes};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = recipes, check_for_backend(diesel::pg::Pg))]
pub struct Recipe {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub prep_minutes: Option<i32>,
    pub cook_minutes: Option<i32>,
    pub total_minutes: Option<i32>,
    pub servings: Option<BigDecimal>,
    pub yield_text: Option<String>,
    pub source_type: String,
    pub source_url: Option<String>,
    pub visibility: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = recipes)]
pub struct NewRecipe {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub prep_minutes: Option<i32>,
    pub cook_minutes: Option<i32>,
    pub total_minutes: Option<i32>,
    pub servings: Option<BigDecimal>,
    pub yield_text: Option<String>,
    pub source_type: String,
    pub source_url: Option<String>,
    pub visibility: String,
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Associations, Insertable)]
#[diesel(table_name = recipe_ingredients, belongs_to(Recipe), check_for_backend(diesel::pg::Pg))]
pub struct Ingredient {
    pub id: Uuid,
    pub recipe_id: Uuid,
    pub position: i32,
    pub section: Option<String>,
    pub quantity: Option<BigDecimal>,
    pub quantity_max: Option<BigDecimal>,
    pub unit: Option<String>,
    pub item: String,
    pub note: Option<String>,
    pub original_text: String,
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Associations, Insertable)]
#[diesel(table_name = recipe_steps, belongs_to(Recipe), check_for_backend(diesel::pg::Pg))]
pub struct Step {
    pub id: Uuid,
    pub recipe_id: Uuid,
    pub position: i32,
    pub section: Option<String>,
    pub text: String,
}

/// A recipe with its ingredients and steps, in order.
#[derive(Clone, Debug)]
pub struct FullRecipe {
    pub recipe: Recipe,
    pub ingredients: Vec<Ingredient>,
    pub steps: Vec<Step>,
}

impl Recipe {
    /// Inserts a recipe with its parts in one transaction. `ingredients`/`steps` carry `recipe_id` = `new.id`.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        new: NewRecipe,
        ingredients: Vec<Ingredient>,
        steps: Vec<Step>,
    ) -> QueryResult<FullRecipe> {
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            let recipe = diesel::insert_into(recipes::table)
                .values(&new)
                .returning(Recipe::as_returning())
                .get_result(conn)
                .await?;
            diesel::insert_into(recipe_ingredients::table)
                .values(&ingredients)
                .execute(conn)
                .await?;
            diesel::insert_into(recipe_steps::table)
                .values(&steps)
                .execute(conn)
                .await?;
            Ok(FullRecipe {
                recipe,
                ingredients,
                steps,
            })
        })
        .await
    }

    /// The owner's recipe with its parts; `NotFound` for a missing or foreign id alike.
    pub async fn find_full(conn: &mut AsyncPgConnection, owner_id: Uuid, id: Uuid) -> QueryResult<FullRecipe> {
        let recipe = recipes::table
            .filter(recipes::id.eq(id).and(recipes::owner_id.eq(owner_id)))
            .select(Recipe::as_select())
            .first(conn)
            .await?;
        let ingredients = Ingredient::belonging_to(&recipe)
            .select(Ingredient::as_select())
            .order(recipe_ingredients::position)
            .load(conn)
            .await?;
        let steps = Step::belonging_to(&recipe)
            .select(Step::as_select())
            .order(recipe_steps::position)
            .load(conn)
            .await?;
        Ok(FullRecipe {
            recipe,
            ingredients,
            steps,
        })
    }

    /// Deletes the owner's recipe (its parts cascade); false when there was none to delete.
    pub async fn delete(conn: &mut AsyncPgConnection, owner_id: Uuid, id: Uuid) -> QueryResult<bool> {
        let deleted = diesel::delete(recipes::table.filter(recipes::id.eq(id).and(recipes::owner_id.eq(owner_id))))
            .execute(conn)
            .await?;
        Ok(deleted > 0)
    }
}
