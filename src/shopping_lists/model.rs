//! The `shopping_lists` and `shopping_list_items` tables, and the planned ingredients a list is computed
//! from; every query is scoped here to the viewer's own lists and their households' (`shared_scope!`).

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{recipe_ingredients, recipes, shopping_list_items, shopping_lists};
use crate::households::{lock_set, shared_scope, shared_set, Scope};

/// Lists per user (personal) or per household (shared), items per list.
pub const MAX_LISTS: i64 = 100;
pub const MAX_ITEMS: i64 = 500;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = shopping_lists, check_for_backend(diesel::pg::Pg))]
pub struct ShoppingList {
    pub id: Uuid,
    pub name: String,
    pub from_date: NaiveDate,
    pub to_date: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The household it is shared with; `None` for a personal list.
    pub household_id: Option<Uuid>,
    /// Increases with every change of its items (added, edited, ticked, removed).
    pub version: i32,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = shopping_list_items, check_for_backend(diesel::pg::Pg))]
pub struct Item {
    pub id: Uuid,
    pub list_id: Uuid,
    pub position: i32,
    pub quantity: Option<BigDecimal>,
    pub unit: Option<String>,
    pub item: String,
    pub note: Option<String>,
    pub checked: bool,
    pub recipe_ids: Vec<Option<Uuid>>,
    pub recipe_titles: Vec<Option<String>>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

/// An item's own text: what is bought, how much, and a note.
#[derive(Clone, Debug, AsChangeset)]
#[diesel(table_name = shopping_list_items, treat_none_as_null = true)]
pub struct ItemText {
    pub quantity: Option<BigDecimal>,
    pub unit: Option<String>,
    pub item: String,
    pub note: Option<String>,
}

/// An item to insert, with the recipes it comes from.
#[derive(Clone, Debug)]
pub struct NewItem {
    pub text: ItemText,
    pub recipes: Vec<(Uuid, String)>,
}

/// One stored ingredient of a planned recipe.
#[derive(Clone, Debug, Queryable)]
pub struct PlannedIngredient {
    pub recipe_id: Uuid,
    pub quantity: Option<BigDecimal>,
    pub quantity_max: Option<BigDecimal>,
    pub unit: Option<String>,
    pub item: String,
}

/// The ingredients of the recipes `recipe_ids`, in recipe order: those planned in a plan the viewer may see
/// (in a household's plan, members plan their own recipes, and the plan's list needs all of them).
pub async fn ingredients(conn: &mut AsyncPgConnection, recipe_ids: &[Uuid]) -> QueryResult<Vec<PlannedIngredient>> {
    recipe_ingredients::table
        .inner_join(recipes::table)
        .filter(recipes::id.eq_any(recipe_ids))
        .order((recipe_ingredients::recipe_id, recipe_ingredients::position))
        .select((
            recipe_ingredients::recipe_id,
            recipe_ingredients::quantity,
            recipe_ingredients::quantity_max,
            recipe_ingredients::unit,
            recipe_ingredients::item,
        ))
        .load(conn)
        .await
}

/// The list `id` if the viewer may see it.
fn mine(viewer: Uuid, id: Uuid) -> Scope<shopping_lists::table> {
    Box::new(shopping_lists::id.eq(id).and(shared_scope!(shopping_lists, viewer)))
}

/// The item `id` if the viewer may see its list.
fn my_item(viewer: Uuid, id: Uuid) -> Scope<shopping_list_items::table> {
    Box::new(
        shopping_list_items::id
            .eq(id)
            .and(shared_scope!(shopping_list_items, viewer)),
    )
}

/// Whose a list (and so its items) is: its owner, and the household it is shared with.
type Holder = (Uuid, Option<Uuid>);

impl ShoppingList {
    pub async fn find(conn: &mut AsyncPgConnection, viewer: Uuid, id: Uuid) -> QueryResult<ShoppingList> {
        shopping_lists::table
            .filter(mine(viewer, id))
            .select(ShoppingList::as_select())
            .first(conn)
            .await
    }

    /// The viewer's lists and their households', newest first, `limit` after the list `after`.
    pub async fn page(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
        after: Option<Uuid>,
        limit: i64,
    ) -> QueryResult<Vec<ShoppingList>> {
        crate::households::shared_page!(conn, shopping_lists, ShoppingList, viewer, after, limit)
    }

    /// Saves a list with its items in one transaction, personal or shared with `household` (one the viewer
    /// is in, else `NotFound`); `None` when the viewer, or the household, already has `MAX_LISTS`.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
        household: Option<Uuid>,
        name: String,
        (from_date, to_date): (NaiveDate, NaiveDate),
        items: Vec<NewItem>,
    ) -> QueryResult<Option<ShoppingList>> {
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            // Lists created at once count against MAX_LISTS one after another.
            lock_set(conn, viewer, household).await?;
            let held: i64 = shopping_lists::table
                .filter(shared_set!(shopping_lists, viewer, household))
                .count()
                .get_result(conn)
                .await?;
            if held >= MAX_LISTS {
                return Ok(None);
            }
            let list: ShoppingList = diesel::insert_into(shopping_lists::table)
                .values((
                    shopping_lists::id.eq(Uuid::now_v7()),
                    shopping_lists::owner_id.eq(viewer),
                    shopping_lists::household_id.eq(household),
                    shopping_lists::name.eq(name),
                    shopping_lists::from_date.eq(from_date),
                    shopping_lists::to_date.eq(to_date),
                ))
                .returning(ShoppingList::as_returning())
                .get_result(conn)
                .await?;
            insert_items(conn, (viewer, household), list.id, 0, items).await?;
            // The items' trigger moved the version on.
            Self::find(conn, viewer, list.id).await.map(Some)
        })
        .await
    }

    /// Deletes the list with its items; false when there was none.
    pub async fn delete(conn: &mut AsyncPgConnection, viewer: Uuid, id: Uuid) -> QueryResult<bool> {
        let deleted = diesel::delete(shopping_lists::table.filter(mine(viewer, id)))
            .execute(conn)
            .await?;
        Ok(deleted > 0)
    }

    /// The items of several lists, by list and position.
    pub async fn items(conn: &mut AsyncPgConnection, viewer: Uuid, list_ids: &[Uuid]) -> QueryResult<Vec<Item>> {
        shopping_list_items::table
            .filter(shared_scope!(shopping_list_items, viewer))
            .filter(shopping_list_items::list_id.eq_any(list_ids))
            .order((shopping_list_items::list_id, shopping_list_items::position))
            .select(Item::as_select())
            .load(conn)
            .await
    }

    pub async fn item(conn: &mut AsyncPgConnection, viewer: Uuid, id: Uuid) -> QueryResult<Item> {
        shopping_list_items::table
            .filter(my_item(viewer, id))
            .select(Item::as_select())
            .first(conn)
            .await
    }

    /// Appends an item; `None` when the list is full. `NotFound` when the list is not the owner's.
    pub async fn add_item(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
        list_id: Uuid,
        text: ItemText,
    ) -> QueryResult<Option<Item>> {
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            // The list row, locked: items added at once get distinct positions and respect MAX_ITEMS.
            let holder: Holder = shopping_lists::table
                .filter(mine(viewer, list_id))
                .select((shopping_lists::owner_id, shopping_lists::household_id))
                .for_update()
                .first(conn)
                .await?;
            let (held, last): (i64, Option<i32>) = shopping_list_items::table
                .filter(shopping_list_items::list_id.eq(list_id))
                .select((
                    diesel::dsl::count_star(),
                    diesel::dsl::max(shopping_list_items::position),
                ))
                .first(conn)
                .await?;
            if held >= MAX_ITEMS {
                return Ok(None);
            }
            let next = last.map_or(0, |p| p + 1);
            let item = NewItem {
                text,
                recipes: Vec::new(),
            };
            let ids = insert_items(conn, holder, list_id, next, vec![item]).await?;
            let id = ids.into_iter().next().ok_or(diesel::result::Error::NotFound)?;
            Self::item(conn, viewer, id).await.map(Some)
        })
        .await
    }

    /// Changes an item's text if it is still at `expected_version`; `None` when it is not.
    pub async fn update_item(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
        id: Uuid,
        expected_version: i32,
        text: ItemText,
    ) -> QueryResult<Option<Item>> {
        diesel::update(
            shopping_list_items::table
                .filter(my_item(viewer, id).and(shopping_list_items::version.eq(expected_version))),
        )
        .set((text, shopping_list_items::version.eq(shopping_list_items::version + 1)))
        .returning(Item::as_returning())
        .get_result(conn)
        .await
        .optional()
    }

    /// Ticks an item off (or back on). Idempotent, and independent of the item's text and version, so that
    /// two people in the shop never conflict by ticking; a tick that changes nothing writes nothing (the list's
    /// version stays, and nobody watching is told).
    pub async fn check_item(conn: &mut AsyncPgConnection, viewer: Uuid, id: Uuid, checked: bool) -> QueryResult<Item> {
        let changed = diesel::update(
            shopping_list_items::table
                .filter(my_item(viewer, id))
                .filter(shopping_list_items::checked.ne(checked)),
        )
        .set(shopping_list_items::checked.eq(checked))
        .returning(Item::as_returning())
        .get_result(conn)
        .await
        .optional()?;
        match changed {
            Some(item) => Ok(item),
            None => Self::item(conn, viewer, id).await,
        }
    }

    /// Removes an item; false when there was none.
    pub async fn remove_item(conn: &mut AsyncPgConnection, viewer: Uuid, id: Uuid) -> QueryResult<bool> {
        let deleted = diesel::delete(shopping_list_items::table.filter(my_item(viewer, id)))
            .execute(conn)
            .await?;
        Ok(deleted > 0)
    }
}

/// Appends items to a list. Their trigger moves the list's version and `updatedAt` on (once per statement)
/// and tells live subscribers.
async fn insert_items(
    conn: &mut AsyncPgConnection,
    (owner_id, household_id): Holder,
    list_id: Uuid,
    first_position: i32,
    items: Vec<NewItem>,
) -> QueryResult<Vec<Uuid>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = items.iter().map(|_| Uuid::now_v7()).collect();
    let rows: Vec<_> = items
        .into_iter()
        .zip(&ids)
        .zip(first_position..)
        .map(|((item, id), position)| {
            let (recipe_ids, recipe_titles): (Vec<Option<Uuid>>, Vec<Option<String>>) = item
                .recipes
                .into_iter()
                .map(|(id, title)| (Some(id), Some(title)))
                .unzip();
            (
                shopping_list_items::id.eq(*id),
                shopping_list_items::list_id.eq(list_id),
                shopping_list_items::owner_id.eq(owner_id),
                shopping_list_items::household_id.eq(household_id),
                shopping_list_items::position.eq(position),
                shopping_list_items::quantity.eq(item.text.quantity),
                shopping_list_items::unit.eq(item.text.unit),
                shopping_list_items::item.eq(item.text.item),
                shopping_list_items::note.eq(item.text.note),
                shopping_list_items::recipe_ids.eq(recipe_ids),
                shopping_list_items::recipe_titles.eq(recipe_titles),
            )
        })
        .collect();
    diesel::insert_into(shopping_list_items::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(ids)
}
