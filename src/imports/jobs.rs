//! Bulk imports by address (`startRecipeImport`): the `recipe_imports` and `recipe_import_urls` tables. A job is
//! run by whichever instance holds its lease; the lease is renewed at every address, so a job whose holder stopped
//! is taken up by another instance (or the same one restarted) from its first address not yet done.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{recipe_import_urls, recipe_imports};

/// Addresses in one job.
pub const MAX_URLS: usize = 500;
/// How long a claim on a job lasts without renewal.
const LEASE_SECONDS: i32 = 60;

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = recipe_imports, check_for_backend(diesel::pg::Pg))]
pub struct Job {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub state: String,
    pub total: i32,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = recipe_import_urls, check_for_backend(diesel::pg::Pg))]
pub struct JobUrl {
    pub position: i32,
    pub url: String,
    pub outcome: Option<String>,
    pub code: Option<String>,
    pub recipe_id: Option<Uuid>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// How one address ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Imported(Uuid),
    /// The person already has a recipe from this address.
    Duplicate(Uuid),
    /// With the import's error code.
    Failed(&'static str),
}

impl Job {
    /// A queued job of `urls` (checked, without repeats) for `owner`; `None` when they already have one queued or
    /// running.
    pub async fn start(conn: &mut AsyncPgConnection, owner: Uuid, urls: &[String]) -> QueryResult<Option<Job>> {
        let id = Uuid::now_v7();
        let started = conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                let job = diesel::insert_into(recipe_imports::table)
                    .values((
                        recipe_imports::id.eq(id),
                        recipe_imports::owner_id.eq(owner),
                        recipe_imports::total.eq(i32::try_from(urls.len()).unwrap_or(i32::MAX)),
                    ))
                    .returning(Job::as_returning())
                    .get_result(conn)
                    .await?;
                let rows: Vec<_> = urls
                    .iter()
                    .zip(0..)
                    .map(|(url, position): (&String, i32)| {
                        (
                            recipe_import_urls::import_id.eq(id),
                            recipe_import_urls::position.eq(position),
                            recipe_import_urls::url.eq(url),
                        )
                    })
                    .collect();
                diesel::insert_into(recipe_import_urls::table)
                    .values(&rows)
                    .execute(conn)
                    .await?;
                Ok(job)
            })
            .await;
        match started {
            Ok(job) => Ok(Some(job)),
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info))
                if info.constraint_name() == Some("recipe_imports_one_active_per_owner") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// One of the owner's jobs; `NotFound` for anyone else's.
    pub async fn find(conn: &mut AsyncPgConnection, owner: Uuid, id: Uuid) -> QueryResult<Job> {
        recipe_imports::table
            .find(id)
            .filter(recipe_imports::owner_id.eq(owner))
            .select(Job::as_select())
            .first(conn)
            .await
    }

    /// The job's addresses in order, with how each ended (`outcome` null: not yet done).
    pub async fn urls(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<JobUrl>> {
        recipe_import_urls::table
            .filter(recipe_import_urls::import_id.eq(id))
            .order(recipe_import_urls::position)
            .select(JobUrl::as_select())
            .load(conn)
            .await
    }

    /// Cancels the owner's job if it is still queued or running (its remaining addresses stay undone); the job
    /// as it is after. `NotFound` for anyone else's.
    pub async fn cancel(conn: &mut AsyncPgConnection, owner: Uuid, id: Uuid) -> QueryResult<Job> {
        diesel::update(
            recipe_imports::table
                .find(id)
                .filter(recipe_imports::owner_id.eq(owner))
                .filter(recipe_imports::state.eq_any(["QUEUED", "RUNNING"])),
        )
        .set((
            recipe_imports::state.eq("CANCELLED"),
            recipe_imports::finished_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
        Self::find(conn, owner, id).await
    }

    /// Takes the oldest job nobody holds (queued, or running under a lapsed lease): running, and leased to the
    /// caller.
    pub async fn claim(conn: &mut AsyncPgConnection) -> QueryResult<Option<Job>> {
        diesel::sql_query(
            "update recipe_imports set state = 'RUNNING', lease_until = now() + make_interval(secs => $1) \
              where id = (select id from recipe_imports \
                           where state in ('QUEUED', 'RUNNING') and (lease_until is null or lease_until < now()) \
                           order by created_at limit 1 for update skip locked) \
             returning id, owner_id, state, total, created_at, finished_at",
        )
        .bind::<diesel::sql_types::Integer, _>(LEASE_SECONDS)
        .get_result(conn)
        .await
        .optional()
    }

    /// Renews the caller's lease; false when the job is no longer running (it was cancelled).
    pub async fn renew(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
        let renewed = diesel::sql_query(
            "update recipe_imports set lease_until = now() + make_interval(secs => $2) \
              where id = $1 and state = 'RUNNING'",
        )
        .bind::<diesel::sql_types::Uuid, _>(id)
        .bind::<diesel::sql_types::Integer, _>(LEASE_SECONDS)
        .execute(conn)
        .await?;
        Ok(renewed > 0)
    }

    /// The first address not yet done.
    pub async fn next_url(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<JobUrl>> {
        recipe_import_urls::table
            .filter(recipe_import_urls::import_id.eq(id))
            .filter(recipe_import_urls::outcome.is_null())
            .order(recipe_import_urls::position)
            .select(JobUrl::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// How one address ended; false (nothing written) when it already has an outcome: another instance took the
    /// job over after this one's lease lapsed, and got there first.
    pub async fn record(conn: &mut AsyncPgConnection, id: Uuid, position: i32, outcome: Outcome) -> QueryResult<bool> {
        let (name, code, recipe) = match outcome {
            Outcome::Imported(recipe) => ("IMPORTED", None, Some(recipe)),
            Outcome::Duplicate(recipe) => ("DUPLICATE", None, Some(recipe)),
            Outcome::Failed(code) => ("FAILED", Some(code), None),
        };
        let recorded = diesel::update(
            recipe_import_urls::table
                .find((id, position))
                .filter(recipe_import_urls::outcome.is_null()),
        )
        .set((
            recipe_import_urls::outcome.eq(name),
            recipe_import_urls::code.eq(code),
            recipe_import_urls::recipe_id.eq(recipe),
            recipe_import_urls::finished_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
        Ok(recorded > 0)
    }

    /// Every address is done: the job is.
    pub async fn finish(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
        diesel::update(
            recipe_imports::table
                .find(id)
                .filter(recipe_imports::state.eq("RUNNING")),
        )
        .set((
            recipe_imports::state.eq("DONE"),
            recipe_imports::finished_at.eq(diesel::dsl::now),
            recipe_imports::lease_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await
        .map(drop)
    }
}
