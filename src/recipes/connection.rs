//! `recipes` and `Collection.recipes`: one page of a set of recipes, filtered and sorted, as a Relay connection
//! with opaque keyset cursors.

use async_graphql::{Context, ResultExt as _, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::input::{RecipeFilter, RecipeSort, RecipeSortField, SortDirection, SourceType};
use super::listing::{CollectionScope, ListQuery, SortKey, SortValue};
use super::model::Recipe;
use super::views::RecipeView;
use crate::error::{AppError, GqlResult as _};
use crate::resolver::{conn, viewer_id};
use crate::tags::Tag;

/// Tags per recipe.
pub const MAX_TAGS: usize = 50;

/// Page sizes for `recipes`.
pub const DEFAULT_PAGE: i32 = 20;
pub const MAX_PAGE: i32 = 100;
const MAX_SEARCH_CHARS: usize = 200;

/// The complexity multiplier of a list field: one unit per 10 rows requested (page size clamped to 1..=100).
pub fn page_cost(first: Option<i32>) -> usize {
    usize::try_from(first.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE))
        .unwrap_or(1)
        .div_ceil(10)
}

/// A page of recipes (Relay connection).
#[derive(SimpleObject)]
pub struct RecipeConnection {
    pub edges: Vec<RecipeEdge>,
    pub page_info: PageInfo,
    /// Recipes matching the filter, across all pages.
    pub total_count: i64,
    /// The server's clock when the page was read: pass it as `updatedSince` next time to sync changes.
    pub server_time: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct RecipeEdge {
    /// Opaque; pass as `after` to continue after this recipe.
    pub cursor: String,
    pub node: RecipeView,
}

#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Cursor {
    v: SortValue,
    i: Uuid,
}

fn encode_cursor(value: SortValue, id: Uuid) -> String {
    use base64::Engine as _;
    let json = serde_json::to_vec(&Cursor { v: value, i: id }).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_cursor(cursor: &str, key: SortKey) -> Result<(SortValue, Uuid), AppError> {
    use base64::Engine as _;
    let bad = || AppError::bad_input("after", "malformed cursor");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .map_err(|_| bad())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    // A cursor from a list sorted differently cannot position this one.
    let fits = matches!(
        (key, &cursor.v),
        (SortKey::Relevance, SortValue::Rank(_))
            | (SortKey::UpdatedAt | SortKey::CreatedAt, SortValue::Time(_))
            | (SortKey::Title, SortValue::Text(_))
            | (SortKey::TotalTime, SortValue::Int(_))
    );
    let storable = match &cursor.v {
        SortValue::Time(time) => crate::db::fits_timestamptz(time),
        SortValue::Text(text) => !text.contains('\0'),
        SortValue::Int(_) | SortValue::Rank(_) => true,
    };
    if !fits || !storable {
        return Err(bad());
    }
    Ok((cursor.v, cursor.i))
}

/// One page of a set of the viewer's recipes (a household's they are in, or their own): the engine behind
/// `recipes` and `Collection.recipes` (the collection's set, `scope` set).
pub async fn list_recipes(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    filter: RecipeFilter,
    sort: RecipeSort,
    (household, scope): (Option<Uuid>, Option<CollectionScope>),
) -> async_graphql::Result<RecipeConnection> {
    let owner = viewer_id(ctx).extend()?;
    let first = first.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&first) {
        return Err(AppError::bad_input(
            "first",
            format!("first must be between 1 and {MAX_PAGE}"),
        ))
        .extend();
    }
    let key = match sort.field {
        RecipeSortField::UpdatedAt => SortKey::UpdatedAt,
        RecipeSortField::CreatedAt => SortKey::CreatedAt,
        RecipeSortField::Title => SortKey::Title,
        RecipeSortField::TotalTime => SortKey::TotalTime,
        RecipeSortField::Relevance => SortKey::Relevance,
    };
    let text = filter.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if text.is_some_and(|t| t.chars().count() > MAX_SEARCH_CHARS) {
        return Err(AppError::bad_input(
            "filter.text",
            format!("at most {MAX_SEARCH_CHARS} characters"),
        ))
        .extend();
    }
    let tag_filter = filter.tags.unwrap_or_default();
    let mut conn = conn(ctx).await?;
    crate::households::check_set(&mut conn, owner, household).await.gql()?;
    for (field, ids) in [
        ("filter.tags.any", &tag_filter.any),
        ("filter.tags.all", &tag_filter.all),
        ("filter.tags.none", &tag_filter.none),
    ] {
        let distinct: std::collections::BTreeSet<&Uuid> = ids.iter().collect();
        if distinct.is_empty() {
            continue;
        }
        if distinct.len() > 50 {
            return Err(AppError::bad_input(field, "at most 50 tags")).extend();
        }
        let owned = Tag::count_owned(&mut conn, owner, ids).await.gql()?;
        if usize::try_from(owned).unwrap_or(0) != distinct.len() {
            return Err(AppError::bad_input(field, "unknown tag id")).extend();
        }
    }
    let collection = match (scope, filter.collection.as_deref().map(str::trim)) {
        (Some(scope), _) => Some(scope),
        (None, None) => None,
        (None, Some("UNCOLLECTED")) => Some(CollectionScope::Uncollected),
        (None, Some(id)) => {
            let id = Uuid::parse_str(id)
                .map_err(|_| AppError::bad_input("filter.collection", "a collection id or UNCOLLECTED"))
                .extend()?;
            crate::collections::Collection::find(&mut conn, owner, id)
                .await
                .map_err(|_| AppError::bad_input("filter.collection", "unknown collection"))
                .extend()?;
            Some(CollectionScope::In(id))
        }
    };
    if key == SortKey::Relevance && text.is_none() {
        return Err(AppError::bad_input("sort.field", "RELEVANCE needs filter.text")).extend();
    }
    let ingredient = filter.ingredient.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if ingredient.is_some_and(|t| t.chars().count() > MAX_SEARCH_CHARS) {
        return Err(AppError::bad_input(
            "filter.ingredient",
            format!("at most {MAX_SEARCH_CHARS} characters"),
        ))
        .extend();
    }
    let query = ListQuery {
        household,
        collection,
        text: text.map(str::to_owned),
        ingredient: ingredient.map(str::to_owned),
        max_total_minutes: filter.max_total_minutes,
        source_type: filter.source_type.map(SourceType::as_db),
        updated_since: match filter.updated_since {
            Some(since) if !crate::db::fits_timestamptz(&since) => {
                return Err(AppError::bad_input("filter.updatedSince", "instant out of range")).extend()
            }
            since => since,
        },
        tags_any: tag_filter.any,
        tags_all: tag_filter.all,
        tags_none: tag_filter.none,
        sort: key,
        descending: sort.direction == SortDirection::Desc,
        after: after.as_deref().map(|c| decode_cursor(c, key)).transpose().extend()?,
        limit: i64::from(first),
        with_images: {
            let node = ctx.look_ahead().field("edges").field("node");
            node.field("images").exists() || node.field("coverImage").exists()
        },
        count: ctx.look_ahead().field("totalCount").exists(),
    };
    let server_time = Utc::now();
    let page = Recipe::list(&mut conn, owner, &query).await.gql()?;
    let edges: Vec<RecipeEdge> = page
        .recipes
        .into_iter()
        .zip(page.ranks)
        .map(|(full, rank)| RecipeEdge {
            cursor: encode_cursor(full.recipe.sort_value(key, rank), full.recipe.id),
            node: full.into(),
        })
        .collect();
    Ok(RecipeConnection {
        page_info: PageInfo {
            has_next_page: page.has_next,
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        },
        edges,
        // Counted only when selected: unselected, the value is never sent.
        total_count: page.total.unwrap_or_default(),
        server_time,
    })
}
