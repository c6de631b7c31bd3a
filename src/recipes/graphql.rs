//! The catalogue's slice of the GraphQL schema.

use async_graphql::{Context, Object, ResultExt as _, SimpleObject};
use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::input::{
    validate, validate_patch, CreateRecipeInput, RecipeFilter, RecipePatch, RecipeSort, RecipeSortField, SortDirection,
    SourceType, Visibility,
};
use super::listing::{CollectionScope, ListQuery, SortKey, SortValue};
use super::model::{FullRecipe, Ingredient, Recipe, Step};
use super::parser::{parse_line, ParsedIngredient, MAX_LINE_CHARS, UNITS};
use super::quantity::Quantity;
use std::sync::Arc;

use crate::error::{AppError, GqlResult as _};
use crate::media::{HeldImage, ImageView, Media, MediaService, StoredImage};
use crate::resolver::{conn, viewer_id};
use crate::tags::{Tag, TagView};

/// Lines per `parseIngredients` call (the catalogue's own per-recipe limit).
pub const MAX_LINES: usize = 200;

/// One ingredient line, structured. `originalText` is always the line as given.
#[derive(SimpleObject)]
#[graphql(name = "ParsedIngredient")]
pub struct ParsedIngredientView {
    /// Exact decimal text ("1.5"; non-terminating fractions to four places, "0.3333"); null when none.
    pub quantity: Option<String>,
    /// Upper end of a range ("2–3 cloves" → 3).
    pub quantity_max: Option<String>,
    /// How a cook writes the quantity: "1½", "⅓", "2–3".
    pub quantity_display: Option<String>,
    /// Canonical unit code (`tsp`, `tbsp`, `cup`, `fl_oz`, `ml`, `g`, `kg`, `oz`, `lb`, `clove`, …).
    pub unit: Option<String>,
    /// Unit as displayed ("fl oz").
    pub unit_display: Option<String>,
    pub item: String,
    pub note: Option<String>,
    pub original_text: String,
}

impl From<ParsedIngredient> for ParsedIngredientView {
    fn from(p: ParsedIngredient) -> Self {
        let display = p.quantity.map(|q| match p.quantity_max {
            Some(max) => format!("{q}–{max}"),
            None => q.to_string(),
        });
        Self {
            quantity: p.quantity.map(|q| q.to_decimal()),
            quantity_max: p.quantity_max.map(|q| q.to_decimal()),
            quantity_display: display,
            unit: p.unit.map(|u| u.code.to_owned()),
            unit_display: p.unit.map(|u| u.display.to_owned()),
            item: p.item,
            note: p.note,
            original_text: p.original_text,
        }
    }
}

/// A recipe with its ingredients and steps.
#[derive(SimpleObject)]
#[graphql(name = "Recipe", complex)]
pub struct RecipeView {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub prep_minutes: Option<i32>,
    pub cook_minutes: Option<i32>,
    pub total_minutes: Option<i32>,
    /// Decimal text ("4", "2.5").
    pub servings: Option<String>,
    pub yield_text: Option<String>,
    pub source_type: SourceType,
    pub source_url: Option<String>,
    pub visibility: Visibility,
    /// Increases with every change (optimistic concurrency).
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub stored_ingredients: Vec<Ingredient>,
    pub steps: Vec<StepView>,
    /// By name.
    pub tags: Vec<TagView>,
    #[graphql(skip)]
    pub stored_images: Vec<StoredImage>,
}

#[async_graphql::ComplexObject]
impl RecipeView {
    /// In order. With `scaleTo` (servings, decimal text), quantities are scaled exactly from the recipe's
    /// servings ("1½ cups" for 4 → "2¼ cups" for 6).
    async fn ingredients(&self, scale_to: Option<String>) -> async_graphql::Result<Vec<IngredientView>> {
        let factor = match scale_to {
            None => None,
            Some(target) => {
                let target = Quantity::parse(&target)
                    .filter(|t| t.to_decimal() != "0")
                    .ok_or_else(|| AppError::bad_input("scaleTo", "scaleTo must be a decimal number greater than 0"))
                    .extend()?;
                let servings = self
                    .servings
                    .as_deref()
                    .and_then(Quantity::parse)
                    .ok_or_else(|| AppError::bad_input("scaleTo", "this recipe has no servings to scale from"))
                    .extend()?;
                target.checked_div(servings)
            }
        };
        Ok(self
            .stored_ingredients
            .iter()
            .map(|i| IngredientView::new(i.clone(), factor))
            .collect())
    }

    /// Promoted photos in order. URLs are signed and expire unless the recipe is `PUBLIC`.
    async fn images(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ImageView>> {
        let media = ctx.data::<Arc<MediaService>>()?;
        Ok(ImageView::all(
            &self.stored_images,
            self.visibility == Visibility::Public,
            media,
        ))
    }

    /// Your uploads to this recipe that are held in quarantine for review (empty for anyone but the owner).
    async fn held_images(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<HeldImage>> {
        let Ok(viewer) = viewer_id(ctx) else {
            return Ok(Vec::new());
        };
        let mut conn = conn(ctx).await?;
        let held = Media::held_for(&mut conn, viewer, self.id).await.gql()?;
        Ok(held.into_iter().map(Into::into).collect())
    }

    /// The image chosen with `setRecipeCoverImage`, else the first one.
    async fn cover_image(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ImageView>> {
        let media = ctx.data::<Arc<MediaService>>()?;
        let images = ImageView::all(&self.stored_images, self.visibility == Visibility::Public, media);
        Ok(images.into_iter().find(|i| i.is_cover))
    }
}

/// A stored ingredient: its place in the recipe plus the same fields `parseIngredients` returns.
#[derive(SimpleObject)]
#[graphql(name = "Ingredient")]
pub struct IngredientView {
    pub id: Uuid,
    pub position: i32,
    pub section: Option<String>,
    #[graphql(flatten)]
    pub parts: ParsedIngredientView,
}

#[derive(SimpleObject)]
#[graphql(name = "Step")]
pub struct StepView {
    pub id: Uuid,
    pub position: i32,
    pub section: Option<String>,
    pub text: String,
}

/// Plain decimal text without trailing zeros ("200", "1.5"); stored values have at most 4 places.
pub fn decimal_text(value: &BigDecimal) -> String {
    let text = value.with_scale(4).to_string();
    match text.split_once('.') {
        Some((whole, frac)) if frac.trim_end_matches('0').is_empty() => whole.to_owned(),
        Some((whole, frac)) => format!("{whole}.{}", frac.trim_end_matches('0')),
        None => text,
    }
}

impl IngredientView {
    /// A stored ingredient, its quantities multiplied by `factor` when scaling.
    fn new(i: Ingredient, factor: Option<Quantity>) -> Self {
        let scale = |v: &BigDecimal| {
            let q = Quantity::parse(&decimal_text(v))?;
            factor.map_or(Some(q), |f| q.checked_mul(f))
        };
        let (low, high) = (
            i.quantity.as_ref().and_then(scale),
            i.quantity_max.as_ref().and_then(scale),
        );
        let quantity_display = low.map(|low| match high {
            Some(high) => format!("{low}–{high}"),
            None => low.to_string(),
        });
        let unit_display = i
            .unit
            .as_deref()
            .and_then(|code| UNITS.iter().find(|u| u.code == code))
            .map(|u| u.display.to_owned());
        Self {
            id: i.id,
            position: i.position,
            section: i.section,
            parts: ParsedIngredientView {
                quantity_display,
                quantity: low.map(|q| q.to_decimal()),
                quantity_max: high.map(|q| q.to_decimal()),
                unit: i.unit,
                unit_display,
                item: i.item,
                note: i.note,
                original_text: i.original_text,
            },
        }
    }
}

impl From<Step> for StepView {
    fn from(s: Step) -> Self {
        Self {
            id: s.id,
            position: s.position,
            section: s.section,
            text: s.text,
        }
    }
}

impl From<FullRecipe> for RecipeView {
    fn from(full: FullRecipe) -> Self {
        let r: Recipe = full.recipe;
        Self {
            id: r.id,
            title: r.title,
            description: r.description,
            prep_minutes: r.prep_minutes,
            cook_minutes: r.cook_minutes,
            total_minutes: r.total_minutes,
            servings: r.servings.as_ref().map(decimal_text),
            yield_text: r.yield_text,
            source_type: SourceType::from_db(&r.source_type),
            source_url: r.source_url,
            visibility: Visibility::from_db(&r.visibility),
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
            stored_ingredients: full.ingredients,
            tags: full.tags.iter().map(TagView::from).collect(),
            steps: full.steps.into_iter().map(Into::into).collect(),
            stored_images: full.images,
        }
    }
}

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

/// One page of the viewer's recipes: the engine behind `recipes` and `Collection.recipes` (`scope` set).
pub async fn list_recipes(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    filter: RecipeFilter,
    sort: RecipeSort,
    scope: Option<CollectionScope>,
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

#[derive(Default)]
pub struct RecipeQuery;

#[Object]
impl RecipeQuery {
    /// A recipe its owner shared (`PUBLIC` or `UNLISTED`); no sign-in needed. Private ones are `NOT_FOUND`.
    async fn public_recipe(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<RecipeView> {
        let mut conn = conn(ctx).await?;
        let full = Recipe::find_shared(&mut conn, id).await.gql()?;
        Ok(full.into())
    }

    /// The signed-in user's recipes, a page at a time, in a stable order (ties broken by id).
    /// Complexity: the selection below costs once per 10 recipes requested, so a 20-recipe page of full
    /// recipes fits the budget of 200 and a 100-recipe page of full recipes does not.
    #[graphql(complexity = "page_cost(first) * child_complexity")]
    async fn recipes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
        filter: Option<RecipeFilter>,
        sort: Option<RecipeSort>,
    ) -> async_graphql::Result<RecipeConnection> {
        list_recipes(
            ctx,
            first,
            after,
            filter.unwrap_or_default(),
            sort.unwrap_or_default(),
            None,
        )
        .await
    }

    /// One of the signed-in user's recipes. Another user's recipe is `NOT_FOUND`, exactly like a missing one.
    async fn recipe(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<RecipeView> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        let full = Recipe::find_full(&mut conn, owner, id).await.gql()?;
        Ok(full.into())
    }

    /// Turns free-text ingredient lines ("1 1/2 cups flour, sifted") into structured ingredients,
    /// in order. At most 200 lines of 500 characters.
    async fn parse_ingredients(&self, lines: Vec<String>) -> async_graphql::Result<Vec<ParsedIngredientView>> {
        if lines.len() > MAX_LINES {
            return Err(AppError::bad_input("lines", format!("at most {MAX_LINES} lines"))).extend();
        }
        if let Some(i) = lines.iter().position(|l| l.chars().count() > MAX_LINE_CHARS) {
            return Err(AppError::bad_input(
                format!("lines.{i}"),
                format!("a line may have at most {MAX_LINE_CHARS} characters"),
            ))
            .extend();
        }
        Ok(lines.iter().map(|l| parse_line(l).into()).collect())
    }
}

#[derive(Default)]
pub struct RecipeMutation;

#[Object]
impl RecipeMutation {
    /// Creates a recipe for the signed-in user. Ingredients may be raw lines (parsed here) or structured.
    async fn create_recipe(&self, ctx: &Context<'_>, input: CreateRecipeInput) -> async_graphql::Result<RecipeView> {
        let owner = viewer_id(ctx).extend()?;
        let (recipe, ingredients, steps) = validate(owner, &input).extend()?;
        let mut conn = conn(ctx).await?;
        let full = Recipe::create(&mut conn, recipe, ingredients, steps).await.gql()?;
        Ok(full.into())
    }

    /// Changes a recipe if it is still at `expectedVersion`; otherwise `CONFLICT` and nothing is written, so a
    /// stale offline edit never overwrites a newer one.
    async fn update_recipe(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: i32,
        patch: RecipePatch,
    ) -> async_graphql::Result<RecipeView> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        let current = Recipe::find(&mut conn, owner, id).await.gql()?;
        let valid = validate_patch(&current, &patch).extend()?;
        match Recipe::update(&mut conn, owner, id, expected_version, valid)
            .await
            .gql()?
        {
            Some(full) => Ok(full.into()),
            None => Err(AppError::Conflict(format!(
                "the recipe has changed since version {expected_version}; reload it and apply your change again"
            )))
            .extend(),
        }
    }

    /// Replaces a recipe's tags with those named (at most 50), creating tags the user does not have yet;
    /// names match existing tags regardless of case.
    async fn set_recipe_tags(
        &self,
        ctx: &Context<'_>,
        recipe_id: Uuid,
        names: Vec<String>,
    ) -> async_graphql::Result<RecipeView> {
        let owner = viewer_id(ctx).extend()?;
        if names.len() > MAX_TAGS {
            return Err(AppError::bad_input("names", format!("at most {MAX_TAGS} tags"))).extend();
        }
        let mut unique: Vec<String> = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let name = crate::tags::tag_name(&format!("names.{i}"), name).extend()?;
            if !unique.iter().any(|u| u.to_lowercase() == name.to_lowercase()) {
                unique.push(name);
            }
        }
        let mut conn = conn(ctx).await?;
        Tag::set_for_recipe(&mut conn, owner, recipe_id, &unique).await.gql()?;
        let full = Recipe::find_full(&mut conn, owner, recipe_id).await.gql()?;
        Ok(full.into())
    }

    /// A private copy of one of the signed-in user's recipes, ingredients and steps included.
    async fn duplicate_recipe(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<RecipeView> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        let copy = Recipe::duplicate(&mut conn, owner, id).await.gql()?;
        Ok(copy.into())
    }

    /// Deletes one of the signed-in user's recipes with its ingredients and steps. Returns true.
    async fn delete_recipe(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<bool> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        if !Recipe::delete(&mut conn, owner, id).await.gql()? {
            return Err(AppError::NotFound).extend();
        }
        // The recipe's images went with it; their files go now rather than at the next maintenance run.
        ctx.data::<Arc<MediaService>>()?.collect_garbage(&mut conn).await;
        Ok(true)
    }
}
