//! How the catalogue looks in the GraphQL schema: recipes, their ingredients and steps, parsed lines.

use async_graphql::{Context, ResultExt as _, SimpleObject};
use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use uuid::Uuid;

use super::input::{SourceType, Visibility};
use super::model::{FullRecipe, Ingredient, Recipe, Step};
use super::parser::{ParsedIngredient, UNITS};
use super::quantity::Quantity;
use crate::error::{AppError, GqlResult as _};
use crate::media::{HeldImage, ImageView, Media, MediaService, StoredImage};
use crate::resolver::{conn, viewer_id};
use crate::tags::TagView;

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
    /// The household it belongs to (its members read and change it); null for the user's own.
    pub household_id: Option<Uuid>,
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
    pub(super) fn new(i: Ingredient, factor: Option<Quantity>) -> Self {
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
            household_id: r.household_id,
            stored_ingredients: full.ingredients,
            tags: full.tags.iter().map(TagView::from).collect(),
            steps: full.steps.into_iter().map(Into::into).collect(),
            stored_images: full.images,
        }
    }
}
