//! The `recipes`, `recipe_ingredients` and `recipe_steps` tables and their queries. Every function that
//! reads or writes takes the viewer and scopes by it here (their own recipes and those of their households), so
//! no resolver can forget to.

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{collection_recipes, media, recipe_ingredients, recipe_steps, recipe_tags, recipes};
use crate::db::Prepared;
use crate::households::{check_set, shared_scope};
use crate::media::{Media, StoredImage};
use crate::tags::Tag;

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
    /// The household it belongs to; `None` for the owner's own.
    pub household_id: Option<Uuid>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = recipes)]
pub struct NewRecipe {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub household_id: Option<Uuid>,
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
    /// Ingredient items, for the search vector.
    pub ingredient_text: String,
}

/// What the search vector indexes of a recipe's ingredients: their items.
pub fn ingredient_text(ingredients: &[Ingredient]) -> String {
    ingredients
        .iter()
        .map(|i| i.item.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A checked patch (`input::validate_patch`): column changes, and replacement lists when given.
pub struct ValidPatch {
    pub changes: RecipeChangeset,
    pub ingredients: Option<Vec<Ingredient>>,
    pub steps: Option<Vec<Step>>,
}

/// Column changes of an update (`Some(None)` sets NULL); the version is bumped separately.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = recipes)]
pub struct RecipeChangeset {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub prep_minutes: Option<Option<i32>>,
    pub cook_minutes: Option<Option<i32>>,
    pub total_minutes: Option<Option<i32>>,
    pub servings: Option<Option<BigDecimal>>,
    pub yield_text: Option<Option<String>>,
    pub source_type: Option<String>,
    pub source_url: Option<Option<String>>,
    pub visibility: Option<String>,
    pub ingredient_text: Option<String>,
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

/// Ingredients and steps of a page's recipes in one statement (a `UNION ALL`, ingredients first, each in
/// order): their columns side by side, the ones steps lack null.
const PARTS: &str = "\
    select false as is_step, id, recipe_id, position, section, quantity, quantity_max, unit, item as text, note, \
           original_text \
      from recipe_ingredients where recipe_id = any($1) \
    union all \
    select true, id, recipe_id, position, section, null, null, null, text, null, null \
      from recipe_steps where recipe_id = any($1) \
    order by is_step, recipe_id, position";

/// One row of [`PARTS`].
#[derive(QueryableByName)]
struct Part {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    is_step: bool,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    recipe_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Int4)]
    position: i32,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    section: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Numeric>)]
    quantity: Option<BigDecimal>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Numeric>)]
    quantity_max: Option<BigDecimal>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    unit: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    note: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    original_text: Option<String>,
}

impl Part {
    /// The rows as ingredients and steps, each in order.
    fn split(parts: Vec<Part>) -> (Vec<Ingredient>, Vec<Step>) {
        let first_step = parts.partition_point(|p| !p.is_step);
        let mut parts = parts.into_iter();
        let ingredients = parts
            .by_ref()
            .take(first_step)
            .map(|p| Ingredient {
                id: p.id,
                recipe_id: p.recipe_id,
                position: p.position,
                section: p.section,
                quantity: p.quantity,
                quantity_max: p.quantity_max,
                unit: p.unit,
                item: p.text,
                note: p.note,
                original_text: p.original_text.unwrap_or_default(),
            })
            .collect();
        let steps = parts
            .map(|p| Step {
                id: p.id,
                recipe_id: p.recipe_id,
                position: p.position,
                section: p.section,
                text: p.text,
            })
            .collect();
        (ingredients, steps)
    }
}

/// A recipe with its ingredients and steps, in order.
#[derive(Clone, Debug)]
pub struct FullRecipe {
    pub recipe: Recipe,
    pub ingredients: Vec<Ingredient>,
    pub steps: Vec<Step>,
    pub tags: Vec<Tag>,
    /// Promoted images, in order.
    pub images: Vec<StoredImage>,
}

impl Recipe {
    /// Inserts a recipe with its parts in one transaction. `ingredients`/`steps` carry `recipe_id` = `new.id`.
    /// `NotFound` when it is for a household its owner is not in.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        new: NewRecipe,
        ingredients: Vec<Ingredient>,
        steps: Vec<Step>,
    ) -> QueryResult<FullRecipe> {
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            check_set(conn, new.owner_id, new.household_id).await?;
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
                tags: Vec::new(),
                images: Vec::new(),
            })
        })
        .await
    }

    /// The ids of the recipes the viewer may see, as a subquery.
    pub fn visible(viewer: Uuid) -> recipes::BoxedQuery<'static, diesel::pg::Pg, diesel::sql_types::Uuid> {
        recipes::table
            .filter(shared_scope!(recipes, viewer))
            .select(recipes::id)
            .into_boxed()
    }

    /// A recipe row the viewer may see (their own, or of a household they are in); `NotFound` for a missing or
    /// foreign id alike.
    pub async fn find(conn: &mut AsyncPgConnection, viewer: Uuid, id: Uuid) -> QueryResult<Recipe> {
        recipes::table
            .filter(recipes::id.eq(id).and(shared_scope!(recipes, viewer)))
            .select(Recipe::as_select())
            .first(conn)
            .await
    }

    /// A recipe the viewer may see, with its parts; `NotFound` for a missing or foreign id alike.
    pub async fn find_full(conn: &mut AsyncPgConnection, viewer: Uuid, id: Uuid) -> QueryResult<FullRecipe> {
        Self::find(conn, viewer, id).await?.with_parts(conn).await
    }

    /// Anyone's `PUBLIC` or `UNLISTED` recipe; `NotFound` for private, missing or foreign-private alike.
    pub async fn find_shared(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<FullRecipe> {
        let recipe = recipes::table
            .filter(
                recipes::id
                    .eq(id)
                    .and(recipes::visibility.eq_any(["PUBLIC", "UNLISTED"])),
            )
            .select(Recipe::as_select())
            .first(conn)
            .await?;
        recipe.with_parts(conn).await
    }

    async fn with_parts(self, conn: &mut AsyncPgConnection) -> QueryResult<FullRecipe> {
        Self::load_parts(conn, vec![self], true)
            .await?
            .pop()
            .ok_or(diesel::result::Error::NotFound)
    }

    /// A private copy of a recipe the viewer may see, with its parts, titled "… (copy)", theirs and in the same
    /// household as the original (or their own when the original is).
    pub async fn duplicate(conn: &mut AsyncPgConnection, viewer: Uuid, id: Uuid) -> QueryResult<FullRecipe> {
        let original = Self::find_full(conn, viewer, id).await?;
        let new_id = Uuid::now_v7();
        let r = original.recipe;
        let title: String = format!("{} (copy)", r.title);
        let title = if title.chars().count() > 200 { r.title } else { title };
        let copy = NewRecipe {
            id: new_id,
            owner_id: viewer,
            household_id: r.household_id,
            title,
            description: r.description,
            prep_minutes: r.prep_minutes,
            cook_minutes: r.cook_minutes,
            total_minutes: r.total_minutes,
            servings: r.servings,
            yield_text: r.yield_text,
            source_type: r.source_type,
            source_url: r.source_url,
            visibility: "PRIVATE".to_owned(),
            ingredient_text: ingredient_text(&original.ingredients),
        };
        let ingredients = original
            .ingredients
            .into_iter()
            .map(|i| Ingredient {
                id: Uuid::now_v7(),
                recipe_id: new_id,
                ..i
            })
            .collect();
        let steps = original
            .steps
            .into_iter()
            .map(|s| Step {
                id: Uuid::now_v7(),
                recipe_id: new_id,
                ..s
            })
            .collect();
        let mut created = Self::create(conn, copy, ingredients, steps).await?;
        let links: Vec<_> = original
            .tags
            .iter()
            .map(|tag| (recipe_tags::recipe_id.eq(new_id), recipe_tags::tag_id.eq(tag.id)))
            .collect();
        diesel::insert_into(recipe_tags::table)
            .values(&links)
            .execute(conn)
            .await?;
        created.tags = original.tags;
        Ok(created)
    }

    /// Recipes with their ingredients and steps (one statement), tags and, when asked, images: pipelined
    /// statements (two, three with images) whatever the number of recipes.
    pub(super) async fn load_parts(
        conn: &AsyncPgConnection,
        rows: Vec<Recipe>,
        with_images: bool,
    ) -> QueryResult<Vec<FullRecipe>> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let tags = async {
            let mut by_recipe: std::collections::HashMap<Uuid, Vec<Tag>> = std::collections::HashMap::new();
            for (recipe_id, tag) in Tag::for_recipes(conn, &ids).await? {
                by_recipe.entry(recipe_id).or_default().push(tag);
            }
            Ok::<_, diesel::result::Error>(by_recipe)
        };
        let images = async {
            let mut by_recipe: std::collections::HashMap<Uuid, Vec<StoredImage>> = std::collections::HashMap::new();
            if with_images {
                for image in Media::for_recipes(conn, &ids).await? {
                    by_recipe.entry(image.media.recipe_id).or_default().push(image);
                }
            }
            Ok::<_, diesel::result::Error>(by_recipe)
        };
        let parts =
            Prepared(diesel::sql_query(PARTS).bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&ids))
                .load::<Part>(&mut &*conn);
        let (parts, mut tags, mut images) = tokio::try_join!(parts, tags, images)?;
        let (ingredients, steps) = Part::split(parts);
        let (ingredients, steps) = (ingredients.grouped_by(&rows), steps.grouped_by(&rows));
        Ok(rows
            .into_iter()
            .zip(ingredients.into_iter().zip(steps))
            .map(|(recipe, (ingredients, steps))| FullRecipe {
                tags: tags.remove(&recipe.id).unwrap_or_default(),
                images: images.remove(&recipe.id).unwrap_or_default(),
                recipe,
                ingredients,
                steps,
            })
            .collect())
    }

    /// Applies changes if the stored version is still `expected_version`, bumping it, and replaces the
    /// ingredient and step lists when given, all in one transaction. `None` when a recipe the viewer may see at
    /// that version does not exist (stale or missing): nothing was written.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
        id: Uuid,
        expected_version: i32,
        patch: ValidPatch,
    ) -> QueryResult<Option<FullRecipe>> {
        let ValidPatch {
            changes,
            ingredients,
            steps,
        } = patch;
        let updated = conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                let mine = recipes::id
                    .eq(id)
                    .and(shared_scope!(recipes, viewer))
                    .and(recipes::version.eq(expected_version));
                let updated = diesel::update(recipes::table.filter(mine))
                    .set((changes, recipes::version.eq(recipes::version + 1)))
                    .returning(recipes::id)
                    .get_result::<Uuid>(conn)
                    .await
                    .optional()?;
                if updated.is_none() {
                    return Ok(None);
                }
                if let Some(ingredients) = ingredients {
                    diesel::delete(recipe_ingredients::table.filter(recipe_ingredients::recipe_id.eq(id)))
                        .execute(conn)
                        .await?;
                    diesel::insert_into(recipe_ingredients::table)
                        .values(&ingredients)
                        .execute(conn)
                        .await?;
                }
                if let Some(steps) = steps {
                    diesel::delete(recipe_steps::table.filter(recipe_steps::recipe_id.eq(id)))
                        .execute(conn)
                        .await?;
                    diesel::insert_into(recipe_steps::table)
                        .values(&steps)
                        .execute(conn)
                        .await?;
                }
                Ok(Some(()))
            })
            .await?;
        match updated {
            Some(()) => Self::find_full(conn, viewer, id).await.map(Some),
            None => Ok(None),
        }
    }

    /// Deletes a recipe the viewer may see (its parts cascade); false when there was none to delete.
    pub async fn delete(conn: &mut AsyncPgConnection, viewer: Uuid, id: Uuid) -> QueryResult<bool> {
        let deleted = diesel::delete(recipes::table.filter(recipes::id.eq(id).and(shared_scope!(recipes, viewer))))
            .execute(conn)
            .await?;
        Ok(deleted > 0)
    }

    /// Moves a recipe the viewer may see into one of their households (`Some`) or to their own recipes (`None`):
    /// the viewer becomes its owner (and its images'), its tags are the target's of the same names (made when
    /// missing), it leaves the collections it was in, its version moves on, and the members of its household who
    /// cannot see it where it goes get a `RECIPE` deletion in `changes`. `NotFound` for a recipe or household the
    /// viewer cannot see; moving it where it already is writes nothing.
    pub async fn move_to(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
        id: Uuid,
        target: Option<Uuid>,
    ) -> QueryResult<FullRecipe> {
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            let recipe: Recipe = recipes::table
                .filter(recipes::id.eq(id).and(shared_scope!(recipes, viewer)))
                .select(Recipe::as_select())
                .for_update()
                .first(conn)
                .await?;
            check_set(conn, viewer, target).await?;
            if recipe.household_id == target {
                return Ok(());
            }
            if let Some(from) = recipe.household_id {
                diesel::sql_query(
                    "insert into tombstones (owner_id, kind, object_id) \
                     select user_id, 'RECIPE', $1 from household_members \
                      where household_id = $2 and user_id <> $3 \
                        and user_id not in (select user_id from household_members where household_id = $4)",
                )
                .bind::<diesel::sql_types::Uuid, _>(id)
                .bind::<diesel::sql_types::Uuid, _>(from)
                .bind::<diesel::sql_types::Uuid, _>(viewer)
                .bind::<diesel::sql_types::Nullable<diesel::sql_types::Uuid>, _>(target)
                .execute(conn)
                .await?;
            }
            let names: Vec<String> = recipe_tags::table
                .inner_join(crate::db::schema::tags::table)
                .filter(recipe_tags::recipe_id.eq(id))
                .select(crate::db::schema::tags::name)
                .load(conn)
                .await?;
            diesel::delete(collection_recipes::table.filter(collection_recipes::recipe_id.eq(id)))
                .execute(conn)
                .await?;
            diesel::update(recipes::table.find(id))
                .set((
                    recipes::household_id.eq(target),
                    recipes::owner_id.eq(viewer),
                    recipes::version.eq(recipes::version + 1),
                ))
                .execute(conn)
                .await?;
            diesel::update(media::table.filter(media::recipe_id.eq(id)))
                .set(media::owner_id.eq(viewer))
                .execute(conn)
                .await?;
            Tag::set_for_recipe(conn, viewer, id, &names).await
        })
        .await?;
        Self::find_full(conn, viewer, id).await
    }
}
