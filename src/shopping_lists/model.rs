//! The `shopping_lists` and `shopping_list_items` tables, and the planned ingredients a list is computed
//! from; every query is scoped by owner here.

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{recipe_ingredients, recipes, shopping_list_items, shopping_lists};
use crate::users::User;

/// Lists per user, items per list.
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

/// The ingredients of the owner's recipes among `recipe_ids`, in recipe order.
pub async fn ingredients(
    conn: &mut AsyncPgConnection,
    owner_id: Uuid,
    recipe_ids: &[Uuid],
) -> QueryResult<Vec<PlannedIngredient>> {
    recipe_ingredients::table
        .inner_join(recipes::table)
        .filter(recipes::owner_id.eq(owner_id).and(recipes::id.eq_any(recipe_ids)))
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

fn mine(
    owner_id: Uuid,
    id: Uuid,
) -> diesel::dsl::And<diesel::dsl::Eq<shopping_lists::id, Uuid>, diesel::dsl::Eq<shopping_lists::owner_id, Uuid>> {
    shopping_lists::id.eq(id).and(shopping_lists::owner_id.eq(owner_id))
}

fn my_item(
    owner_id: Uuid,
    id: Uuid,
) -> diesel::dsl::And<
    diesel::dsl::Eq<shopping_list_items::id, Uuid>,
    diesel::dsl::Eq<shopping_list_items::owner_id, Uuid>,
> {
    shopping_list_items::id
        .eq(id)
        .and(shopping_list_items::owner_id.eq(owner_id))
}

impl ShoppingList {
    pub async fn find(conn: &mut AsyncPgConnection, owner_id: Uuid, id: Uuid) -> QueryResult<ShoppingList> {
        shopping_lists::table
            .filter(mine(owner_id, id))
            .select(ShoppingList::as_select())
            .first(conn)
            .await
    }

    /// Newest first, `limit` after the list `after`.
    pub async fn page(
        conn: &mut AsyncPgConnection,
        owner_id: Uuid,
        after: Option<Uuid>,
        limit: i64,
    ) -> QueryResult<Vec<ShoppingList>> {
        crate::db::owner_page!(conn, shopping_lists, ShoppingList, owner_id, after, limit)
    }

    /// Saves a list with its items in one transaction; `None` when the owner already has `MAX_LISTS`.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        owner_id: Uuid,
        name: String,
        (from_date, to_date): (NaiveDate, NaiveDate),
        items: Vec<NewItem>,
    ) -> QueryResult<Option<ShoppingList>> {
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            // Lists created at once count against MAX_LISTS one after another.
            User::lock(conn, owner_id).await?;
            let held: i64 = shopping_lists::table
                .filter(shopping_lists::owner_id.eq(owner_id))
                .count()
                .get_result(conn)
                .await?;
            if held >= MAX_LISTS {
                return Ok(None);
            }
            let list: ShoppingList = diesel::insert_into(shopping_lists::table)
                .values((
                    shopping_lists::id.eq(Uuid::now_v7()),
                    shopping_lists::owner_id.eq(owner_id),
                    shopping_lists::name.eq(name),
                    shopping_lists::from_date.eq(from_date),
                    shopping_lists::to_date.eq(to_date),
                ))
                .returning(ShoppingList::as_returning())
                .get_result(conn)
                .await?;
            insert_items(conn, owner_id, list.id, 0, items).await?;
            Ok(Some(list))
        })
        .await
    }

    /// Deletes the list with its items; false when there was none.
    pub async fn delete(conn: &mut AsyncPgConnection, owner_id: Uuid, id: Uuid) -> QueryResult<bool> {
        let deleted = diesel::delete(shopping_lists::table.filter(mine(owner_id, id)))
            .execute(conn)
            .await?;
        Ok(deleted > 0)
    }

    /// The items of several lists, by list and position.
    pub async fn items(conn: &mut AsyncPgConnection, owner_id: Uuid, list_ids: &[Uuid]) -> QueryResult<Vec<Item>> {
        shopping_list_items::table
            .filter(shopping_list_items::owner_id.eq(owner_id))
            .filter(shopping_list_items::list_id.eq_any(list_ids))
            .order((shopping_list_items::list_id, shopping_list_items::position))
            .select(Item::as_select())
            .load(conn)
            .await
    }

    pub async fn item(conn: &mut AsyncPgConnection, owner_id: Uuid, id: Uuid) -> QueryResult<Item> {
        shopping_list_items::table
            .filter(my_item(owner_id, id))
            .select(Item::as_select())
            .first(conn)
            .await
    }

    /// Appends an item; `None` when the list is full. `NotFound` when the list is not the owner's.
    pub async fn add_item(
        conn: &mut AsyncPgConnection,
        owner_id: Uuid,
        list_id: Uuid,
        text: ItemText,
    ) -> QueryResult<Option<Item>> {
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            // The list row, locked: items added at once get distinct positions and respect MAX_ITEMS.
            shopping_lists::table
                .filter(mine(owner_id, list_id))
                .select(shopping_lists::id)
                .for_update()
                .first::<Uuid>(conn)
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
            let ids = insert_items(conn, owner_id, list_id, next, vec![item]).await?;
            let id = ids.into_iter().next().ok_or(diesel::result::Error::NotFound)?;
            touch(conn, list_id).await?;
            Self::item(conn, owner_id, id).await.map(Some)
        })
        .await
    }

    /// Changes an item's text if it is still at `expected_version`; `None` when it is not.
    pub async fn update_item(
        conn: &mut AsyncPgConnection,
        owner_id: Uuid,
        id: Uuid,
        expected_version: i32,
        text: ItemText,
    ) -> QueryResult<Option<Item>> {
        diesel::update(
            shopping_list_items::table
                .filter(my_item(owner_id, id).and(shopping_list_items::version.eq(expected_version))),
        )
        .set((text, shopping_list_items::version.eq(shopping_list_items::version + 1)))
        .returning(Item::as_returning())
        .get_result(conn)
        .await
        .optional()
    }

    /// Ticks an item off (or back on). Idempotent, and independent of the item's text and version, so that
    /// two people in the shop never conflict by ticking.
    pub async fn check_item(
        conn: &mut AsyncPgConnection,
        owner_id: Uuid,
        id: Uuid,
        checked: bool,
    ) -> QueryResult<Item> {
        diesel::update(shopping_list_items::table.filter(my_item(owner_id, id)))
            .set(shopping_list_items::checked.eq(checked))
            .returning(Item::as_returning())
            .get_result(conn)
            .await
    }

    /// Removes an item; false when there was none.
    pub async fn remove_item(conn: &mut AsyncPgConnection, owner_id: Uuid, id: Uuid) -> QueryResult<bool> {
        let deleted = diesel::delete(shopping_list_items::table.filter(my_item(owner_id, id)))
            .execute(conn)
            .await?;
        Ok(deleted > 0)
    }
}

/// The list changed (an item was added): its `updatedAt` moves, for clients that sync by time.
async fn touch(conn: &mut AsyncPgConnection, list_id: Uuid) -> QueryResult<()> {
    diesel::update(shopping_lists::table.find(list_id))
        .set(shopping_lists::updated_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
        .map(drop)
}

async fn insert_items(
    conn: &mut AsyncPgConnection,
    owner_id: Uuid,
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
