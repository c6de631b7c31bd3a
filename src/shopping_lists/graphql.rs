//! The shopping slice of the GraphQL schema: lists computed from a plan, saved lists and their items.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, ResultExt as _, SimpleObject};
use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::merge::{is_metric, merge, Line, Need};
use std::collections::HashMap;

use super::model::{self, Item, ItemText, NewItem, PlannedIngredient, ShoppingList, MAX_ITEMS, MAX_LISTS};
use crate::error::{deleted, AppError, AppResult, GqlResult as _};
use crate::meal_plans::{days, plan_for, planned_on, range, MealPlan};
use crate::recipes::parser::{parse_line, MAX_LINE_CHARS, UNITS};
use crate::recipes::quantity::Quantity;
use crate::recipes::{decimal, decimal_text, PageInfo, RecipeSummaryRow};
use crate::resolver::date::Date;
use crate::resolver::{conn, paging, viewer_id};
use crate::text::{self, Lines};

const MAX_NAME: usize = 255;
const MAX_TEXT: usize = 500;
const DEFAULT_PAGE: i32 = 10;
const MAX_PAGE: i32 = 20;

/// A line to buy. `quantity` is exact decimal text, `quantityDisplay` how a cook writes it ("1½").
#[derive(SimpleObject)]
#[graphql(name = "ShoppingListLine")]
pub struct LineView {
    pub quantity: Option<String>,
    pub quantity_display: Option<String>,
    /// Unit code (`g`, `cup`, `clove`, …); null for a count or no quantity.
    pub unit: Option<String>,
    pub unit_display: Option<String>,
    pub item: String,
    /// Titles of the recipes this line comes from, in plan order.
    pub from_recipes: Vec<String>,
    pub recipe_ids: Vec<Uuid>,
}

impl LineView {
    fn new(quantity: Option<Quantity>, unit: Option<String>, item: String, recipes: Vec<(Uuid, String)>) -> Self {
        let unit_display = unit
            .as_deref()
            .and_then(|code| UNITS.iter().find(|u| u.code == code))
            .map(|u| u.display.to_owned());
        let (recipe_ids, from_recipes) = recipes.into_iter().unzip();
        Self {
            quantity: quantity.map(|q| q.to_decimal()),
            quantity_display: quantity.map(|q| match unit.as_deref().is_some_and(is_metric) {
                true => q.plain(),
                false => q.to_string(),
            }),
            unit,
            unit_display,
            item,
            from_recipes,
            recipe_ids,
        }
    }
}

impl From<Line> for LineView {
    fn from(line: Line) -> Self {
        Self::new(line.quantity, line.unit.map(str::to_owned), line.item, line.recipes)
    }
}

/// A saved list's item.
#[derive(SimpleObject)]
#[graphql(name = "ShoppingListItem")]
pub struct ItemView {
    pub id: Uuid,
    pub list_id: Uuid,
    pub position: i32,
    #[graphql(flatten)]
    pub line: LineView,
    pub note: Option<String>,
    pub checked: bool,
    /// Increases when the item's text changes (not when it is checked).
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

impl From<Item> for ItemView {
    fn from(i: Item) -> Self {
        let quantity = i.quantity.as_ref().and_then(quantity);
        let recipes = i
            .recipe_ids
            .into_iter()
            .zip(i.recipe_titles)
            .filter_map(|(id, title)| Some((id?, title?)))
            .collect();
        Self {
            id: i.id,
            list_id: i.list_id,
            position: i.position,
            line: LineView::new(quantity, i.unit, i.item, recipes),
            note: i.note,
            checked: i.checked,
            version: i.version,
            updated_at: i.updated_at,
        }
    }
}

/// A saved shopping list.
#[derive(SimpleObject)]
#[graphql(name = "ShoppingList")]
pub struct ListView {
    pub id: Uuid,
    pub name: String,
    /// The household it is shared with; null for a personal list.
    pub household_id: Option<Uuid>,
    /// Increases with every change of its items (added, edited, ticked, removed): a client that holds
    /// version N and is told of N + 1 missed nothing; told of more, it reloads the list.
    pub version: i32,
    pub from: Date,
    pub to: Date,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// In order.
    pub items: Vec<ItemView>,
}

impl ListView {
    pub(super) fn new(list: ShoppingList, items: &mut Vec<Item>) -> Self {
        let (mine, rest): (Vec<Item>, Vec<Item>) =
            std::mem::take(items).into_iter().partition(|i| i.list_id == list.id);
        *items = rest;
        Self {
            id: list.id,
            name: list.name,
            household_id: list.household_id,
            version: list.version,
            from: list.from_date.into(),
            to: list.to_date.into(),
            created_at: list.created_at,
            updated_at: list.updated_at,
            items: mine.into_iter().map(Into::into).collect(),
        }
    }
}

/// What a date range of a plan needs, computed now (not saved).
#[derive(SimpleObject)]
pub struct ShoppingListPreview {
    pub from: Date,
    pub to: Date,
    /// The plan it was computed from; null when there was no active plan.
    pub plan_id: Option<Uuid>,
    /// By item.
    pub lines: Vec<LineView>,
}

#[derive(SimpleObject)]
pub struct ShoppingListConnection {
    pub edges: Vec<ShoppingListEdge>,
    pub page_info: PageInfo,
}

#[derive(SimpleObject)]
pub struct ShoppingListEdge {
    pub cursor: String,
    pub node: ListView,
}

/// Changes to an item's text; absent fields stay, `null` clears.
#[derive(InputObject)]
pub struct ShoppingListItemPatch {
    /// Decimal text ≥ 0.
    pub quantity: MaybeUndefined<String>,
    /// A unit code from `parseIngredients`.
    pub unit: MaybeUndefined<String>,
    pub item: Option<String>,
    pub note: MaybeUndefined<String>,
}

/// A stored decimal as the exact quantity it was written as (0.3333 → ⅓, so that three thirds make one).
fn quantity(value: &BigDecimal) -> Option<Quantity> {
    Quantity::parse(&decimal_text(value)).map(Quantity::snapped)
}

/// What the plan's entries from `from` to `to` need, merged. Three statements whatever the range.
async fn compute(
    conn: &mut AsyncPgConnection,
    owner: Uuid,
    plan: Option<&MealPlan>,
    (from, to): (NaiveDate, NaiveDate),
) -> AppResult<Vec<Line>> {
    let Some(plan) = plan else {
        return Ok(Vec::new());
    };
    let entries = MealPlan::entries(conn, owner, &[plan.id], Some((from, to))).await?;
    // Scaling is linear: a recipe planned many times is read once, with the sum of its factors (servings
    // wanted over servings written, 1 when either is unknown), in the order it was first planned.
    let mut batches: Vec<(&RecipeSummaryRow, Quantity)> = Vec::new();
    for entry in days(from, to).flat_map(|day| planned_on(plan, &entries, day).1) {
        let Some(recipe) = &entry.recipe else {
            continue;
        };
        let factor = entry
            .row
            .servings
            .as_ref()
            .and_then(quantity)
            .zip(recipe.servings.as_ref().and_then(quantity))
            .and_then(|(wanted, written)| wanted.checked_div(written))
            .or(Quantity::new(1, 1));
        match batches.iter_mut().find(|(r, _)| r.id == recipe.id) {
            Some((_, total)) => *total = factor.and_then(|f| total.checked_add(f)).unwrap_or(*total),
            None => batches.extend(factor.map(|f| (recipe, f))),
        }
    }
    let recipe_ids: Vec<Uuid> = batches.iter().map(|(r, _)| r.id).collect();
    let mut by_recipe: HashMap<Uuid, Vec<PlannedIngredient>> = HashMap::new();
    for ingredient in model::ingredients(conn, &recipe_ids).await? {
        by_recipe.entry(ingredient.recipe_id).or_default().push(ingredient);
    }
    let needs: Vec<Need> = batches
        .iter()
        .flat_map(|(recipe, factor)| {
            by_recipe.get(&recipe.id).into_iter().flatten().map(move |i| Need {
                item: i.item.clone(),
                quantity: i
                    .quantity_max
                    .as_ref()
                    .or(i.quantity.as_ref())
                    .and_then(quantity)
                    .and_then(|amount| amount.checked_mul(*factor)),
                unit: i.unit.clone(),
                recipe_id: recipe.id,
                recipe_title: recipe.title.clone(),
            })
        })
        .collect();
    Ok(merge(&needs))
}

fn unit(field: &str, code: &str) -> AppResult<String> {
    UNITS
        .iter()
        .find(|u| u.code == code)
        .map(|u| u.code.to_owned())
        .ok_or_else(|| AppError::bad_input(field, "unknown unit code; see parseIngredients"))
}

fn item_text(field: &str, value: &str) -> AppResult<String> {
    text::required(field, value, MAX_TEXT, Lines::Single)
}

/// The saved lists with their items (when `items` is selected): one statement for the items of all.
async fn views(
    conn: &mut AsyncPgConnection,
    owner: Uuid,
    lists: Vec<ShoppingList>,
    with_items: bool,
) -> AppResult<Vec<ListView>> {
    let ids: Vec<Uuid> = lists.iter().map(|l| l.id).collect();
    let mut items = match with_items && !ids.is_empty() {
        true => ShoppingList::items(conn, owner, &ids).await?,
        false => Vec::new(),
    };
    Ok(lists.into_iter().map(|l| ListView::new(l, &mut items)).collect())
}

#[derive(Default)]
pub struct ShoppingListQuery;

#[Object]
impl ShoppingListQuery {
    /// What the planned meals from `from` to `to` (inclusive, at most 62 days) need: every planned recipe's
    /// ingredients scaled to the entry's servings, merged by item and compatible unit (the README has the
    /// conversion table). Of `planId`, or of the active plan. Computed, not saved: `createShoppingList` saves one.
    async fn shopping_list(
        &self,
        ctx: &Context<'_>,
        from: Date,
        to: Date,
        plan_id: Option<Uuid>,
    ) -> async_graphql::Result<ShoppingListPreview> {
        let owner = viewer_id(ctx).extend()?;
        let dates = range(&from, &to).extend()?;
        let mut conn = conn(ctx).await?;
        let plan = plan_for(&mut conn, owner, plan_id).await.extend()?;
        let lines = compute(&mut conn, owner, plan.as_ref(), dates).await.extend()?;
        Ok(ShoppingListPreview {
            from: dates.0.into(),
            to: dates.1.into(),
            plan_id: plan.map(|p| p.id),
            lines: lines.into_iter().map(Into::into).collect(),
        })
    }

    /// The signed-in user's saved lists and those of their households, newest first.
    #[graphql(complexity = "crate::recipes::page_cost(first) * child_complexity")]
    async fn shopping_lists(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 20 (default 10).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ShoppingListConnection> {
        let owner = viewer_id(ctx).extend()?;
        let size = paging::size(first, DEFAULT_PAGE, MAX_PAGE).extend()?;
        let after = paging::after(after.as_deref()).extend()?;
        let mut conn = conn(ctx).await?;
        let rows = ShoppingList::page(&mut conn, owner, after, size as i64 + 1)
            .await
            .gql()?;
        let (lists, has_next_page) = paging::split(rows, size);
        let with_items = ctx.look_ahead().field("edges").field("node").field("items").exists();
        let edges: Vec<ShoppingListEdge> = views(&mut conn, owner, lists, with_items)
            .await
            .extend()?
            .into_iter()
            .map(|node| ShoppingListEdge {
                cursor: node.id.to_string(),
                node,
            })
            .collect();
        Ok(ShoppingListConnection {
            page_info: PageInfo {
                has_next_page,
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
        })
    }

    /// One saved list with its items; another user's (or another household's) is `NOT_FOUND`.
    async fn saved_shopping_list(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<ListView> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        let list = ShoppingList::find(&mut conn, owner, id).await.gql()?;
        let mut items = ShoppingList::items(&mut conn, owner, &[id]).await.gql()?;
        Ok(ListView::new(list, &mut items))
    }
}

#[derive(Default)]
pub struct ShoppingListMutation;

#[Object]
impl ShoppingListMutation {
    /// Saves what `shoppingList(from, to, planId)` computes as a list to tick off (at most 100 lists of 500
    /// items, per person or per household). `name` defaults to the dates. With `householdId` (a household the
    /// user is in) the list is shared with its members, who see and tick it live.
    async fn create_shopping_list(
        &self,
        ctx: &Context<'_>,
        from: Date,
        to: Date,
        name: Option<String>,
        plan_id: Option<Uuid>,
        household_id: Option<Uuid>,
    ) -> async_graphql::Result<ListView> {
        let owner = viewer_id(ctx).extend()?;
        let dates = range(&from, &to).extend()?;
        let name = match text::optional("name", name.as_deref(), MAX_NAME, Lines::Single).extend()? {
            Some(name) => name,
            None => format!("{} – {}", dates.0, dates.1),
        };
        let mut conn = conn(ctx).await?;
        let plan = plan_for(&mut conn, owner, plan_id).await.extend()?;
        let lines = compute(&mut conn, owner, plan.as_ref(), dates).await.extend()?;
        if lines.len() > usize::try_from(MAX_ITEMS).unwrap_or(0) {
            return Err(AppError::bad_input(
                "to",
                format!("more than {MAX_ITEMS} lines: choose fewer days"),
            ))
            .extend();
        }
        let items: Vec<NewItem> = lines
            .into_iter()
            .map(|line| NewItem {
                text: ItemText {
                    quantity: line.quantity.and_then(|q| q.to_decimal().parse().ok()),
                    unit: line.unit.map(str::to_owned),
                    item: line.item,
                    note: None,
                },
                recipes: line.recipes,
            })
            .collect();
        let list = ShoppingList::create(&mut conn, owner, household_id, name, dates, items)
            .await
            .gql()?
            .ok_or_else(|| AppError::QuotaExceeded(format!("at most {MAX_LISTS} shopping lists each")))
            .extend()?;
        let mut items = ShoppingList::items(&mut conn, owner, &[list.id]).await.gql()?;
        Ok(ListView::new(list, &mut items))
    }

    /// Deletes a saved list with its items. Returns true.
    async fn delete_shopping_list(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<bool> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        deleted(ShoppingList::delete(&mut conn, owner, id).await.gql()?)
    }

    /// Adds an item to a saved list from a line of text ("2 lemons", "500 g flour"), parsed like an
    /// ingredient line.
    async fn add_shopping_list_item(
        &self,
        ctx: &Context<'_>,
        list_id: Uuid,
        text: String,
    ) -> async_graphql::Result<ItemView> {
        let owner = viewer_id(ctx).extend()?;
        let line = text::required("text", &text, MAX_LINE_CHARS, Lines::Single).extend()?;
        let parsed = parse_line(&line);
        let text = ItemText {
            quantity: parsed.quantity.and_then(|q| q.to_decimal().parse().ok()),
            unit: parsed.unit.map(|u| u.code.to_owned()),
            item: item_text("text", &parsed.item)
                .map_err(|_| AppError::bad_input("text", "say what to buy"))
                .extend()?,
            note: parsed.note,
        };
        let mut conn = conn(ctx).await?;
        let item = ShoppingList::add_item(&mut conn, owner, list_id, text)
            .await
            .gql()?
            .ok_or_else(|| AppError::QuotaExceeded(format!("a list holds at most {MAX_ITEMS} items")))
            .extend()?;
        Ok(item.into())
    }

    /// Changes an item's quantity, unit, name or note if it is still at `expectedVersion`; otherwise
    /// `CONFLICT` and nothing is written, so an edit made offline never overwrites a newer one.
    async fn update_shopping_list_item(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: i32,
        patch: ShoppingListItemPatch,
    ) -> async_graphql::Result<ItemView> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        let current = ShoppingList::item(&mut conn, owner, id).await.gql()?;
        let text = ItemText {
            quantity: match &patch.quantity {
                MaybeUndefined::Undefined => current.quantity,
                MaybeUndefined::Null => None,
                MaybeUndefined::Value(q) => decimal("patch.quantity", Some(q), false).extend()?,
            },
            unit: match &patch.unit {
                MaybeUndefined::Undefined => current.unit,
                MaybeUndefined::Null => None,
                MaybeUndefined::Value(u) => Some(unit("patch.unit", u).extend()?),
            },
            item: match &patch.item {
                Some(item) => item_text("patch.item", item).extend()?,
                None => current.item,
            },
            note: match &patch.note {
                MaybeUndefined::Undefined => current.note,
                MaybeUndefined::Null => None,
                MaybeUndefined::Value(n) => text::optional("patch.note", Some(n), MAX_TEXT, Lines::Single).extend()?,
            },
        };
        match ShoppingList::update_item(&mut conn, owner, id, expected_version, text)
            .await
            .gql()?
        {
            Some(item) => Ok(item.into()),
            None => Err(AppError::Conflict(format!(
                "the item has changed since version {expected_version}; reload it and apply your change again"
            )))
            .extend(),
        }
    }

    /// Ticks an item off (`checked: false` puts it back). Idempotent: ticking twice, or from two phones at
    /// once, leaves it ticked.
    async fn check_shopping_list_item(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        #[graphql(default = true)] checked: bool,
    ) -> async_graphql::Result<ItemView> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        Ok(ShoppingList::check_item(&mut conn, owner, id, checked)
            .await
            .gql()?
            .into())
    }

    /// Removes an item from a saved list. Returns true.
    async fn remove_shopping_list_item(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<bool> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        deleted(ShoppingList::remove_item(&mut conn, owner, id).await.gql()?)
    }
}
