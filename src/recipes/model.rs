//! The `recipes`, `recipe_ingredients` and `recipe_steps` tables and their queries. Every function that
//! reads or writes takes the owner and scopes by it here, so no resolver can forget to.

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{collection_recipes, recipe_counts, recipe_ingredients, recipe_steps, recipe_tags, recipes};
use crate::db::Prepared;
use crate::media::{Media, StoredImage};
use crate::tags::Tag;

/// What a list is ordered by; the id breaks ties so the order is total and stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    UpdatedAt,
    CreatedAt,
    Title,
    /// Recipes without a total time sort last going up.
    TotalTime,
    /// Best match for the search text first (needs `text`).
    Relevance,
}

impl SortKey {
    /// The column expression (relevance is built with binds in `list`).
    fn sql(self) -> &'static str {
        match self {
            Self::UpdatedAt => "updated_at",
            Self::CreatedAt => "created_at",
            Self::Title => "title",
            Self::TotalTime => "coalesce(total_minutes, 2147483647)",
            Self::Relevance => "0",
        }
    }
}

/// Relevance as an integer (so cursors compare exactly): text rank plus title similarity, × 10⁶.
/// Split around the two places the search text is bound.
const RANK_HEAD: &str = "round((ts_rank(search_vector, websearch_to_tsquery('simple', ";
const RANK_MID: &str = ")) + word_similarity(";
const RANK_TAIL: &str = ", title)) * 1000000)::bigint";

/// The sort value of a row, as carried by a cursor.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SortValue {
    Time(DateTime<Utc>),
    Text(String),
    Int(i32),
    Rank(i64),
}

/// Which collection a list is limited to (the caller has checked the collection is the viewer's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollectionScope {
    In(Uuid),
    /// Recipes in no collection at all.
    Uncollected,
}

/// A filtered, ordered page request. `after` is the (sort value, id) of the last row already seen.
#[derive(Debug)]
pub struct ListQuery {
    pub collection: Option<CollectionScope>,
    pub text: Option<String>,
    /// Recipes with an ingredient whose item contains this (case-insensitive).
    pub ingredient: Option<String>,
    pub max_total_minutes: Option<i32>,
    pub source_type: Option<&'static str>,
    pub updated_since: Option<DateTime<Utc>>,
    /// Recipes with at least one of these tags.
    pub tags_any: Vec<Uuid>,
    /// Recipes with every one of these tags.
    pub tags_all: Vec<Uuid>,
    /// Recipes with none of these tags.
    pub tags_none: Vec<Uuid>,
    pub sort: SortKey,
    pub descending: bool,
    pub after: Option<(SortValue, Uuid)>,
    pub limit: i64,
    /// Load the page's images too (only when the selection asks for them: two statements saved otherwise).
    pub with_images: bool,
    /// Count the matches (only when the selection asks for `totalCount`).
    pub count: bool,
}

impl ListQuery {
    /// No filter at all: every recipe of the owner matches, and the count is the owner's counter.
    fn unfiltered(&self) -> bool {
        self.everyday() && self.collection.is_none() && self.text.is_none() && self.updated_since.is_none()
    }

    /// No filter beyond text, sync time and collection: the shapes whose page statement stays prepared. The
    /// others vary too much to keep one statement per shape on every connection.
    fn everyday(&self) -> bool {
        self.ingredient.is_none()
            && self.max_total_minutes.is_none()
            && self.source_type.is_none()
            && self.tags_any.is_empty()
            && self.tags_all.is_empty()
            && self.tags_none.is_empty()
    }
}

/// One page: the rows with their parts, whether more follow, and how many match in all.
pub struct Page {
    pub recipes: Vec<FullRecipe>,
    /// Each recipe's relevance (0 without search text), for relevance cursors.
    pub ranks: Vec<i64>,
    pub has_next: bool,
    /// How many match in all, when `ListQuery::count` asked.
    pub total: Option<i64>,
}

type Pg = diesel::pg::Pg;

/// The owner's recipe counter (kept exact by triggers; no row until the first recipe).
fn counter_of(owner_id: Uuid) -> diesel::dsl::Select<diesel::dsl::Find<recipe_counts::table, Uuid>, recipe_counts::n> {
    recipe_counts::table.find(owner_id).select(recipe_counts::n)
}

/// The owner's recipes matching the filters (no order, no page).
/// `fuzzy` swaps full-text matching for trigram title matching (the fallback when full text finds nothing).
fn filtered(owner_id: Uuid, q: &ListQuery, fuzzy: bool) -> recipes::BoxedQuery<'static, Pg> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Text};
    let mut query = recipes::table.filter(recipes::owner_id.eq(owner_id)).into_boxed();
    match (&q.text, fuzzy) {
        // Full text: title (A), description (B), ingredient items (C), through the GIN index.
        (Some(text), false) => {
            query = query.filter(
                sql::<Bool>("search_vector @@ websearch_to_tsquery('simple', ")
                    .bind::<Text, _>(text.clone())
                    .sql(")"),
            );
        }
        // Typo tolerance: titles whose words are close to the search text (trigram index).
        (Some(text), true) => query = query.filter(sql::<Bool>("").bind::<Text, _>(text.clone()).sql(" <% title")),
        (None, _) => {}
    }
    if let Some(item) = &q.ingredient {
        let escaped = item.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let having = recipe_ingredients::table
            .filter(recipe_ingredients::item.ilike(format!("%{escaped}%")))
            .select(recipe_ingredients::recipe_id);
        query = query.filter(recipes::id.eq_any(having));
    }
    if let Some(max) = q.max_total_minutes {
        query = query.filter(recipes::total_minutes.le(max));
    }
    if let Some(source_type) = q.source_type {
        query = query.filter(recipes::source_type.eq(source_type));
    }
    if let Some(since) = q.updated_since {
        query = query.filter(recipes::updated_at.ge(since));
    }
    let in_collections = collection_recipes::table.select(collection_recipes::recipe_id);
    match q.collection {
        Some(CollectionScope::In(id)) => {
            query = query.filter(recipes::id.eq_any(in_collections.filter(collection_recipes::collection_id.eq(id))));
        }
        Some(CollectionScope::Uncollected) => {
            query = query.filter(diesel::dsl::not(recipes::id.eq_any(in_collections)))
        }
        None => {}
    }
    let tagged = |ids: Vec<Uuid>| {
        recipe_tags::table
            .filter(recipe_tags::tag_id.eq_any(ids))
            .select(recipe_tags::recipe_id)
    };
    if !q.tags_any.is_empty() {
        query = query.filter(recipes::id.eq_any(tagged(q.tags_any.clone())));
    }
    for tag in &q.tags_all {
        query = query.filter(recipes::id.eq_any(tagged(vec![*tag])));
    }
    if !q.tags_none.is_empty() {
        query = query.filter(diesel::dsl::not(recipes::id.eq_any(tagged(q.tags_none.clone()))));
    }
    query
}

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
                tags: Vec::new(),
                images: Vec::new(),
            })
        })
        .await
    }

    /// The owner's recipe row; `NotFound` for a missing or foreign id alike.
    pub async fn find(conn: &mut AsyncPgConnection, owner_id: Uuid, id: Uuid) -> QueryResult<Recipe> {
        recipes::table
            .filter(recipes::id.eq(id).and(recipes::owner_id.eq(owner_id)))
            .select(Recipe::as_select())
            .first(conn)
            .await
    }

    /// The owner's recipe with its parts; `NotFound` for a missing or foreign id alike.
    pub async fn find_full(conn: &mut AsyncPgConnection, owner_id: Uuid, id: Uuid) -> QueryResult<FullRecipe> {
        Self::find(conn, owner_id, id).await?.with_parts(conn).await
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

    /// A private copy of the owner's recipe, with its parts, titled "… (copy)".
    pub async fn duplicate(conn: &mut AsyncPgConnection, owner_id: Uuid, id: Uuid) -> QueryResult<FullRecipe> {
        let original = Self::find_full(conn, owner_id, id).await?;
        let new_id = Uuid::now_v7();
        let r = original.recipe;
        let title: String = format!("{} (copy)", r.title);
        let title = if title.chars().count() > 200 { r.title } else { title };
        let copy = NewRecipe {
            id: new_id,
            owner_id,
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

    /// The value this row is sorted by under `key` (`rank` is its relevance from the page query).
    pub fn sort_value(&self, key: SortKey, rank: i64) -> SortValue {
        match key {
            SortKey::UpdatedAt => SortValue::Time(self.updated_at),
            SortKey::CreatedAt => SortValue::Time(self.created_at),
            SortKey::Title => SortValue::Text(self.title.clone()),
            SortKey::TotalTime => SortValue::Int(self.total_minutes.unwrap_or(i32::MAX)),
            SortKey::Relevance => SortValue::Rank(rank),
        }
    }

    /// One page of the owner's recipes with ingredients, steps and tags, in a constant number of statements
    /// whatever the page size: the page (keyset: row comparison on (sort value, id)) with the owner's counter
    /// when an unfiltered total is asked, then, pipelined, its ingredients and steps (one statement), its tags
    /// and a filtered list's count when asked. A search that matches no word falls back to titles close to
    /// the text (typos).
    pub async fn list(conn: &mut AsyncPgConnection, owner_id: Uuid, q: &ListQuery) -> QueryResult<Page> {
        let mut fuzzy = false;
        let mut rows = Self::page(conn, owner_id, q, false).await?;
        if rows.is_empty() && q.text.is_some() {
            // Past the first page, an empty page may just be the end of the word matches.
            let no_word_matches = q.after.is_none()
                || !diesel::select(diesel::dsl::exists(filtered(owner_id, q, false)))
                    .get_result::<bool>(conn)
                    .await?;
            if no_word_matches {
                fuzzy = true;
                rows = Self::page(conn, owner_id, q, true).await?;
            }
        }
        let has_next = rows.len() as i64 > q.limit;
        rows.truncate(usize::try_from(q.limit).unwrap_or(0));
        // The counter came with the page's rows; an empty page brings none, so it is read on its own.
        let counter = rows.as_slice().first().map(|(_, _, n)| n.unwrap_or(0));
        let (ranks, recipes): (Vec<i64>, Vec<Recipe>) =
            rows.into_iter().map(|(rank, recipe, _)| (rank, recipe)).unzip();
        let conn: &AsyncPgConnection = conn;
        let total = async {
            match (q.count, q.unfiltered(), counter) {
                (false, _, _) => Ok(None),
                (true, true, Some(n)) => Ok(Some(n)),
                (true, true, None) => counter_of(owner_id)
                    .first(&mut &*conn)
                    .await
                    .optional()
                    .map(|n| Some(n.unwrap_or(0))),
                (true, false, _) => filtered(owner_id, q, fuzzy)
                    .select(diesel::dsl::count_star())
                    .get_result(&mut &*conn)
                    .await
                    .map(Some),
            }
        };
        let (recipes, total) = tokio::try_join!(Self::load_parts(conn, recipes, q.with_images), total)?;
        Ok(Page {
            recipes,
            ranks,
            has_next,
            total,
        })
    }

    /// The rows of one page (one more than the limit, to tell whether more follow) with their relevance and,
    /// on every row when an unfiltered total is asked, the owner's counter (null otherwise).
    async fn page(
        conn: &mut AsyncPgConnection,
        owner_id: Uuid,
        q: &ListQuery,
        fuzzy: bool,
    ) -> QueryResult<Vec<(i64, Recipe, Option<i64>)>> {
        use diesel::dsl::sql;
        use diesel::sql_types::{BigInt, Bool, Int4, Nullable, Text, Timestamptz};
        let direction = if q.descending { "desc" } else { "asc" };
        let search = q.text.clone().unwrap_or_default();
        // The relevance expression with the search text bound twice, between SQL `$open` and `$close`
        // (a macro: diesel's bound-literal types cannot be named outside diesel).
        macro_rules! ranked {
            ($sql_type:ty, $open:expr, $close:expr) => {
                sql::<$sql_type>($open)
                    .bind::<Text, _>(search.clone())
                    .sql(RANK_MID)
                    .bind::<Text, _>(search.clone())
                    .sql($close)
            };
        }
        let counter: Box<dyn BoxableExpression<recipes::table, Pg, SqlType = Nullable<BigInt>>> =
            match q.count && q.unfiltered() {
                true => Box::new(counter_of(owner_id).single_value()),
                false => Box::new(sql::<Nullable<BigInt>>("null::bigint")),
            };
        let mut page = match q.text {
            Some(_) => filtered(owner_id, q, fuzzy).select((
                ranked!(BigInt, RANK_HEAD, RANK_TAIL),
                Recipe::as_select(),
                counter,
            )),
            None => filtered(owner_id, q, fuzzy).select((sql::<BigInt>("0::bigint"), Recipe::as_select(), counter)),
        }
        .limit(q.limit + 1);
        page = match q.sort {
            // By the selected rank (output column 1), not the expression again: with its own binds it would be
            // a second expression, ranked a second time for every match.
            SortKey::Relevance => page.order(sql::<Text>(&format!("1 {direction}, id {direction}"))),
            key => page.order(sql::<Text>(&format!("{} {direction}, id {direction}", key.sql()))),
        };
        if let Some((value, id)) = &q.after {
            let op = if q.descending { "<" } else { ">" };
            let head = sql::<Bool>(&format!("({}, id) {op} (", q.sort.sql()));
            type U = diesel::sql_types::Uuid;
            page = match value.clone() {
                SortValue::Time(t) => page.filter(head.bind::<Timestamptz, _>(t).sql(", ").bind::<U, _>(*id).sql(")")),
                SortValue::Text(t) => page.filter(head.bind::<Text, _>(t).sql(", ").bind::<U, _>(*id).sql(")")),
                SortValue::Int(i) => page.filter(head.bind::<Int4, _>(i).sql(", ").bind::<U, _>(*id).sql(")")),
                SortValue::Rank(r) => page.filter(
                    ranked!(Bool, &format!("({RANK_HEAD}"), &format!("{RANK_TAIL}, id) {op} ("))
                        .bind::<BigInt, _>(r)
                        .sql(", ")
                        .bind::<U, _>(*id)
                        .sql(")"),
                ),
            };
        }
        if q.everyday() {
            Prepared(page).load(conn).await
        } else {
            page.load(conn).await
        }
    }

    /// Recipes with their ingredients and steps (one statement), tags and, when asked, images: pipelined
    /// statements (two, three with images) whatever the number of recipes.
    async fn load_parts(
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
    /// ingredient and step lists when given, all in one transaction. `None` when the owner's recipe at that
    /// version does not exist (stale or missing): nothing was written.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        owner_id: Uuid,
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
                    .and(recipes::owner_id.eq(owner_id))
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
            Some(()) => Self::find_full(conn, owner_id, id).await.map(Some),
            None => Ok(None),
        }
    }

    /// Deletes the owner's recipe (its parts cascade); false when there was none to delete.
    pub async fn delete(conn: &mut AsyncPgConnection, owner_id: Uuid, id: Uuid) -> QueryResult<bool> {
        let deleted = diesel::delete(recipes::table.filter(recipes::id.eq(id).and(recipes::owner_id.eq(owner_id))))
            .execute(conn)
            .await?;
        Ok(deleted > 0)
    }
}
