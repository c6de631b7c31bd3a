//! The `meal_plans` and `meal_plan_entries` tables; every query is scoped here to the viewer's own plans and
//! their households' (`shared_scope!`).

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{meal_plan_entries, meal_plans, recipes};
use crate::households::{lock_set, shared_scope, shared_set, Scope};
use crate::recipes::RecipeSummaryRow;

/// Plans per user (personal) or per household (shared), entries per plan: bounds on what one user can make
/// the server hold and compute.
pub const MAX_PLANS: i64 = 100;
pub const MAX_ENTRIES: i64 = 500;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = meal_plans, check_for_backend(diesel::pg::Pg))]
pub struct MealPlan {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub weeks: Option<i32>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The household it is shared with; `None` for a personal plan.
    pub household_id: Option<Uuid>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = meal_plans)]
pub struct NewMealPlan {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub household_id: Option<Uuid>,
    pub name: String,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub weeks: Option<i32>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = meal_plans)]
pub struct MealPlanChangeset {
    pub name: Option<String>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<Option<NaiveDate>>,
}

/// When an entry is planned: a calendar day, or a week of the rotation and an ISO weekday (1 = Monday).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Day(NaiveDate),
    Rotation { week: i32, weekday: i32 },
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = meal_plan_entries, check_for_backend(diesel::pg::Pg))]
pub struct EntryRow {
    pub id: Uuid,
    pub plan_id: Uuid,
    pub day: Option<NaiveDate>,
    pub week: Option<i32>,
    pub weekday: Option<i32>,
    pub meal: String,
    pub recipe_id: Option<Uuid>,
    pub note: Option<String>,
    pub servings: Option<BigDecimal>,
    pub created_at: DateTime<Utc>,
}

/// An entry with its recipe, when it has one.
#[derive(Clone, Debug)]
pub struct Entry {
    pub row: EntryRow,
    pub recipe: Option<RecipeSummaryRow>,
}

impl Entry {
    pub fn slot(&self) -> Option<Slot> {
        match (self.row.day, self.row.week, self.row.weekday) {
            (Some(day), ..) => Some(Slot::Day(day)),
            (None, Some(week), Some(weekday)) => Some(Slot::Rotation { week, weekday }),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub struct NewEntry {
    pub slot: Slot,
    pub meal: &'static str,
    pub recipe_id: Option<Uuid>,
    pub note: Option<String>,
    pub servings: Option<BigDecimal>,
}

/// The plan `id` if the viewer may see it.
fn mine(viewer: Uuid, id: Uuid) -> Scope<meal_plans::table> {
    Box::new(meal_plans::id.eq(id).and(shared_scope!(meal_plans, viewer)))
}

/// The entry `id` if the viewer may see its plan.
fn my_entry(viewer: Uuid, id: Uuid) -> Scope<meal_plan_entries::table> {
    Box::new(
        meal_plan_entries::id
            .eq(id)
            .and(shared_scope!(meal_plan_entries, viewer)),
    )
}

/// The plans one active plan is chosen among: the viewer's personal ones, or a household's.
fn among(viewer: Uuid, household: Option<Uuid>) -> Scope<meal_plans::table> {
    shared_set!(meal_plans, viewer, household)
}

/// Makes `id` the only active plan among the viewer's personal ones or a household's (none when `None`); under
/// `lock_set`. The plan as this activation left it: `NotFound` for one the viewer cannot see or of the other set.
async fn activate(
    conn: &mut AsyncPgConnection,
    viewer: Uuid,
    household: Option<Uuid>,
    id: Option<Uuid>,
) -> QueryResult<Option<MealPlan>> {
    diesel::update(
        meal_plans::table
            .filter(among(viewer, household))
            .filter(meal_plans::active),
    )
    .set(meal_plans::active.eq(false))
    .execute(conn)
    .await?;
    match id {
        Some(id) => diesel::update(
            meal_plans::table
                .filter(mine(viewer, id))
                .filter(among(viewer, household)),
        )
        .set(meal_plans::active.eq(true))
        .returning(MealPlan::as_returning())
        .get_result(conn)
        .await
        .map(Some),
        None => Ok(None),
    }
}

impl MealPlan {
    pub async fn find(conn: &mut AsyncPgConnection, viewer: Uuid, id: Uuid) -> QueryResult<MealPlan> {
        meal_plans::table
            .filter(mine(viewer, id))
            .select(MealPlan::as_select())
            .first(conn)
            .await
    }

    /// The active plan among the viewer's personal ones, or of `household` (none for one they are not in).
    pub async fn active(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
        household: Option<Uuid>,
    ) -> QueryResult<Option<MealPlan>> {
        meal_plans::table
            .filter(among(viewer, household))
            .filter(shared_scope!(meal_plans, viewer))
            .filter(meal_plans::active)
            .select(MealPlan::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// The viewer's plans and their households', newest first, `limit` after the plan `after` (ids are
    /// time-ordered).
    pub async fn page(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
        after: Option<Uuid>,
        limit: i64,
    ) -> QueryResult<Vec<MealPlan>> {
        crate::households::shared_page!(conn, meal_plans, MealPlan, viewer, after, limit)
    }

    /// How many plans the viewer can see (their own and their households').
    pub async fn count(conn: &mut AsyncPgConnection, viewer: Uuid) -> QueryResult<i64> {
        meal_plans::table
            .filter(shared_scope!(meal_plans, viewer))
            .count()
            .get_result(conn)
            .await
    }

    /// Creates the plan, personal or shared with `new.household_id` (one the owner is in, else `NotFound`),
    /// activating it when asked; `None` when the owner, or the household, already has `MAX_PLANS`.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        new: NewMealPlan,
        make_active: bool,
    ) -> QueryResult<Option<MealPlan>> {
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            let (viewer, household, id) = (new.owner_id, new.household_id, new.id);
            lock_set(conn, viewer, household).await?;
            let held: i64 = meal_plans::table
                .filter(among(viewer, household))
                .count()
                .get_result(conn)
                .await?;
            if held >= MAX_PLANS {
                return Ok(None);
            }
            diesel::insert_into(meal_plans::table)
                .values(&new)
                .execute(conn)
                .await?;
            if make_active {
                return activate(conn, viewer, household, Some(id)).await;
            }
            Self::find(conn, viewer, id).await.map(Some)
        })
        .await
    }

    /// Applies `changes` if the plan is still at `expected_version`; `None` when it is not.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
        id: Uuid,
        expected_version: i32,
        changes: MealPlanChangeset,
    ) -> QueryResult<Option<MealPlan>> {
        diesel::update(meal_plans::table.filter(mine(viewer, id).and(meal_plans::version.eq(expected_version))))
            .set((changes, meal_plans::version.eq(meal_plans::version + 1)))
            .returning(MealPlan::as_returning())
            .get_result(conn)
            .await
            .optional()
    }

    /// Deletes the plan with its entries; false when there was none.
    pub async fn delete(conn: &mut AsyncPgConnection, viewer: Uuid, id: Uuid) -> QueryResult<bool> {
        let deleted = diesel::delete(meal_plans::table.filter(mine(viewer, id)))
            .execute(conn)
            .await?;
        Ok(deleted > 0)
    }

    /// Makes the plan the only active one of its set (the viewer's personal plans, or its household's) and
    /// returns it as this call left it (a later call may already have activated another); `id: None` leaves
    /// none active among the personal plans, or `household`'s. `NotFound` for a plan the viewer cannot see.
    pub async fn set_active(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
        household: Option<Uuid>,
        id: Option<Uuid>,
    ) -> QueryResult<Option<MealPlan>> {
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            let household = match id {
                Some(id) => Self::find(conn, viewer, id).await?.household_id,
                None => household,
            };
            lock_set(conn, viewer, household).await?;
            activate(conn, viewer, household, id).await
        })
        .await
    }

    /// The entries of several plans with their recipes, in plan order: by day or rotation slot, then meal,
    /// then when they were added. `days` narrows calendar entries to a range (rotation entries all come).
    pub async fn entries(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
        plan_ids: &[Uuid],
        days: Option<(NaiveDate, NaiveDate)>,
    ) -> QueryResult<Vec<Entry>> {
        let mut query = meal_plan_entries::table
            .left_join(recipes::table)
            .filter(shared_scope!(meal_plan_entries, viewer))
            .filter(meal_plan_entries::plan_id.eq_any(plan_ids))
            .select((
                EntryRow::as_select(),
                (recipes::id, recipes::title, recipes::servings, recipes::total_minutes).nullable(),
            ))
            .order((
                meal_plan_entries::plan_id,
                meal_plan_entries::day,
                meal_plan_entries::week,
                meal_plan_entries::weekday,
                meal_plan_entries::id,
            ))
            .into_boxed();
        if let Some((from, to)) = days {
            query = query.filter(
                meal_plan_entries::day
                    .is_null()
                    .or(meal_plan_entries::day.between(from, to)),
            );
        }
        let rows: Vec<(EntryRow, Option<RecipeSummaryRow>)> = query.load(conn).await?;
        let mut entries: Vec<Entry> = rows.into_iter().map(|(row, recipe)| Entry { row, recipe }).collect();
        // Stable: entries of one slot and meal stay in the order they were added.
        entries.sort_by_key(|e| {
            (
                e.row.plan_id,
                e.row.day,
                e.row.week,
                e.row.weekday,
                meal_order(&e.row.meal),
            )
        });
        Ok(entries)
    }

    /// Adds the entry `entry` makes from the plan (read once, locked: entries added at once count against
    /// MAX_ENTRIES one after another); `None` when the plan is full. `NotFound` when the plan or the recipe
    /// is not the viewer's to see (the recipe: to own); an error of `entry` rolls back.
    pub async fn add_entry<E: From<diesel::result::Error> + Send>(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
        plan_id: Uuid,
        entry: impl FnOnce(&MealPlan) -> Result<NewEntry, E> + Send,
    ) -> Result<Option<Uuid>, E> {
        conn.transaction::<_, E, _>(async |conn| {
            let plan = meal_plans::table
                .filter(mine(viewer, plan_id))
                .select(MealPlan::as_select())
                .for_update()
                .first::<MealPlan>(conn)
                .await?;
            let new = entry(&plan)?;
            let held: i64 = meal_plan_entries::table
                .filter(meal_plan_entries::plan_id.eq(plan_id))
                .count()
                .get_result(conn)
                .await?;
            if held >= MAX_ENTRIES {
                return Ok(None);
            }
            if let Some(recipe) = new.recipe_id {
                crate::recipes::Recipe::find(conn, viewer, recipe).await?;
            }
            let (day, week, weekday) = slot_columns(new.slot);
            let id = Uuid::now_v7();
            diesel::insert_into(meal_plan_entries::table)
                .values((
                    meal_plan_entries::id.eq(id),
                    meal_plan_entries::plan_id.eq(plan_id),
                    meal_plan_entries::owner_id.eq(viewer),
                    meal_plan_entries::household_id.eq(plan.household_id),
                    meal_plan_entries::day.eq(day),
                    meal_plan_entries::week.eq(week),
                    meal_plan_entries::weekday.eq(weekday),
                    meal_plan_entries::meal.eq(new.meal),
                    meal_plan_entries::recipe_id.eq(new.recipe_id),
                    meal_plan_entries::note.eq(new.note),
                    meal_plan_entries::servings.eq(new.servings),
                ))
                .execute(conn)
                .await?;
            Ok(Some(id))
        })
        .await
    }

    /// An entry the viewer may see, with its recipe.
    pub async fn entry(conn: &mut AsyncPgConnection, viewer: Uuid, id: Uuid) -> QueryResult<Entry> {
        let (row, recipe) = meal_plan_entries::table
            .left_join(recipes::table)
            .filter(
                meal_plan_entries::id
                    .eq(id)
                    .and(shared_scope!(meal_plan_entries, viewer)),
            )
            .select((
                EntryRow::as_select(),
                (recipes::id, recipes::title, recipes::servings, recipes::total_minutes).nullable(),
            ))
            .first::<(EntryRow, Option<RecipeSummaryRow>)>(conn)
            .await?;
        Ok(Entry { row, recipe })
    }

    /// Moves an entry to another slot and meal.
    pub async fn move_entry(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
        id: Uuid,
        slot: Slot,
        meal: &'static str,
    ) -> QueryResult<()> {
        let (day, week, weekday) = slot_columns(slot);
        let moved = diesel::update(meal_plan_entries::table.filter(my_entry(viewer, id)))
            .set((
                meal_plan_entries::day.eq(day),
                meal_plan_entries::week.eq(week),
                meal_plan_entries::weekday.eq(weekday),
                meal_plan_entries::meal.eq(meal),
            ))
            .execute(conn)
            .await?;
        match moved {
            0 => Err(diesel::result::Error::NotFound),
            _ => Ok(()),
        }
    }

    /// Removes an entry; false when there was none.
    pub async fn remove_entry(conn: &mut AsyncPgConnection, viewer: Uuid, id: Uuid) -> QueryResult<bool> {
        let deleted = diesel::delete(meal_plan_entries::table.filter(my_entry(viewer, id)))
            .execute(conn)
            .await?;
        Ok(deleted > 0)
    }
}

fn slot_columns(slot: Slot) -> (Option<NaiveDate>, Option<i32>, Option<i32>) {
    match slot {
        Slot::Day(day) => (Some(day), None, None),
        Slot::Rotation { week, weekday } => (None, Some(week), Some(weekday)),
    }
}

/// Breakfast, lunch, dinner, snack: the order of a day.
fn meal_order(meal: &str) -> u8 {
    match meal {
        "BREAKFAST" => 0,
        "LUNCH" => 1,
        "DINNER" => 2,
        _ => 3,
    }
}
