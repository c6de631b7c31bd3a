//! Listing the catalogue: filters, sorts and keyset pages over one set of recipes (the viewer's own, or one of
//! their households'), with full-text search and its typo fallback, in a constant number of statements per page.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::{FullRecipe, Recipe};
use crate::db::schema::{collection_recipes, recipe_counts, recipe_ingredients, recipe_tags, recipes};
use crate::db::Prepared;
use crate::households::shared_set;

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
    /// The set listed: a household's recipes (the caller has checked the viewer is in it), or the viewer's own.
    pub household: Option<Uuid>,
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
    /// No filter at all: every recipe of the set matches, and the count is the set's counter.
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

/// The recipe counter of the listed set (kept exact by triggers; no row while the set is empty).
fn counter_of(
    viewer: Uuid,
    q: &ListQuery,
) -> diesel::dsl::Select<diesel::dsl::Find<recipe_counts::table, Uuid>, recipe_counts::n> {
    recipe_counts::table
        .find(q.household.unwrap_or(viewer))
        .select(recipe_counts::n)
}

/// The recipes of the listed set matching the filters (no order, no page).
/// `fuzzy` swaps full-text matching for trigram title matching (the fallback when full text finds nothing).
fn filtered(viewer: Uuid, q: &ListQuery, fuzzy: bool) -> recipes::BoxedQuery<'static, Pg> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Text};
    let mut query = recipes::table
        .filter(shared_set!(recipes, viewer, q.household))
        .into_boxed();
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

impl Recipe {
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

    /// One page of a set's recipes with ingredients, steps and tags, in a constant number of statements
    /// whatever the page size: the page (keyset: row comparison on (sort value, id)) with the set's counter
    /// when an unfiltered total is asked, then, pipelined, its ingredients and steps (one statement), its tags
    /// and a filtered list's count when asked. A search that matches no word falls back to titles close to
    /// the text (typos).
    pub async fn list(conn: &mut AsyncPgConnection, viewer: Uuid, q: &ListQuery) -> QueryResult<Page> {
        let mut fuzzy = false;
        let mut rows = Self::page(conn, viewer, q, false).await?;
        if rows.is_empty() && q.text.is_some() {
            // Past the first page, an empty page may just be the end of the word matches.
            let no_word_matches = q.after.is_none()
                || !diesel::select(diesel::dsl::exists(filtered(viewer, q, false)))
                    .get_result::<bool>(conn)
                    .await?;
            if no_word_matches {
                fuzzy = true;
                rows = Self::page(conn, viewer, q, true).await?;
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
                (true, true, None) => counter_of(viewer, q)
                    .first(&mut &*conn)
                    .await
                    .optional()
                    .map(|n| Some(n.unwrap_or(0))),
                (true, false, _) => filtered(viewer, q, fuzzy)
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
    /// on every row when an unfiltered total is asked, the set's counter (null otherwise).
    async fn page(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
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
                true => Box::new(counter_of(viewer, q).single_value()),
                false => Box::new(sql::<Nullable<BigInt>>("null::bigint")),
            };
        let mut page = match q.text {
            Some(_) => {
                filtered(viewer, q, fuzzy).select((ranked!(BigInt, RANK_HEAD, RANK_TAIL), Recipe::as_select(), counter))
            }
            None => filtered(viewer, q, fuzzy).select((sql::<BigInt>("0::bigint"), Recipe::as_select(), counter)),
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
}
