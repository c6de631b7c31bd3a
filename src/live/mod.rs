//! Live changes: what PostgreSQL's triggers announce on the `homechef_live` channel (ids and versions only,
//! from whichever instance made the change), fanned out to this instance's subscriptions. Subscribers re-read
//! what changed with their viewer's scope; a notification never carries data.
//!
//! One connection per instance listens. When it is lost, the hub reconnects and sends `Resync` to every
//! subscriber, who re-reads what it watches: notifications sent meanwhile are gone, the rows are not.

use std::sync::Arc;
use std::time::Duration;

use diesel_async::SimpleAsyncConnection as _;
use futures_util::StreamExt as _;
use rocket::fairing::AdHoc;
use serde::Deserialize;
use tokio::sync::broadcast;
use uuid::Uuid;

/// The channel the migrations' triggers notify.
pub const CHANNEL: &str = "homechef_live";
/// Events a slow subscriber may fall behind by before it is told to re-read (`Resync`).
const BACKLOG: usize = 1024;
/// Waits between attempts to listen again after the connection was lost.
const RECONNECT: [Duration; 4] = [
    Duration::from_millis(100),
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(15),
];

/// What changed, as the database announced it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Event {
    /// A list's items changed (`action`: ADDED, UPDATED, CHECKED, REMOVED), or the list was DELETED.
    ShoppingList {
        id: Uuid,
        version: i32,
        action: String,
        #[serde(default)]
        items: Vec<Uuid>,
    },
    /// A plan's entries were ADDED, UPDATED (moved) or REMOVED, or the plan was PLAN_UPDATED or DELETED.
    MealPlan { id: Uuid, action: String },
    /// A household was renamed or deleted, or someone joined, left or was removed (`departed`).
    Household { id: Uuid, departed: Option<Uuid> },
    /// A bulk import finished an address or changed state.
    RecipeImport { id: Uuid },
    /// Notifications may have been missed (the hub reconnected, or this subscriber fell behind): re-read.
    #[serde(skip)]
    Resync,
}

/// This instance's fan-out of the database's notifications.
pub struct Hub {
    events: broadcast::Sender<Event>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            events: broadcast::channel(BACKLOG).0,
        }
    }
}

impl Hub {
    /// Every event from now on; a receiver that falls `BACKLOG` behind gets `Resync` (see `next`).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The next event for `receiver`; `None` when the hub is gone.
    pub async fn next(receiver: &mut broadcast::Receiver<Event>) -> Option<Event> {
        match receiver.recv().await {
            Ok(event) => Some(event),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Event::Resync),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// Listens on `CHANNEL` from lift-off, reconnecting for as long as the server runs.
    pub fn fairing(self: Arc<Self>, database_url: String) -> AdHoc {
        AdHoc::on_liftoff("live changes", move |_| {
            Box::pin(async move {
                tokio::spawn(async move { self.listen(&database_url).await });
            })
        })
    }

    async fn listen(&self, database_url: &str) {
        let mut failures = 0usize;
        loop {
            match self.listen_once(database_url).await {
                Ok(()) => failures = 0,
                Err(e) => {
                    tracing::warn!(error = %e, "live changes: not listening");
                    failures += 1;
                }
            }
            tokio::time::sleep(RECONNECT[failures.min(RECONNECT.len() - 1)]).await;
        }
    }

    /// One connection's life: `Ok` when it ended after having listened.
    async fn listen_once(&self, database_url: &str) -> anyhow::Result<()> {
        let mut conn = crate::db::connect(database_url).await?;
        conn.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        tracing::info!("live changes: listening");
        // Whatever was announced while nobody listened is re-read by every subscriber, once, now that it can be.
        let _ = self.events.send(Event::Resync);
        let mut notifications = std::pin::pin!(conn.notifications_stream());
        while let Some(notification) = notifications.next().await {
            match notification {
                Ok(n) => match serde_json::from_str::<Event>(&n.payload) {
                    Ok(event) => {
                        let _ = self.events.send(event);
                    }
                    Err(e) => tracing::warn!(error = %e, "live changes: a notification not understood"),
                },
                Err(e) => anyhow::bail!("the listening connection failed: {e}"),
            }
        }
        Ok(())
    }
}

/// What a watcher makes of one event.
pub enum Step<C> {
    /// Not one it watches (or nothing new): wait for the next.
    Skip,
    /// Send this, and go on watching.
    Send(async_graphql::Result<C>),
    /// Send this, and end the subscription.
    Last(async_graphql::Result<C>),
}

/// One subscription's view of the hub: what it makes of each event (re-reading with its viewer's scope).
pub trait Watcher: Send + 'static {
    type Change: Send + 'static;

    fn on(&mut self, event: Event) -> impl std::future::Future<Output = Step<Self::Change>> + Send;
}

/// A subscription's stream: every event of `events` (subscribed before the watched object was first read, so
/// that nothing in between is missed) offered to `watcher`, until it sends its last change or the hub closes.
pub fn watch<W: Watcher>(
    events: broadcast::Receiver<Event>,
    watcher: W,
) -> impl futures_util::Stream<Item = async_graphql::Result<W::Change>> + Send {
    futures_util::stream::unfold(Some((events, watcher)), |state| async move {
        let (mut events, mut watcher) = state?;
        loop {
            match watcher.on(Hub::next(&mut events).await?).await {
                Step::Skip => {}
                Step::Send(change) => return Some((change, Some((events, watcher)))),
                Step::Last(change) => return Some((change, None)),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_triggers_payloads_are_read() -> serde_json::Result<()> {
        let list: Event = serde_json::from_str(
            r#"{"kind" : "SHOPPING_LIST", "id" : "00000000-0000-0000-0000-0000000000bb", "version" : 3,
                "action" : "CHECKED", "items" : ["00000000-0000-0000-0000-0000000000c1"]}"#,
        )?;
        assert_eq!(
            list,
            Event::ShoppingList {
                id: Uuid::from_u128(0xbb),
                version: 3,
                action: "CHECKED".into(),
                items: vec![Uuid::from_u128(0xc1)],
            }
        );
        let gone: Event = serde_json::from_str(
            r#"{"kind" : "HOUSEHOLD", "id" : "00000000-0000-0000-0000-0000000000aa", "departed" : null}"#,
        )?;
        assert_eq!(
            gone,
            Event::Household {
                id: Uuid::from_u128(0xaa),
                departed: None
            }
        );
        Ok(())
    }
}
