//! The meal-planning slice of the GraphQL schema.

use async_graphql::{Context, MaybeUndefined, Object, ResultExt as _, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::calendar::{days, planned_on, MAX_DAYS};
use super::input::{MealPlanEntryInput, MealPlanInput, MealPlanPatch, MealSlotInput, MealType, Weekday};
use super::model::{Entry, MealPlan, MealPlanChangeset, NewEntry, NewMealPlan, Slot, MAX_ENTRIES, MAX_PLANS};
use crate::error::{deleted, AppError, AppResult, GqlResult as _};
use crate::recipes::{decimal, decimal_text, PageInfo, RecipeSummary};
use crate::resolver::date::Date;
use crate::resolver::{conn, paging, viewer_id};
use crate::text::{self, Lines};

pub const MAX_NAME: usize = 255;
pub const MAX_NOTE: usize = 500;
/// Page sizes for `mealPlans`.
const DEFAULT_PAGE: i32 = 10;
const MAX_PAGE: i32 = 20;

/// A meal in a plan: a recipe or a free-text note, on a date (calendar plans) or on a week of the rotation
/// and a weekday (rotating plans).
#[derive(SimpleObject)]
#[graphql(name = "MealPlanEntry")]
pub struct EntryView {
    pub id: Uuid,
    pub plan_id: Uuid,
    pub date: Option<Date>,
    pub week: Option<i32>,
    pub weekday: Option<Weekday>,
    pub meal: MealType,
    /// Null for a note.
    pub recipe: Option<RecipeSummary>,
    pub note: Option<String>,
    /// Servings to cook (decimal text); null cooks the recipe as written.
    pub servings: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<&Entry> for EntryView {
    fn from(e: &Entry) -> Self {
        Self {
            id: e.row.id,
            plan_id: e.row.plan_id,
            date: e.row.day.map(Date::from),
            week: e.row.week,
            weekday: e.row.weekday.and_then(Weekday::from_number),
            meal: MealType::from_db(&e.row.meal),
            recipe: e.recipe.as_ref().map(Into::into),
            note: e.row.note.clone(),
            servings: e.row.servings.as_ref().map(decimal_text),
            created_at: e.row.created_at,
        }
    }
}

/// A meal plan: a calendar, or a rotation of `weeks` weeks repeated from `startDate` (week 1 is the
/// Monday-to-Sunday week holding the start date). It applies from `startDate` to `endDate` (open-ended when
/// null). At most one plan is active among one's personal plans, and one in each household.
#[derive(SimpleObject)]
#[graphql(name = "MealPlan")]
pub struct MealPlanView {
    pub id: Uuid,
    pub name: String,
    pub start_date: Date,
    pub end_date: Option<Date>,
    /// Null for a calendar plan; 1 to 8 for a rotation.
    pub weeks: Option<i32>,
    pub active: bool,
    /// The household it is shared with; null for a personal plan.
    pub household_id: Option<Uuid>,
    /// Increases with every change to the plan's own fields (optimistic concurrency).
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// By date (or rotation week and weekday), then meal, then when added.
    pub entries: Vec<EntryView>,
}

impl MealPlanView {
    fn new(plan: MealPlan, entries: &[Entry]) -> Self {
        Self {
            entries: entries
                .iter()
                .filter(|e| e.row.plan_id == plan.id)
                .map(Into::into)
                .collect(),
            id: plan.id,
            name: plan.name,
            start_date: plan.start_date.into(),
            end_date: plan.end_date.map(Date::from),
            weeks: plan.weeks,
            active: plan.active,
            household_id: plan.household_id,
            version: plan.version,
            created_at: plan.created_at,
            updated_at: plan.updated_at,
        }
    }
}

/// Plans with their entries when `entries` is selected: one statement for all of them.
pub(super) async fn views(
    conn: &mut AsyncPgConnection,
    owner: Uuid,
    plans: Vec<MealPlan>,
    with_entries: bool,
) -> AppResult<Vec<MealPlanView>> {
    let ids: Vec<Uuid> = plans.iter().map(|p| p.id).collect();
    let entries = match with_entries && !ids.is_empty() {
        true => MealPlan::entries(conn, owner, &ids, None).await?,
        false => Vec::new(),
    };
    Ok(plans.into_iter().map(|p| MealPlanView::new(p, &entries)).collect())
}

async fn view(ctx: &Context<'_>, conn: &mut AsyncPgConnection, owner: Uuid, plan: MealPlan) -> AppResult<MealPlanView> {
    let with_entries = ctx.look_ahead().field("entries").exists();
    let mut one = views(conn, owner, vec![plan], with_entries).await?;
    one.pop().ok_or(AppError::NotFound)
}

#[derive(SimpleObject)]
pub struct MealPlanConnection {
    pub edges: Vec<MealPlanEdge>,
    pub page_info: PageInfo,
    pub total_count: i64,
}

#[derive(SimpleObject)]
pub struct MealPlanEdge {
    pub cursor: String,
    pub node: MealPlanView,
}

/// One calendar day of a plan.
#[derive(SimpleObject)]
pub struct MealPlanDay {
    pub date: Date,
    /// The rotation week this day falls in (rotating plans).
    pub week: Option<i32>,
    /// By meal, then when added.
    pub entries: Vec<EntryView>,
}

fn name(field: &str, value: &str) -> AppResult<String> {
    text::required(field, value, MAX_NAME, Lines::Single)
}

/// The slot an entry may take in `plan`; errors name `prefix.date`, `prefix.week`, `prefix.weekday`.
fn slot(plan: &MealPlan, input: &MealSlotInput, prefix: &str) -> AppResult<Slot> {
    let field = |name: &str| format!("{prefix}.{name}");
    match plan.weeks {
        None => {
            if input.week.is_some() || input.weekday.is_some() {
                return Err(AppError::bad_input(
                    field("week"),
                    "this plan is a calendar: give a date, not a week and weekday",
                ));
            }
            let date_field = field("date");
            let day = input
                .date
                .as_ref()
                .ok_or_else(|| AppError::bad_input(&date_field, "a calendar plan's entries need a date"))?
                .day(&date_field)?;
            if day < plan.start_date || plan.end_date.is_some_and(|end| day > end) {
                return Err(AppError::bad_input(date_field, "the date is outside the plan's dates"));
            }
            Ok(Slot::Day(day))
        }
        Some(weeks) => {
            if input.date.is_some() {
                return Err(AppError::bad_input(
                    field("date"),
                    "this plan is a rotation: give a week and weekday, not a date",
                ));
            }
            let week = input
                .week
                .filter(|w| (1..=weeks).contains(w))
                .ok_or_else(|| AppError::bad_input(field("week"), format!("week must be between 1 and {weeks}")))?;
            let weekday = input
                .weekday
                .ok_or_else(|| AppError::bad_input(field("weekday"), "a rotation's entries need a weekday"))?;
            Ok(Slot::Rotation {
                week,
                weekday: weekday.number(),
            })
        }
    }
}

/// An inclusive range of at most `MAX_DAYS` days.
pub fn range(from: &Date, to: &Date) -> AppResult<(NaiveDate, NaiveDate)> {
    let (from, to) = (from.day("from")?, to.day("to")?);
    if to < from {
        return Err(AppError::bad_input("to", "to must not be before from"));
    }
    if (to - from).num_days() + 1 > MAX_DAYS {
        return Err(AppError::bad_input("to", format!("at most {MAX_DAYS} days")));
    }
    Ok((from, to))
}

/// The plan a range query reads: `id` when given (`NOT_FOUND` unless the viewer's), else the active one.
pub async fn plan_for(conn: &mut AsyncPgConnection, owner: Uuid, id: Option<Uuid>) -> AppResult<Option<MealPlan>> {
    Ok(match id {
        Some(id) => Some(MealPlan::find(conn, owner, id).await?),
        None => MealPlan::active(conn, owner, None).await?,
    })
}

#[derive(Default)]
pub struct MealPlanQuery;

#[Object]
impl MealPlanQuery {
    /// The signed-in user's meal plans, newest first.
    #[graphql(complexity = "crate::recipes::page_cost(first) * child_complexity")]
    async fn meal_plans(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 20 (default 10).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<MealPlanConnection> {
        let owner = viewer_id(ctx).extend()?;
        let size = paging::size(first, DEFAULT_PAGE, MAX_PAGE).extend()?;
        let after = paging::after(after.as_deref()).extend()?;
        let mut conn = conn(ctx).await?;
        let rows = MealPlan::page(&mut conn, owner, after, size as i64 + 1).await.gql()?;
        let (plans, has_next_page) = paging::split(rows, size);
        let look = ctx.look_ahead();
        let total_count = match look.field("totalCount").exists() {
            true => MealPlan::count(&mut conn, owner).await.gql()?,
            false => 0,
        };
        let with_entries = look.field("edges").field("node").field("entries").exists();
        let edges: Vec<MealPlanEdge> = views(&mut conn, owner, plans, with_entries)
            .await
            .extend()?
            .into_iter()
            .map(|node| MealPlanEdge {
                cursor: node.id.to_string(),
                node,
            })
            .collect();
        Ok(MealPlanConnection {
            page_info: PageInfo {
                has_next_page,
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
            total_count,
        })
    }

    /// One of the signed-in user's plans; another user's is `NOT_FOUND`.
    async fn meal_plan(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<MealPlanView> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        let plan = MealPlan::find(&mut conn, owner, id).await.gql()?;
        view(ctx, &mut conn, owner, plan).await.extend()
    }

    /// The plan being followed, if any: among one's personal plans, or `householdId`'s.
    async fn active_meal_plan(
        &self,
        ctx: &Context<'_>,
        household_id: Option<Uuid>,
    ) -> async_graphql::Result<Option<MealPlanView>> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        match MealPlan::active(&mut conn, owner, household_id).await.gql()? {
            Some(plan) => Ok(Some(view(ctx, &mut conn, owner, plan).await.extend()?)),
            None => Ok(None),
        }
    }

    /// What is planned on each day from `from` to `to` (inclusive, at most 62 days), rotations resolved to
    /// dates: of `planId`, or of the active plan (every day empty when there is none).
    async fn meal_plan_days(
        &self,
        ctx: &Context<'_>,
        from: Date,
        to: Date,
        plan_id: Option<Uuid>,
    ) -> async_graphql::Result<Vec<MealPlanDay>> {
        let owner = viewer_id(ctx).extend()?;
        let (from, to) = range(&from, &to).extend()?;
        let mut conn = conn(ctx).await?;
        let plan = plan_for(&mut conn, owner, plan_id).await.extend()?;
        let entries = match &plan {
            Some(plan) => MealPlan::entries(&mut conn, owner, &[plan.id], Some((from, to)))
                .await
                .gql()?,
            None => Vec::new(),
        };
        Ok(days(from, to)
            .map(|day| {
                let (week, on_day) = match &plan {
                    Some(plan) => planned_on(plan, &entries, day),
                    None => (None, Vec::new()),
                };
                MealPlanDay {
                    date: day.into(),
                    week,
                    entries: on_day.into_iter().map(Into::into).collect(),
                }
            })
            .collect())
    }
}

#[derive(Default)]
pub struct MealPlanMutation;

#[Object]
impl MealPlanMutation {
    /// A new plan (at most 100 per user): a calendar, or a rotation of `weeks` weeks.
    async fn create_meal_plan(&self, ctx: &Context<'_>, input: MealPlanInput) -> async_graphql::Result<MealPlanView> {
        let owner = viewer_id(ctx).extend()?;
        let name = name("input.name", &input.name).extend()?;
        let start_date = input.start_date.day("input.startDate").extend()?;
        let end_date = input
            .end_date
            .as_ref()
            .map(|d| d.day("input.endDate"))
            .transpose()
            .extend()?;
        if end_date.is_some_and(|end| end < start_date) {
            return Err(AppError::bad_input(
                "input.endDate",
                "the end must not be before the start",
            ))
            .extend();
        }
        if input.weeks.is_some_and(|w| !(1..=8).contains(&w)) {
            return Err(AppError::bad_input("input.weeks", "weeks must be between 1 and 8")).extend();
        }
        let new = NewMealPlan {
            id: Uuid::now_v7(),
            owner_id: owner,
            household_id: input.household_id,
            name,
            start_date,
            end_date,
            weeks: input.weeks,
        };
        let mut conn = conn(ctx).await?;
        let plan = MealPlan::create(&mut conn, new, input.active)
            .await
            .gql()?
            .ok_or_else(|| AppError::QuotaExceeded(format!("at most {MAX_PLANS} meal plans each")))
            .extend()?;
        Ok(MealPlanView::new(plan, &[]))
    }

    /// Renames a plan or changes its dates if it is still at `expectedVersion`; otherwise `CONFLICT`.
    /// Calendar entries outside new dates stay in the plan but are not planned on any day.
    async fn update_meal_plan(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: i32,
        patch: MealPlanPatch,
    ) -> async_graphql::Result<MealPlanView> {
        let owner = viewer_id(ctx).extend()?;
        let changes = MealPlanChangeset {
            name: patch
                .name
                .as_deref()
                .map(|n| name("patch.name", n))
                .transpose()
                .extend()?,
            start_date: patch
                .start_date
                .as_ref()
                .map(|d| d.day("patch.startDate"))
                .transpose()
                .extend()?,
            end_date: match &patch.end_date {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(d) => Some(Some(d.day("patch.endDate").extend()?)),
            },
        };
        if changes.name.is_none() && changes.start_date.is_none() && changes.end_date.is_none() {
            return Err(AppError::bad_input("patch", "give a new name or dates")).extend();
        }
        let mut conn = conn(ctx).await?;
        let current = MealPlan::find(&mut conn, owner, id).await.gql()?;
        let start = changes.start_date.unwrap_or(current.start_date);
        if changes
            .end_date
            .unwrap_or(current.end_date)
            .is_some_and(|end| end < start)
        {
            return Err(AppError::bad_input(
                "patch.endDate",
                "the end must not be before the start",
            ))
            .extend();
        }
        let plan = MealPlan::update(&mut conn, owner, id, expected_version, changes)
            .await
            .gql()?
            .ok_or_else(|| {
                AppError::Conflict(format!(
                    "the plan has changed since version {expected_version}; reload it and apply your change again"
                ))
            })
            .extend()?;
        view(ctx, &mut conn, owner, plan).await.extend()
    }

    /// Deletes a plan with its entries (never the recipes). Returns true.
    async fn delete_meal_plan(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<bool> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        deleted(MealPlan::delete(&mut conn, owner, id).await.gql()?)
    }

    /// Makes a plan the one being followed among its kind (one's personal plans, or its household's; the
    /// previous one stops); `id: null` leaves none active among one's personal plans, or `householdId`'s.
    async fn set_active_meal_plan(
        &self,
        ctx: &Context<'_>,
        id: Option<Uuid>,
        household_id: Option<Uuid>,
    ) -> async_graphql::Result<Option<MealPlanView>> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        match MealPlan::set_active(&mut conn, owner, household_id, id).await.gql()? {
            Some(plan) => Ok(Some(view(ctx, &mut conn, owner, plan).await.extend()?)),
            None => Ok(None),
        }
    }

    /// Plans a recipe (one of yours) or a note (at most 500 entries per plan).
    async fn add_meal_plan_entry(
        &self,
        ctx: &Context<'_>,
        plan_id: Uuid,
        input: MealPlanEntryInput,
    ) -> async_graphql::Result<EntryView> {
        let owner = viewer_id(ctx).extend()?;
        let note = text::optional("input.note", input.note.as_deref(), MAX_NOTE, Lines::Single).extend()?;
        if input.recipe_id.is_none() && note.is_none() {
            return Err(AppError::bad_input("input.recipeId", "give a recipe or a note")).extend();
        }
        let servings = decimal("input.servings", input.servings.as_deref(), true).extend()?;
        let mut conn = conn(ctx).await?;
        let id = MealPlan::add_entry(&mut conn, owner, plan_id, |plan| {
            AppResult::Ok(NewEntry {
                slot: slot(plan, &input.slot, "input")?,
                meal: input.slot.meal.as_db(),
                recipe_id: input.recipe_id,
                note,
                servings,
            })
        })
        .await
        .gql()?
        .ok_or_else(|| AppError::QuotaExceeded(format!("a plan holds at most {MAX_ENTRIES} entries")))
        .extend()?;
        let entry = MealPlan::entry(&mut conn, owner, id).await.gql()?;
        Ok((&entry).into())
    }

    /// Moves an entry to another day (or rotation slot) and meal.
    async fn move_meal_plan_entry(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        to: MealSlotInput,
    ) -> async_graphql::Result<EntryView> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        let entry = MealPlan::entry(&mut conn, owner, id).await.gql()?;
        let plan = MealPlan::find(&mut conn, owner, entry.row.plan_id).await.gql()?;
        let slot = slot(&plan, &to, "to").extend()?;
        MealPlan::move_entry(&mut conn, owner, id, slot, to.meal.as_db())
            .await
            .gql()?;
        let entry = MealPlan::entry(&mut conn, owner, id).await.gql()?;
        Ok((&entry).into())
    }

    /// Removes an entry. Returns true.
    async fn remove_meal_plan_entry(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<bool> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        deleted(MealPlan::remove_entry(&mut conn, owner, id).await.gql()?)
    }
}
