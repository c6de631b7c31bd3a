//! Plans, live: `mealPlanChanged` tells every watcher of a plan what changed (entries added, moved or removed,
//! the plan edited or deleted), by anyone who shares it and from any instance, with the plan as it is after it
//! (re-read in the watcher's own scope).

use async_graphql::{Context, ErrorExtensions as _, ResultExt as _, SimpleObject};
use uuid::Uuid;

use super::graphql::{views, MealPlanView};
use super::model::MealPlan;
use crate::db::DbPool;
use crate::error::{AppError, GqlResult as _};
use crate::live::{watch, Event, Hub, Step, Watcher};
use crate::resolver::viewer_id;

/// What happened to a watched plan.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum MealPlanAction {
    /// Entries were added.
    Added,
    /// Entries were moved.
    Updated,
    Removed,
    /// The plan's own fields changed (name, dates, which plan is active).
    PlanUpdated,
    /// The plan was deleted; nothing more comes.
    Deleted,
    /// Changes may have been missed (a reconnect on the server's side): here is the plan as it is.
    Resync,
}

impl MealPlanAction {
    fn from_db(action: &str) -> Self {
        match action {
            "ADDED" => Self::Added,
            "REMOVED" => Self::Removed,
            "PLAN_UPDATED" => Self::PlanUpdated,
            "DELETED" => Self::Deleted,
            _ => Self::Updated,
        }
    }
}

/// A change of a watched plan, with the plan and all its entries as they are after it.
#[derive(SimpleObject)]
pub struct MealPlanChange {
    pub plan_id: Uuid,
    pub action: MealPlanAction,
    /// Null once DELETED.
    pub plan: Option<MealPlanView>,
}

struct Watch {
    pool: DbPool,
    viewer: Uuid,
    plan_id: Uuid,
}

impl Watcher for Watch {
    type Change = MealPlanChange;

    /// The plan's deletion ends the watch, and so does a plan that is no longer the viewer's to see (with
    /// `NOT_FOUND`).
    async fn on(&mut self, event: Event) -> Step<MealPlanChange> {
        let action = match event {
            Event::MealPlan { id, action } if id == self.plan_id => MealPlanAction::from_db(&action),
            Event::Resync => MealPlanAction::Resync,
            _ => return Step::Skip,
        };
        if action == MealPlanAction::Deleted {
            return Step::Last(Ok(MealPlanChange {
                plan_id: self.plan_id,
                action,
                plan: None,
            }));
        }
        let read = async {
            let mut conn = self.pool.get().await.map_err(AppError::from)?;
            let plan = MealPlan::find(&mut conn, self.viewer, self.plan_id).await?;
            views(&mut conn, self.viewer, vec![plan], true)
                .await?
                .pop()
                .ok_or(AppError::NotFound)
        };
        match read.await {
            Ok(plan) => Step::Send(Ok(MealPlanChange {
                plan_id: self.plan_id,
                action,
                plan: Some(plan),
            })),
            Err(e @ AppError::NotFound) => Step::Last(Err(e.extend())),
            Err(e) => Step::Send(Err(e.extend())),
        }
    }
}

#[derive(Default)]
pub struct MealPlanSubscription;

#[async_graphql::Subscription]
impl MealPlanSubscription {
    /// Every change of a plan (entries added, moved or removed; the plan edited or deleted), by anyone who
    /// shares it and from any server, with the plan and its entries as they are after it. A plan the viewer
    /// cannot see is `NOT_FOUND`, and so is one they stop seeing (they left the household), which ends it.
    async fn meal_plan_changed(
        &self,
        ctx: &Context<'_>,
        plan_id: Uuid,
    ) -> async_graphql::Result<impl futures_util::Stream<Item = async_graphql::Result<MealPlanChange>>> {
        let viewer = viewer_id(ctx).extend()?;
        let pool = ctx.data::<DbPool>()?.clone();
        // Subscribed before the plan is checked: nothing that happens in between is missed.
        let events = ctx.data::<std::sync::Arc<Hub>>()?.subscribe();
        let mut conn = pool.get().await.map_err(AppError::from).extend()?;
        MealPlan::find(&mut conn, viewer, plan_id).await.gql()?;
        drop(conn);
        Ok(watch(events, Watch { pool, viewer, plan_id }))
    }
}
