//! Saved lists, live: `shoppingListChanged` tells every watcher of a list what changed, by anyone who shares
//! it and from any instance, with the list as it is after it (re-read in the watcher's own scope).

use async_graphql::{Context, ErrorExtensions as _, ResultExt as _, SimpleObject};
use uuid::Uuid;

use super::graphql::ListView;
use super::model::ShoppingList;
use crate::db::DbPool;
use crate::error::{AppError, AppResult, GqlResult as _};
use crate::live::{watch, Event, Hub, Step, Watcher};
use crate::resolver::viewer_id;

/// What happened to a watched list.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ShoppingListAction {
    Added,
    /// An item's text changed (its version moved).
    Updated,
    /// An item was ticked or unticked (its version did not move).
    Checked,
    Removed,
    /// The list was deleted; nothing more comes.
    Deleted,
    /// Changes may have been missed (a reconnect on the server's side): here is the list as it is.
    Resync,
}

impl ShoppingListAction {
    fn from_db(action: &str) -> Self {
        match action {
            "ADDED" => Self::Added,
            "CHECKED" => Self::Checked,
            "REMOVED" => Self::Removed,
            "DELETED" => Self::Deleted,
            _ => Self::Updated,
        }
    }
}

/// A change of a watched list, with the list as it is after it.
#[derive(SimpleObject)]
pub struct ShoppingListChange {
    pub list_id: Uuid,
    pub action: ShoppingListAction,
    /// The items the change concerns (empty for DELETED and RESYNC, and past 100 items).
    pub item_ids: Vec<Uuid>,
    /// The list's version after the change. Versions only grow: one not above what the client holds is
    /// never sent, and a gap means changes were merged into this one (the list is whole either way).
    pub version: i32,
    /// The list and its items now; null once DELETED.
    pub list: Option<ListView>,
}

/// One watcher's state: what it watches, as whom, and the last version it was sent.
struct Watch {
    pool: DbPool,
    viewer: Uuid,
    list_id: Uuid,
    sent: i32,
}

impl Watcher for Watch {
    type Change = ShoppingListChange;

    /// The list's deletion ends the watch, and so does a list that is no longer the viewer's to see (with
    /// `NOT_FOUND`); a change read with a version already sent is not sent again.
    async fn on(&mut self, event: Event) -> Step<ShoppingListChange> {
        let (action, item_ids) = match event {
            Event::ShoppingList { id, action, items, .. } if id == self.list_id => {
                (ShoppingListAction::from_db(&action), items)
            }
            Event::Resync => (ShoppingListAction::Resync, Vec::new()),
            _ => return Step::Skip,
        };
        if action == ShoppingListAction::Deleted {
            return Step::Last(Ok(ShoppingListChange {
                list_id: self.list_id,
                action,
                item_ids: Vec::new(),
                version: self.sent + 1,
                list: None,
            }));
        }
        let read = async {
            let mut conn = self.pool.get().await.map_err(AppError::from)?;
            let list = ShoppingList::find(&mut conn, self.viewer, self.list_id).await?;
            let mut items = ShoppingList::items(&mut conn, self.viewer, &[self.list_id]).await?;
            AppResult::Ok(ListView::new(list, &mut items))
        };
        match read.await {
            Ok(list) if list.version > self.sent => {
                self.sent = list.version;
                Step::Send(Ok(ShoppingListChange {
                    list_id: self.list_id,
                    action,
                    item_ids,
                    version: list.version,
                    list: Some(list),
                }))
            }
            Ok(_) => Step::Skip,
            Err(e @ AppError::NotFound) => Step::Last(Err(e.extend())),
            Err(e) => Step::Send(Err(e.extend())),
        }
    }
}

#[derive(Default)]
pub struct ShoppingListSubscription;

#[async_graphql::Subscription]
impl ShoppingListSubscription {
    /// Every change of a saved list (items added, edited, ticked, removed; the list deleted), by anyone who
    /// shares it and from any server, with the list as it is after it. Starts with nothing: read the list
    /// (`savedShoppingList`) after subscribing, and drop any change whose `version` is not above the one
    /// read. A list the viewer cannot see is `NOT_FOUND`, and so is one they stop seeing (they left the
    /// household), which ends the subscription.
    async fn shopping_list_changed(
        &self,
        ctx: &Context<'_>,
        list_id: Uuid,
    ) -> async_graphql::Result<impl futures_util::Stream<Item = async_graphql::Result<ShoppingListChange>>> {
        let viewer = viewer_id(ctx).extend()?;
        let pool = ctx.data::<DbPool>()?.clone();
        // Subscribed before the list is read: nothing that happens in between is missed.
        let events = ctx.data::<std::sync::Arc<Hub>>()?.subscribe();
        let mut conn = pool.get().await.map_err(AppError::from).extend()?;
        let list = ShoppingList::find(&mut conn, viewer, list_id).await.gql()?;
        drop(conn);
        let watcher = Watch {
            pool,
            viewer,
            list_id,
            sent: list.version,
        };
        Ok(watch(events, watcher))
    }
}
