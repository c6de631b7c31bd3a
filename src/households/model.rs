//! The `households`, `household_members` and `household_invites` tables. Leaving (and removal, and account
//! deletion) is the database's `leave_household`, so that every path hands ownership and shared objects on
//! in the same way.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::db::schema::{household_invites, household_members, households, users};
use crate::users::User;

/// People in one household, owner included.
pub const MAX_MEMBERS: i64 = 20;
/// Households one person may be in.
pub const MAX_HOUSEHOLDS: i64 = 10;
/// Invites of one household that are still open.
pub const MAX_OPEN_INVITES: i64 = 20;
/// How long an invite can be accepted.
pub const INVITE_LIFETIME: chrono::Duration = chrono::Duration::hours(24);
/// Longest code accepted (a code is 32 characters); anything longer is not looked up.
pub const MAX_CODE_CHARS: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "HouseholdRole")]
pub enum Role {
    Owner,
    Member,
}

impl Role {
    pub fn from_db(role: &str) -> Self {
        match role {
            "OWNER" => Self::Owner,
            _ => Self::Member,
        }
    }
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = households, check_for_backend(Pg))]
pub struct Household {
    pub id: Uuid,
    pub name: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A member with the name they go by.
#[derive(Clone, Debug, Queryable)]
pub struct Member {
    pub household_id: Uuid,
    pub user_id: Uuid,
    pub role: String,
    pub joined_at: DateTime<Utc>,
    pub name: Option<String>,
}

impl Member {
    pub fn role(&self) -> Role {
        Role::from_db(&self.role)
    }
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = household_invites, check_for_backend(Pg))]
pub struct Invite {
    pub id: Uuid,
    pub household_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// The ids of the households `user` is in, as a subquery: the scope of every shared object.
pub fn joined(user: Uuid) -> household_members::BoxedQuery<'static, Pg, diesel::sql_types::Uuid> {
    household_members::table
        .filter(household_members::user_id.eq(user))
        .select(household_members::household_id)
        .into_boxed()
}

/// `NotFound` unless the viewer may use the set `household` names: a household they are in, or their own (`None`).
pub async fn check_set(conn: &mut AsyncPgConnection, viewer: Uuid, household: Option<Uuid>) -> QueryResult<()> {
    match household {
        Some(id) => Household::find(conn, viewer, id).await.map(drop),
        None => Ok(()),
    }
}

/// A filter on `T` made at run time (a boxed condition), as the shared tables' scopes are.
pub type Scope<T> = Box<dyn BoxableExpression<T, Pg, SqlType = diesel::sql_types::Bool>>;

/// The rows of a shared table (one with `owner_id` and `household_id`) the viewer may see: their personal ones
/// and those of the households they are in. `shared_scope!(shopping_lists, viewer)`.
macro_rules! shared_scope {
    ($table:ident, $viewer:expr) => {{
        use diesel::{BoolExpressionMethods as _, ExpressionMethods as _, NullableExpressionMethods as _};
        let viewer: uuid::Uuid = $viewer;
        $table::owner_id
            .eq(viewer)
            .and($table::household_id.is_null())
            .or($table::household_id
                .assume_not_null()
                .eq_any($crate::households::joined(viewer)))
    }};
}
pub(crate) use shared_scope;

/// One set of a shared table's rows that a quota counts and an active flag is unique in: the viewer's personal
/// rows (`household: None`), or a household's. A `Scope` of the table: `shared_set!(meal_plans, viewer, household)`.
macro_rules! shared_set {
    ($table:ident, $viewer:expr, $household:expr) => {{
        use diesel::{BoolExpressionMethods as _, ExpressionMethods as _, NullableExpressionMethods as _};
        let set: $crate::households::Scope<$table::table> = match $household {
            Some(household) => Box::new($table::household_id.assume_not_null().eq(household)),
            None => Box::new($table::owner_id.eq($viewer).and($table::household_id.is_null())),
        };
        set
    }};
}
pub(crate) use shared_set;

/// Locks what decisions about one `shared_set!` (how many it holds, which of it is active) are taken under, until
/// the transaction ends: the household's row (`NotFound` unless the viewer is in it), or the viewer's own.
pub async fn lock_set(conn: &mut AsyncPgConnection, viewer: Uuid, household: Option<Uuid>) -> QueryResult<()> {
    match household {
        Some(household) => households::table
            .find(household)
            .filter(households::id.eq_any(joined(viewer)))
            .select(households::id)
            .for_update()
            .first::<Uuid>(conn)
            .await
            .map(drop),
        None => User::lock(conn, viewer).await,
    }
}

/// One page of what the viewer may see of a shared table (keyed by a time-ordered `id`), newest first, after the
/// cursor id `$after` when given: `shared_page!(conn, meal_plans, MealPlan, viewer, after, limit)`.
macro_rules! shared_page {
    ($conn:expr, $table:ident, $row:ty, $viewer:expr, $after:expr, $limit:expr) => {{
        use diesel::{ExpressionMethods as _, QueryDsl as _, SelectableHelper as _};
        use diesel_async::RunQueryDsl as _;
        let mut query = $table::table
            .filter($crate::households::shared_scope!($table, $viewer))
            .select(<$row>::as_select())
            .order($table::id.desc())
            .limit($limit)
            .into_boxed();
        if let Some(after) = $after {
            query = query.filter($table::id.lt(after));
        }
        query.load::<$row>($conn).await
    }};
}
pub(crate) use shared_page;

/// What an invite's code is stored as.
fn digest(code: &str) -> Vec<u8> {
    Sha256::digest(code.as_bytes()).to_vec()
}

/// Why an invite could not be created or accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The viewer is not in it (or it does not exist).
    NotFound,
    /// The viewer is in it but is not its owner.
    NotOwner,
    /// A cap (members, households, open invites).
    Full(&'static str),
}

type Refused<T> = Result<Result<T, Refusal>, diesel::result::Error>;

impl Household {
    /// The viewer's households with their role, oldest membership first.
    pub async fn mine(conn: &mut AsyncPgConnection, user: Uuid) -> QueryResult<Vec<(Household, String)>> {
        households::table
            .inner_join(household_members::table)
            .filter(household_members::user_id.eq(user))
            .order((household_members::joined_at, households::id))
            .select((Household::as_select(), household_members::role))
            .load(conn)
            .await
    }

    /// One of the viewer's households with their role; `NotFound` for any other.
    pub async fn find(conn: &mut AsyncPgConnection, user: Uuid, id: Uuid) -> QueryResult<(Household, String)> {
        households::table
            .inner_join(household_members::table)
            .filter(household_members::user_id.eq(user).and(households::id.eq(id)))
            .select((Household::as_select(), household_members::role))
            .first(conn)
            .await
    }

    /// The members of several households, oldest first.
    pub async fn members(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Member>> {
        household_members::table
            .inner_join(users::table)
            .filter(household_members::household_id.eq_any(ids))
            .order((household_members::joined_at, household_members::user_id))
            .select((
                household_members::household_id,
                household_members::user_id,
                household_members::role,
                household_members::joined_at,
                users::name,
            ))
            .load(conn)
            .await
    }

    /// The open invites of a household the viewer owns (empty for anyone else).
    pub async fn open_invites(conn: &mut AsyncPgConnection, user: Uuid, id: Uuid) -> QueryResult<Vec<Invite>> {
        household_invites::table
            .filter(household_invites::household_id.eq(id))
            .filter(household_invites::household_id.eq_any(owned(user)))
            .filter(open())
            .order(household_invites::created_at.desc())
            .select(Invite::as_select())
            .load(conn)
            .await
    }

    /// Creates a household with the viewer as its owner.
    pub async fn create(conn: &mut AsyncPgConnection, user: Uuid, name: String) -> Refused<Household> {
        conn.transaction(async |conn| {
            User::lock(conn, user).await?;
            if memberships(conn, user).await? >= MAX_HOUSEHOLDS {
                return Ok(Err(Refusal::Full("households per person")));
            }
            let household: Household = diesel::insert_into(households::table)
                .values((households::id.eq(Uuid::now_v7()), households::name.eq(name)))
                .returning(Household::as_returning())
                .get_result(conn)
                .await?;
            diesel::insert_into(household_members::table)
                .values((
                    household_members::household_id.eq(household.id),
                    household_members::user_id.eq(user),
                    household_members::role.eq("OWNER"),
                ))
                .execute(conn)
                .await?;
            Ok(Ok(household))
        })
        .await
    }

    /// A new invite to a household the viewer owns, with its code (shown once; only its digest is kept).
    pub async fn invite(conn: &mut AsyncPgConnection, user: Uuid, id: Uuid) -> Refused<(Invite, String)> {
        conn.transaction(async |conn| {
            if let Err(refusal) = lock_as_owner(conn, user, id).await? {
                return Ok(Err(refusal));
            }
            let open: i64 = household_invites::table
                .filter(household_invites::household_id.eq(id))
                .filter(open())
                .count()
                .get_result(conn)
                .await?;
            if open >= MAX_OPEN_INVITES {
                return Ok(Err(Refusal::Full("open invites per household")));
            }
            let code = new_code();
            let invite = diesel::insert_into(household_invites::table)
                .values((
                    household_invites::id.eq(Uuid::now_v7()),
                    household_invites::household_id.eq(id),
                    household_invites::code_sha256.eq(digest(&code)),
                    household_invites::created_by.eq(user),
                    household_invites::expires_at.eq(Utc::now() + INVITE_LIFETIME),
                ))
                .returning(Invite::as_returning())
                .get_result(conn)
                .await?;
            Ok(Ok((invite, code)))
        })
        .await
    }

    /// Joins the household of an open invite, which is then used up. An unknown, used, revoked or expired
    /// code is `NotFound` alike; joining a household one is already in uses nothing and answers it.
    pub async fn accept(conn: &mut AsyncPgConnection, user: Uuid, code: &str) -> Refused<Household> {
        conn.transaction(async |conn| {
            let Some(invite) = household_invites::table
                .filter(household_invites::code_sha256.eq(digest(code)))
                .filter(open())
                .select(Invite::as_select())
                .for_update()
                .first(conn)
                .await
                .optional()?
            else {
                return Ok(Err(Refusal::NotFound));
            };
            User::lock(conn, user).await?;
            households::table
                .find(invite.household_id)
                .select(households::id)
                .for_update()
                .first::<Uuid>(conn)
                .await?;
            if let Ok(found) = Self::find(conn, user, invite.household_id).await {
                return Ok(Ok(found.0));
            }
            if memberships(conn, user).await? >= MAX_HOUSEHOLDS {
                return Ok(Err(Refusal::Full("households per person")));
            }
            let members: i64 = household_members::table
                .filter(household_members::household_id.eq(invite.household_id))
                .count()
                .get_result(conn)
                .await?;
            if members >= MAX_MEMBERS {
                return Ok(Err(Refusal::Full("members per household")));
            }
            diesel::insert_into(household_members::table)
                .values((
                    household_members::household_id.eq(invite.household_id),
                    household_members::user_id.eq(user),
                    household_members::role.eq("MEMBER"),
                ))
                .execute(conn)
                .await?;
            diesel::update(household_invites::table.find(invite.id))
                .set((
                    household_invites::accepted_by.eq(user),
                    household_invites::accepted_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?;
            Ok(Ok(Self::find(conn, user, invite.household_id).await?.0))
        })
        .await
    }

    /// Revokes an open invite of a household the viewer owns; false when there is none.
    pub async fn revoke(conn: &mut AsyncPgConnection, user: Uuid, invite: Uuid) -> QueryResult<bool> {
        let revoked = diesel::update(
            household_invites::table
                .find(invite)
                .filter(household_invites::household_id.eq_any(owned(user)))
                .filter(household_invites::accepted_at.is_null())
                .filter(household_invites::revoked_at.is_null()),
        )
        .set(household_invites::revoked_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
        Ok(revoked > 0)
    }

    /// The viewer leaves; false when they were not in it. The owner's role passes to the oldest member; the
    /// last one out deletes the household with what it shares.
    pub async fn leave(conn: &mut AsyncPgConnection, user: Uuid, id: Uuid) -> QueryResult<bool> {
        leave(conn, id, user).await
    }

    /// The owner removes another member. `NotOwner` for a member who is not the owner.
    pub async fn remove(conn: &mut AsyncPgConnection, owner: Uuid, id: Uuid, member: Uuid) -> Refused<()> {
        conn.transaction(async |conn| {
            if let Err(refusal) = lock_as_owner(conn, owner, id).await? {
                return Ok(Err(refusal));
            }
            Ok(match leave(conn, id, member).await? {
                true => Ok(()),
                false => Err(Refusal::NotFound),
            })
        })
        .await
    }

    /// The owner hands the household to another member and becomes a member.
    pub async fn transfer(conn: &mut AsyncPgConnection, owner: Uuid, id: Uuid, heir: Uuid) -> Refused<()> {
        conn.transaction(async |conn| {
            if let Err(refusal) = lock_as_owner(conn, owner, id).await? {
                return Ok(Err(refusal));
            }
            let member = household_members::table
                .filter(household_members::household_id.eq(id))
                .filter(household_members::user_id.eq(heir))
                .filter(household_members::role.eq("MEMBER"));
            if diesel::select(diesel::dsl::exists(member))
                .get_result::<bool>(conn)
                .await?
            {
                let mine = household_members::table
                    .filter(household_members::household_id.eq(id))
                    .filter(household_members::user_id.eq(owner));
                diesel::update(mine)
                    .set(household_members::role.eq("MEMBER"))
                    .execute(conn)
                    .await?;
                diesel::update(member)
                    .set(household_members::role.eq("OWNER"))
                    .execute(conn)
                    .await?;
                Ok(Ok(()))
            } else {
                Ok(Err(Refusal::NotFound))
            }
        })
        .await
    }

    /// Renames a household the viewer is in (any member may).
    pub async fn rename(conn: &mut AsyncPgConnection, user: Uuid, id: Uuid, name: String) -> QueryResult<Household> {
        diesel::update(households::table.find(id).filter(households::id.eq_any(joined(user))))
            .set((
                households::name.eq(name),
                households::version.eq(households::version + 1),
            ))
            .returning(Household::as_returning())
            .get_result(conn)
            .await
    }
}

/// The households `user` owns, as a subquery.
fn owned(user: Uuid) -> household_members::BoxedQuery<'static, Pg, diesel::sql_types::Uuid> {
    household_members::table
        .filter(household_members::user_id.eq(user))
        .filter(household_members::role.eq("OWNER"))
        .select(household_members::household_id)
        .into_boxed()
}

/// An invite not yet accepted, revoked or expired.
fn open() -> Scope<household_invites::table> {
    Box::new(
        household_invites::accepted_at
            .is_null()
            .and(household_invites::revoked_at.is_null())
            .and(household_invites::expires_at.gt(diesel::dsl::now)),
    )
}

/// Locks the household's row for this transaction (membership decisions one after another) if the viewer owns
/// it: `NotFound` when they are not in it, `NotOwner` when they are a member.
async fn lock_as_owner(conn: &mut AsyncPgConnection, user: Uuid, id: Uuid) -> QueryResult<Result<(), Refusal>> {
    households::table
        .find(id)
        .select(households::id)
        .for_update()
        .first::<Uuid>(conn)
        .await
        .optional()?;
    let role: Option<String> = household_members::table
        .filter(household_members::household_id.eq(id))
        .filter(household_members::user_id.eq(user))
        .select(household_members::role)
        .first(conn)
        .await
        .optional()?;
    Ok(match role.as_deref().map(Role::from_db) {
        Some(Role::Owner) => Ok(()),
        Some(Role::Member) => Err(Refusal::NotOwner),
        None => Err(Refusal::NotFound),
    })
}

async fn memberships(conn: &mut AsyncPgConnection, user: Uuid) -> QueryResult<i64> {
    household_members::table
        .filter(household_members::user_id.eq(user))
        .count()
        .get_result(conn)
        .await
}

diesel::define_sql_function! {
    /// The migration's `leave_household(household, member)`.
    fn leave_household(household: diesel::sql_types::Uuid, member: diesel::sql_types::Uuid) -> Bool;
}

async fn leave(conn: &mut AsyncPgConnection, id: Uuid, member: Uuid) -> QueryResult<bool> {
    diesel::select(leave_household(id, member)).get_result(conn).await
}

/// 24 bytes of the operating system's randomness, URL-safe (32 characters).
fn new_code() -> String {
    use base64::Engine as _;
    let bytes: [u8; 24] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
