//! Validating recipe input before the database sees it: every refusal names its field path
//! (`input.ingredients.3.item`), so the client can point at it.

use std::str::FromStr as _;

use async_graphql::{Enum, InputObject, MaybeUndefined};
use bigdecimal::BigDecimal;
use uuid::Uuid;

use super::model::{ingredient_text, Ingredient, NewRecipe, RecipeChangeset, Step, ValidPatch};
use super::parser::{parse_line, UNITS};
use super::quantity::Quantity;
use crate::error::{AppError, AppResult};
use crate::text::Lines;

pub const MAX_TITLE: usize = 200;
pub const MAX_DESCRIPTION: usize = 10_000;
pub const MAX_INGREDIENTS: usize = 200;
pub const MAX_STEPS: usize = 200;
pub const MAX_STEP_TEXT: usize = 5_000;
pub const MAX_MINUTES: i32 = 100_000;
const MAX_SHORT_TEXT: usize = 200;
const MAX_INGREDIENT_TEXT: usize = 500;
const MAX_URL: usize = 2_048;

#[derive(Enum, Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum SourceType {
    #[default]
    Manual,
    Website,
    Instagram,
    Image,
}

#[derive(Enum, Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Visibility {
    /// Only the owner sees it.
    #[default]
    Private,
    /// Anyone with the link.
    Unlisted,
    Public,
}

macro_rules! db_text {
    ($ty:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $ty {
            pub fn as_db(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }

            pub fn from_db(text: &str) -> Self {
                match text { $($text => Self::$variant,)* _ => Self::default() }
            }
        }
    };
}

db_text!(SourceType { Manual => "MANUAL", Website => "WEBSITE", Instagram => "INSTAGRAM", Image => "IMAGE" });
db_text!(Visibility { Private => "PRIVATE", Unlisted => "UNLISTED", Public => "PUBLIC" });

/// Narrows `recipes`; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct RecipeFilter {
    /// Full-text search over title and description (web-search syntax: words, "phrases", -exclusions).
    pub text: Option<String>,
    pub max_total_minutes: Option<i32>,
    pub source_type: Option<SourceType>,
    /// Only recipes changed at or after this instant (PWA delta sync; compare with `serverTime`).
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
    pub tags: Option<TagFilter>,
    /// A collection id, or `UNCOLLECTED` for recipes in no collection.
    pub collection: Option<String>,
    /// Recipes with an ingredient whose item contains this text (case-insensitive).
    pub ingredient: Option<String>,
}

/// Tag conditions, by tag id (the viewer's tags only).
#[derive(InputObject, Default)]
pub struct TagFilter {
    /// At least one of these.
    #[graphql(default)]
    pub any: Vec<Uuid>,
    /// All of these.
    #[graphql(default)]
    pub all: Vec<Uuid>,
    /// None of these.
    #[graphql(default)]
    pub none: Vec<Uuid>,
}

#[derive(Enum, Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum RecipeSortField {
    #[default]
    UpdatedAt,
    CreatedAt,
    Title,
    TotalTime,
    /// Best match first; needs `filter.text`.
    Relevance,
}

#[derive(Enum, Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum SortDirection {
    Asc,
    #[default]
    Desc,
}

#[derive(InputObject, Default)]
pub struct RecipeSort {
    #[graphql(default)]
    pub field: RecipeSortField,
    #[graphql(default)]
    pub direction: SortDirection,
}

#[derive(InputObject)]
pub struct CreateRecipeInput {
    /// 1 to 200 characters.
    pub title: String,
    /// At most 10 000 characters; plain text, never rendered as HTML.
    pub description: Option<String>,
    pub prep_minutes: Option<i32>,
    pub cook_minutes: Option<i32>,
    /// Derived as prep + cook when not given.
    pub total_minutes: Option<i32>,
    /// Decimal text greater than 0 ("4", "2.5").
    pub servings: Option<String>,
    pub yield_text: Option<String>,
    #[graphql(default)]
    pub source_type: SourceType,
    /// http or https only.
    pub source_url: Option<String>,
    #[graphql(default)]
    pub visibility: Visibility,
    /// At most 200, in order.
    #[graphql(default)]
    pub ingredients: Vec<IngredientInput>,
    /// At most 200, in order.
    #[graphql(default)]
    pub steps: Vec<StepInput>,
    /// A household the user is in, to share the recipe there (its members read and change it); the user's own
    /// recipe when omitted. Another id is `NOT_FOUND`.
    pub household_id: Option<Uuid>,
}

/// Either a raw `line` ("1 1/2 cups flour, sifted"), parsed on the server, or structured fields; structured
/// fields given alongside a line override what the parser found.
#[derive(InputObject)]
pub struct IngredientInput {
    pub line: Option<String>,
    pub section: Option<String>,
    /// Decimal text ≥ 0.
    pub quantity: Option<String>,
    pub quantity_max: Option<String>,
    /// A unit code from `parseIngredients` (`tsp`, `g`, `fl_oz`, …).
    pub unit: Option<String>,
    pub item: Option<String>,
    pub note: Option<String>,
}

impl IngredientInput {
    /// A raw line, parsed on the server.
    pub fn line(line: String) -> Self {
        Self {
            line: Some(line),
            section: None,
            quantity: None,
            quantity_max: None,
            unit: None,
            item: None,
            note: None,
        }
    }
}

#[derive(InputObject)]
pub struct StepInput {
    /// 1 to 5 000 characters.
    pub text: String,
    pub section: Option<String>,
}

/// Recipe fields keep their rule from before the shared `text` module: newlines and tabs allowed in each.
fn text(field: &str, value: Option<&str>, max: usize) -> AppResult<Option<String>> {
    crate::text::optional(field, value, max, Lines::Multi)
}

fn required(field: &str, value: &str, max: usize) -> AppResult<String> {
    crate::text::required(field, value, max, Lines::Multi)
}

fn minutes(field: &str, value: Option<i32>) -> AppResult<Option<i32>> {
    match value {
        Some(m) if !(0..=MAX_MINUTES).contains(&m) => Err(AppError::bad_input(
            field,
            format!("{field} must be between 0 and {MAX_MINUTES}"),
        )),
        other => Ok(other),
    }
}

/// A decimal ≥ 0 (or > 0 when `positive`) with at most 4 decimal places and a sane size.
/// Decimal text (`"2.5"`, `"1/3"`) as a stored decimal; `positive` refuses zero. Errors name `field`.
pub fn decimal(field: &str, value: Option<&str>, positive: bool) -> AppResult<Option<BigDecimal>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let parsed = Quantity::parse(value)
        .filter(|q| !positive || q.to_decimal() != "0")
        .ok_or_else(|| {
            AppError::bad_input(
                field,
                format!(
                    "{field} must be a decimal number{}",
                    if positive { " greater than 0" } else { "" }
                ),
            )
        })?;
    Ok(BigDecimal::from_str(&parsed.to_decimal()).ok())
}

fn url(field: &str, value: Option<&str>) -> AppResult<Option<String>> {
    let Some(value) = text(field, value, MAX_URL)? else {
        return Ok(None);
    };
    let lower = value.to_ascii_lowercase();
    let host = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
    if host.is_none_or(|h| h.is_empty() || h.starts_with('/')) || value.chars().any(char::is_whitespace) {
        return Err(AppError::bad_input(
            field,
            format!("{field} must be an http or https URL"),
        ));
    }
    Ok(Some(value))
}

fn ingredient(prefix: &str, index: usize, input: &IngredientInput, recipe_id: Uuid) -> AppResult<Ingredient> {
    let field = |name: &str| format!("{prefix}.ingredients.{index}.{name}");
    let line = text(&field("line"), input.line.as_deref(), MAX_INGREDIENT_TEXT)?;
    let parsed = line.as_deref().map(parse_line);
    let unit = match text(&field("unit"), input.unit.as_deref(), 32)? {
        Some(code) => Some(
            UNITS
                .iter()
                .find(|u| u.code == code)
                .map(|u| u.code.to_owned())
                .ok_or_else(|| AppError::bad_input(field("unit"), format!("unknown unit `{code}`")))?,
        ),
        None => parsed.as_ref().and_then(|p| p.unit).map(|u| u.code.to_owned()),
    };
    let to_decimal = |q: Option<Quantity>| q.and_then(|q| BigDecimal::from_str(&q.to_decimal()).ok());
    let quantity = match decimal(&field("quantity"), input.quantity.as_deref(), false)? {
        Some(q) => Some(q),
        None => to_decimal(parsed.as_ref().and_then(|p| p.quantity)),
    };
    let quantity_max = match decimal(&field("quantityMax"), input.quantity_max.as_deref(), false)? {
        Some(q) => Some(q),
        None => to_decimal(parsed.as_ref().and_then(|p| p.quantity_max)),
    };
    if let (Some(min), Some(max)) = (&quantity, &quantity_max) {
        if max < min {
            return Err(AppError::bad_input(
                field("quantityMax"),
                "quantityMax must not be less than quantity",
            ));
        }
    }
    let item = match text(&field("item"), input.item.as_deref(), MAX_INGREDIENT_TEXT)? {
        Some(item) => item,
        None => parsed.as_ref().map(|p| p.item.clone()).unwrap_or_default(),
    };
    let note = match text(&field("note"), input.note.as_deref(), MAX_INGREDIENT_TEXT)? {
        Some(note) => Some(note),
        None => parsed.as_ref().and_then(|p| p.note.clone()),
    };
    if item.is_empty() && line.is_none() {
        return Err(AppError::bad_input(
            field("item"),
            "an ingredient needs a line or an item",
        ));
    }
    let original_text = line.unwrap_or_else(|| {
        let parts = [input.quantity.as_deref(), unit.as_deref(), Some(item.as_str())];
        let base = parts
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        note.as_ref().map_or(base.clone(), |n| format!("{base}, {n}"))
    });
    Ok(Ingredient {
        id: Uuid::now_v7(),
        recipe_id,
        position: i32::try_from(index).unwrap_or(i32::MAX),
        section: text(&field("section"), input.section.as_deref(), MAX_SHORT_TEXT)?,
        quantity,
        quantity_max,
        unit,
        item,
        note,
        original_text: original_text.chars().take(MAX_INGREDIENT_TEXT).collect(),
    })
}

/// Checks everything and builds the rows to insert.
/// Ingredient rows for `recipe_id`, in order (`prefix` is `input` or `patch`, for field paths).
fn ingredients_of(prefix: &str, recipe_id: Uuid, inputs: &[IngredientInput]) -> AppResult<Vec<Ingredient>> {
    if inputs.len() > MAX_INGREDIENTS {
        return Err(AppError::bad_input(
            format!("{prefix}.ingredients"),
            format!("at most {MAX_INGREDIENTS} ingredients"),
        ));
    }
    inputs
        .iter()
        .enumerate()
        .map(|(i, ing)| ingredient(prefix, i, ing, recipe_id))
        .collect()
}

/// Step rows for `recipe_id`, in order.
fn steps_of(prefix: &str, recipe_id: Uuid, inputs: &[StepInput]) -> AppResult<Vec<Step>> {
    if inputs.len() > MAX_STEPS {
        return Err(AppError::bad_input(
            format!("{prefix}.steps"),
            format!("at most {MAX_STEPS} steps"),
        ));
    }
    inputs
        .iter()
        .enumerate()
        .map(|(i, step)| {
            Ok(Step {
                id: Uuid::now_v7(),
                recipe_id,
                position: i32::try_from(i).unwrap_or(i32::MAX),
                section: text(
                    &format!("{prefix}.steps.{i}.section"),
                    step.section.as_deref(),
                    MAX_SHORT_TEXT,
                )?,
                text: required(&format!("{prefix}.steps.{i}.text"), &step.text, MAX_STEP_TEXT)?,
            })
        })
        .collect()
}

/// Total time defaults to prep + cook.
fn derived_total(prep: Option<i32>, cook: Option<i32>) -> Option<i32> {
    match (prep, cook) {
        (None, None) => None,
        (p, c) => Some(p.unwrap_or(0) + c.unwrap_or(0)),
    }
}

/// Checks everything and builds the rows to insert.
pub fn validate(owner_id: Uuid, input: &CreateRecipeInput) -> AppResult<(NewRecipe, Vec<Ingredient>, Vec<Step>)> {
    let id = Uuid::now_v7();
    let prep = minutes("input.prepMinutes", input.prep_minutes)?;
    let cook = minutes("input.cookMinutes", input.cook_minutes)?;
    let total = minutes("input.totalMinutes", input.total_minutes)?.or(derived_total(prep, cook));
    let recipe = NewRecipe {
        id,
        owner_id,
        household_id: input.household_id,
        title: required("input.title", &input.title, MAX_TITLE)?,
        description: text("input.description", input.description.as_deref(), MAX_DESCRIPTION)?,
        prep_minutes: prep,
        cook_minutes: cook,
        total_minutes: total,
        servings: decimal("input.servings", input.servings.as_deref(), true)?,
        yield_text: text("input.yieldText", input.yield_text.as_deref(), MAX_SHORT_TEXT)?,
        source_type: input.source_type.as_db().to_owned(),
        source_url: url("input.sourceUrl", input.source_url.as_deref())?,
        visibility: input.visibility.as_db().to_owned(),
        ingredient_text: String::new(),
    };
    let ingredients = ingredients_of("input", id, &input.ingredients)?;
    let steps = steps_of("input", id, &input.steps)?;
    let recipe = NewRecipe {
        ingredient_text: ingredient_text(&ingredients),
        ..recipe
    };
    Ok((recipe, ingredients, steps))
}

/// Changes to a recipe: absent fields stay as they are, `null` clears a nullable field, and `ingredients` or
/// `steps`, when given, replace the whole list.
#[derive(InputObject, Default)]
pub struct RecipePatch {
    pub title: Option<String>,
    pub description: MaybeUndefined<String>,
    pub prep_minutes: MaybeUndefined<i32>,
    pub cook_minutes: MaybeUndefined<i32>,
    /// Re-derived from prep + cook when those change and this is absent.
    pub total_minutes: MaybeUndefined<i32>,
    pub servings: MaybeUndefined<String>,
    pub yield_text: MaybeUndefined<String>,
    pub source_type: Option<SourceType>,
    pub source_url: MaybeUndefined<String>,
    pub visibility: Option<Visibility>,
    pub ingredients: Option<Vec<IngredientInput>>,
    pub steps: Option<Vec<StepInput>>,
}

/// `Some(new value)` for a given field (`Some(None)` for null), `None` when absent.
fn patched<T, U>(
    value: &MaybeUndefined<T>,
    check: impl FnOnce(&T) -> AppResult<Option<U>>,
) -> AppResult<Option<Option<U>>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(v) => check(v).map(Some),
    }
}

/// Checks a patch against the current row and builds the changes.
pub fn validate_patch(current: &super::model::Recipe, patch: &RecipePatch) -> AppResult<ValidPatch> {
    let prep = patched(&patch.prep_minutes, |m| minutes("patch.prepMinutes", Some(*m)))?;
    let cook = patched(&patch.cook_minutes, |m| minutes("patch.cookMinutes", Some(*m)))?;
    let mut total = patched(&patch.total_minutes, |m| minutes("patch.totalMinutes", Some(*m)))?;
    if total.is_none() && (prep.is_some() || cook.is_some()) {
        let prep = prep.unwrap_or(current.prep_minutes);
        let cook = cook.unwrap_or(current.cook_minutes);
        total = Some(derived_total(prep, cook));
    }
    let changes = RecipeChangeset {
        title: patch
            .title
            .as_deref()
            .map(|t| required("patch.title", t, MAX_TITLE))
            .transpose()?,
        description: patched(&patch.description, |d| {
            text("patch.description", Some(d), MAX_DESCRIPTION)
        })?,
        prep_minutes: prep,
        cook_minutes: cook,
        total_minutes: total,
        servings: patched(&patch.servings, |s| decimal("patch.servings", Some(s), true))?,
        yield_text: patched(&patch.yield_text, |y| text("patch.yieldText", Some(y), MAX_SHORT_TEXT))?,
        source_type: patch.source_type.map(|s| s.as_db().to_owned()),
        source_url: patched(&patch.source_url, |u| url("patch.sourceUrl", Some(u)))?,
        visibility: patch.visibility.map(|v| v.as_db().to_owned()),
        ingredient_text: None,
    };
    let ingredients = patch
        .ingredients
        .as_deref()
        .map(|i| ingredients_of("patch", current.id, i))
        .transpose()?;
    let changes = RecipeChangeset {
        ingredient_text: ingredients.as_deref().map(ingredient_text),
        ..changes
    };
    let steps = patch
        .steps
        .as_deref()
        .map(|s| steps_of("patch", current.id, s))
        .transpose()?;
    Ok(ValidPatch {
        changes,
        ingredients,
        steps,
    })
}
