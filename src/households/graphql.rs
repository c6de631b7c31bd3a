//! The households slice of the GraphQL schema: households, their members and invites.

use async_graphql::{Context, ErrorExtensions as _, Object, ResultExt as _, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::model::{Household, Invite, Member, Refusal, Role, MAX_CODE_CHARS};
use crate::db::DbPool;
use crate::error::{deleted, AppError, AppResult, GqlResult as _};
use crate::live::{watch, Event, Hub, Step, Watcher};
use crate::resolver::{conn, viewer_id};
use crate::text::{self, Lines};

const MAX_NAME: usize = 255;

/// People who share meal plans and shopping lists and see each other's changes live.
#[derive(SimpleObject)]
#[graphql(name = "Household")]
pub struct HouseholdView {
    pub id: Uuid,
    pub name: String,
    /// The viewer's role in it.
    pub role: Role,
    /// Oldest first; the owner is one of them.
    pub members: Vec<HouseholdMember>,
    /// Invites not yet accepted, revoked or expired (only the owner sees them).
    pub open_invites: Vec<HouseholdInvite>,
    /// Increases when the household is renamed.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct HouseholdMember {
    pub user_id: Uuid,
    pub name: Option<String>,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

impl From<Member> for HouseholdMember {
    fn from(m: Member) -> Self {
        Self {
            role: m.role(),
            user_id: m.user_id,
            name: m.name,
            joined_at: m.joined_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct HouseholdInvite {
    pub id: Uuid,
    pub household_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl From<Invite> for HouseholdInvite {
    fn from(i: Invite) -> Self {
        Self {
            id: i.id,
            household_id: i.household_id,
            expires_at: i.expires_at,
            created_at: i.created_at,
        }
    }
}

/// A new invite with its code, which is shown this once: pass it on to the person invited, who accepts it
/// with `acceptHouseholdInvite(code)` within 24 hours. It can be used once.
#[derive(SimpleObject)]
pub struct NewHouseholdInvite {
    pub id: Uuid,
    pub household_id: Uuid,
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

impl HouseholdView {
    /// The viewer's view of their households: one statement for the members of all, one per owned household
    /// for its open invites.
    pub async fn load(
        conn: &mut diesel_async::AsyncPgConnection,
        viewer: Uuid,
        households: Vec<(Household, String)>,
    ) -> AppResult<Vec<Self>> {
        let ids: Vec<Uuid> = households.iter().map(|(h, _)| h.id).collect();
        let mut members = Household::members(conn, &ids).await?;
        let mut views = Vec::with_capacity(households.len());
        for (household, role) in households {
            let (theirs, rest): (Vec<Member>, Vec<Member>) =
                members.into_iter().partition(|m| m.household_id == household.id);
            members = rest;
            let role = Role::from_db(&role);
            let open_invites = match role {
                Role::Owner => Household::open_invites(conn, viewer, household.id).await?,
                Role::Member => Vec::new(),
            };
            views.push(Self {
                id: household.id,
                name: household.name,
                role,
                members: theirs.into_iter().map(Into::into).collect(),
                open_invites: open_invites.into_iter().map(Into::into).collect(),
                version: household.version,
                created_at: household.created_at,
                updated_at: household.updated_at,
            });
        }
        Ok(views)
    }
}

async fn one(conn: &mut diesel_async::AsyncPgConnection, viewer: Uuid, id: Uuid) -> AppResult<HouseholdView> {
    let found = Household::find(conn, viewer, id).await?;
    HouseholdView::load(conn, viewer, vec![found])
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

fn refused(refusal: Refusal) -> AppError {
    match refusal {
        Refusal::NotFound => AppError::NotFound,
        Refusal::NotOwner => AppError::Forbidden,
        Refusal::Full(what) => AppError::QuotaExceeded(format!("too many {what}")),
    }
}

#[derive(Default)]
pub struct HouseholdQuery;

#[Object]
impl HouseholdQuery {
    /// The households the signed-in user is in, oldest membership first (at most 10).
    async fn households(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<HouseholdView>> {
        let viewer = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        let households = Household::mine(&mut conn, viewer).await.gql()?;
        HouseholdView::load(&mut conn, viewer, households).await.extend()
    }

    /// One of the signed-in user's households; any other is `NOT_FOUND`.
    async fn household(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<HouseholdView> {
        let viewer = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        one(&mut conn, viewer, id).await.extend()
    }
}

#[derive(Default)]
pub struct HouseholdMutation;

#[Object]
impl HouseholdMutation {
    /// Creates a household (1 to 255 characters) with the signed-in user as its owner. At most 10 per person.
    async fn create_household(&self, ctx: &Context<'_>, name: String) -> async_graphql::Result<HouseholdView> {
        let viewer = viewer_id(ctx).extend()?;
        let name = text::required("name", &name, MAX_NAME, Lines::Single).extend()?;
        let mut conn = conn(ctx).await?;
        let household = Household::create(&mut conn, viewer, name)
            .await
            .gql()?
            .map_err(refused)
            .extend()?;
        one(&mut conn, viewer, household.id).await.extend()
    }

    /// Renames a household (any member may).
    async fn rename_household(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        name: String,
    ) -> async_graphql::Result<HouseholdView> {
        let viewer = viewer_id(ctx).extend()?;
        let name = text::required("name", &name, MAX_NAME, Lines::Single).extend()?;
        let mut conn = conn(ctx).await?;
        Household::rename(&mut conn, viewer, id, name).await.gql()?;
        one(&mut conn, viewer, id).await.extend()
    }

    /// A single-use invite to the owner's household, valid for 24 hours (at most 20 open at once); its code is
    /// in this answer only. A member who is not the owner gets `FORBIDDEN`.
    async fn create_household_invite(
        &self,
        ctx: &Context<'_>,
        household_id: Uuid,
    ) -> async_graphql::Result<NewHouseholdInvite> {
        let viewer = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        let (invite, code) = Household::invite(&mut conn, viewer, household_id)
            .await
            .gql()?
            .map_err(refused)
            .extend()?;
        Ok(NewHouseholdInvite {
            id: invite.id,
            household_id: invite.household_id,
            code,
            expires_at: invite.expires_at,
        })
    }

    /// Joins the household an invite is for and uses the invite up. An unknown, used, revoked or expired code
    /// is `NOT_FOUND`, all alike. Accepting an invite to a household one is already in changes nothing.
    async fn accept_household_invite(&self, ctx: &Context<'_>, code: String) -> async_graphql::Result<HouseholdView> {
        let viewer = viewer_id(ctx).extend()?;
        if code.chars().count() > MAX_CODE_CHARS {
            return Err(AppError::NotFound).extend();
        }
        let mut conn = conn(ctx).await?;
        let household = Household::accept(&mut conn, viewer, code.trim())
            .await
            .gql()?
            .map_err(refused)
            .extend()?;
        one(&mut conn, viewer, household.id).await.extend()
    }

    /// Revokes an open invite of the owner's household. Returns true.
    async fn revoke_household_invite(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<bool> {
        let viewer = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        deleted(Household::revoke(&mut conn, viewer, id).await.gql()?)
    }

    /// Leaves a household. An owner's role passes to the oldest member; the shared lists one made stay with
    /// the household; the last one out deletes it with everything it shares. Returns true.
    async fn leave_household(&self, ctx: &Context<'_>, household_id: Uuid) -> async_graphql::Result<bool> {
        let viewer = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        deleted(Household::leave(&mut conn, viewer, household_id).await.gql()?)
    }

    /// The owner removes a member (their live subscriptions are closed). Returns true.
    async fn remove_household_member(
        &self,
        ctx: &Context<'_>,
        household_id: Uuid,
        user_id: Uuid,
    ) -> async_graphql::Result<bool> {
        let viewer = viewer_id(ctx).extend()?;
        if user_id == viewer {
            return Err(AppError::bad_input(
                "userId",
                "to leave your own household use leaveHousehold",
            ))
            .extend();
        }
        let mut conn = conn(ctx).await?;
        Household::remove(&mut conn, viewer, household_id, user_id)
            .await
            .gql()?
            .map_err(refused)
            .extend()?;
        Ok(true)
    }

    /// The owner hands the household to another member and becomes a member.
    async fn transfer_household_ownership(
        &self,
        ctx: &Context<'_>,
        household_id: Uuid,
        user_id: Uuid,
    ) -> async_graphql::Result<HouseholdView> {
        let viewer = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        Household::transfer(&mut conn, viewer, household_id, user_id)
            .await
            .gql()?
            .map_err(refused)
            .extend()?;
        one(&mut conn, viewer, household_id).await.extend()
    }
}

/// A change of one of the viewer's households, with all of them as they are after it.
#[derive(SimpleObject)]
pub struct HouseholdChange {
    /// The household that changed; null when changes may have been missed (a reconnect on the server's side).
    pub household_id: Option<Uuid>,
    /// Who left or was removed, if someone did. When it is the viewer, the household is no longer among
    /// `households`: drop what it shares.
    pub departed: Option<Uuid>,
    pub households: Vec<HouseholdView>,
}

struct Watch {
    pool: DbPool,
    viewer: Uuid,
    /// The households the viewer was in when last read.
    watched: Vec<Uuid>,
}

impl Watcher for Watch {
    type Change = HouseholdChange;

    async fn on(&mut self, event: Event) -> Step<HouseholdChange> {
        let (household_id, departed) = match event {
            Event::Household { id, departed } if self.watched.contains(&id) || departed == Some(self.viewer) => {
                (Some(id), departed)
            }
            Event::Resync => (None, None),
            _ => return Step::Skip,
        };
        let read = async {
            let mut conn = self.pool.get().await.map_err(AppError::from)?;
            let households = Household::mine(&mut conn, self.viewer).await?;
            HouseholdView::load(&mut conn, self.viewer, households).await
        };
        Step::Send(match read.await {
            Ok(households) => {
                self.watched = households.iter().map(|h| h.id).collect();
                Ok(HouseholdChange {
                    household_id,
                    departed,
                    households,
                })
            }
            Err(e) => Err(e.extend()),
        })
    }
}

#[derive(Default)]
pub struct HouseholdSubscription;

#[async_graphql::Subscription]
impl HouseholdSubscription {
    /// Every change of the viewer's households: renamed, someone joined, left or was removed (the viewer
    /// included), ownership handed on, deleted. Each comes with the viewer's households as they are after it.
    async fn household_changed(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl futures_util::Stream<Item = async_graphql::Result<HouseholdChange>>> {
        let viewer = viewer_id(ctx).extend()?;
        let pool = ctx.data::<DbPool>()?.clone();
        let events = ctx.data::<std::sync::Arc<Hub>>()?.subscribe();
        let mut conn = pool.get().await.map_err(AppError::from).extend()?;
        let watched = Household::mine(&mut conn, viewer)
            .await
            .gql()?
            .into_iter()
            .map(|(h, _)| h.id)
            .collect();
        drop(conn);
        Ok(watch(events, Watch { pool, viewer, watched }))
    }
}
