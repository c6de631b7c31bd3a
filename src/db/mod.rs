//! The database: the connection pool we own, embedded migrations, readiness checks and, for newcomers,
//! a private PostgreSQL (`embedded`).

pub mod embedded;
pub mod schema;
pub mod tls;

use std::time::Duration;

use anyhow::Context as _;
use diesel::prelude::*;
use diesel_async::pooled_connection::{deadpool, AsyncDieselConnectionManager};
use diesel_async::{AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// The application's connection pool.
pub type DbPool = deadpool::Pool<AsyncPgConnection>;

/// A connection borrowed from the pool.
pub type PooledConnection = deadpool::Object<AsyncPgConnection>;

/// Every migration under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// How long a request waits for a pooled connection before answering "service temporarily unavailable".
const POOL_WAIT: Duration = Duration::from_secs(5);

/// Builds the pool; connections are opened lazily, so this does not touch the network.
/// Whether PostgreSQL's `timestamptz` (4713 BC to 294276 AD) can hold an instant: one outside is the
/// client's mistake and must be refused as such, not sent to the database to fail there.
pub fn fits_timestamptz(instant: &chrono::DateTime<chrono::Utc>) -> bool {
    use chrono::Datelike as _;
    (-4712..=294_275).contains(&instant.year())
}

pub fn build_pool(database_url: &str, max_size: usize) -> anyhow::Result<DbPool> {
    let mut setup = diesel_async::pooled_connection::ManagerConfig::default();
    // No `SELECT 1` on every checkout: a connection the server closed is known closed and replaced, and one
    // that fails in use is a `SERVICE_UNAVAILABLE` (a query is retried once on a fresh connection).
    setup.recycling_method = diesel_async::pooled_connection::RecyclingMethod::Fast;
    setup.custom_setup = Box::new(|url| {
        let url = url.to_owned();
        Box::pin(async move {
            let mut conn = tls::establish(&url).await?;
            diesel_async::SimpleAsyncConnection::batch_execute(&mut conn, &session_settings())
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            diesel_async::AsyncConnection::set_instrumentation(&mut conn, StatementCounter);
            Ok(conn)
        })
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, setup);
    deadpool::Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(POOL_WAIT))
        .create_timeout(Some(POOL_WAIT))
        .recycle_timeout(Some(POOL_WAIT))
        .runtime(::deadpool::Runtime::Tokio1)
        .build()
        .context("could not build the database pool")
}

/// Bounds on every pooled connection, so that PostgreSQL itself stops what a request has given up on: no
/// statement outlives the execution deadline, and a transaction left open by a lost client is rolled back
/// after the longest deadline (an upload's) rather than holding its locks.
fn session_settings() -> String {
    use crate::deadlines::{EXECUTION_TIMEOUT, UPLOAD_EXECUTION_TIMEOUT};
    format!(
        "SET statement_timeout = {}; SET idle_in_transaction_session_timeout = {}",
        EXECUTION_TIMEOUT.as_millis(),
        UPLOAD_EXECUTION_TIMEOUT.as_millis()
    )
}

/// A resolver's turn on its request's connection.
pub type Conn = tokio::sync::OwnedMappedMutexGuard<Option<PooledConnection>, PooledConnection>;

/// The connection of one request: taken from the pool when a resolver first needs it and shared by all of
/// them, who take turns (one checkout per request, however many fields ask). A mutation with an
/// `Idempotency-Key` runs as one transaction on it: every resolver's statements and the stored response
/// commit or roll back together, and each resolver sees what the ones before wrote.
#[derive(Clone)]
pub struct RequestConnection {
    pool: DbPool,
    slot: std::sync::Arc<tokio::sync::Mutex<Option<PooledConnection>>>,
    transaction: bool,
}

impl RequestConnection {
    /// No connection is taken until a resolver asks for one.
    pub fn new(pool: &DbPool) -> Self {
        Self {
            pool: pool.clone(),
            slot: std::sync::Arc::default(),
            transaction: false,
        }
    }

    /// Takes a connection and opens the request's transaction on it.
    pub async fn begin(pool: &DbPool) -> crate::error::AppResult<Self> {
        let request = Self {
            transaction: true,
            ..Self::new(pool)
        };
        request.open().await?;
        Ok(request)
    }

    /// Runs `work` on the connection, once the resolver before has finished with it.
    pub async fn run<T>(
        &self,
        work: impl AsyncFnOnce(&mut AsyncPgConnection) -> QueryResult<T>,
    ) -> crate::error::AppResult<T> {
        let mut conn = self.lock().await?;
        Ok(work(&mut conn).await?)
    }

    /// Opens a transaction, or a savepoint inside the one that is open.
    pub async fn open(&self) -> crate::error::AppResult<()> {
        use diesel_async::TransactionManager as _;
        self.run(async |conn| diesel_async::AnsiTransactionManager::begin_transaction(conn).await)
            .await
    }

    /// Ends the innermost transaction or savepoint: commits it, or rolls it back.
    pub async fn close(&self, commit: bool) -> crate::error::AppResult<()> {
        use diesel_async::TransactionManager as _;
        self.run(async |conn| match commit {
            true => diesel_async::AnsiTransactionManager::commit_transaction(conn).await,
            false => diesel_async::AnsiTransactionManager::rollback_transaction(conn).await,
        })
        .await
    }

    /// Whether the request runs as one transaction.
    pub fn in_transaction(&self) -> bool {
        self.transaction
    }

    /// The connection, once the resolver before has finished with it (`SERVICE_UNAVAILABLE` when the pool
    /// cannot provide one in time).
    pub async fn lock(&self) -> crate::error::AppResult<Conn> {
        let mut slot = std::sync::Arc::clone(&self.slot).lock_owned().await;
        if slot.is_none() {
            *slot = Some(self.pool.get().await?);
        }
        tokio::sync::OwnedMutexGuard::try_map(slot, Option::as_mut)
            .map_err(|_| crate::error::AppError::ServiceUnavailable)
    }

    /// Gives up on the request without waiting for the database (the deadline has passed): the connection is
    /// closed instead of going back to the pool with a statement still running or a transaction open, and
    /// PostgreSQL ends both.
    pub fn abandon(self) {
        if let Ok(slot) = std::sync::Arc::try_unwrap(self.slot) {
            if let Some(conn) = slot.into_inner() {
                drop(::deadpool::managed::Object::take(conn));
            }
        }
    }

    /// Rolls the request's transaction back. A connection that cannot roll back is not reused by the pool.
    pub async fn rollback(&self) {
        if let Err(e) = self.close(false).await {
            tracing::warn!(error = %e, "could not roll back a request's transaction");
        }
    }
}

/// Whether the connection is inside a transaction (a request's, or a model function's).
pub fn in_transaction(conn: &mut AsyncPgConnection) -> bool {
    use diesel_async::TransactionManager as _;
    !matches!(
        diesel_async::AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth(),
        Ok(None)
    )
}

/// A query PostgreSQL keeps prepared on each connection, keyed by its SQL text. Diesel refuses to cache any
/// statement containing `diesel::dsl::sql` text, so such a query is parsed and planned again on every run (one
/// more round trip, and planning, per request). Wrap only queries whose SQL text takes a bounded number of
/// shapes, never values (those stay binds): every shape stays prepared for the connection's life.
#[derive(Debug, Clone)]
pub struct Prepared<Q>(pub Q);

impl<Q> diesel::query_builder::QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>> diesel::query_builder::QueryFragment<diesel::pg::Pg>
    for Prepared<Q>
{
    fn walk_ast<'b>(&'b self, pass: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _: &diesel::pg::Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

tokio::task_local! {
    static STATEMENTS: std::cell::Cell<u32>;
}

/// Runs `work` and counts the SQL statements pooled connections execute for it (in this task), so the
/// request log can show them and tests can prove a page costs a constant number of statements.
/// Scopes nest: an inner count is added to the enclosing one.
pub async fn count_statements<F: std::future::Future>(work: F) -> (F::Output, u32) {
    let (output, count) = STATEMENTS
        .scope(std::cell::Cell::new(0), async {
            let output = work.await;
            (output, STATEMENTS.with(std::cell::Cell::get))
        })
        .await;
    let _ = STATEMENTS.try_with(|outer| outer.set(outer.get() + count));
    (output, count)
}

/// Counts statements into the current `count_statements` scope, if any.
struct StatementCounter;

impl diesel::connection::Instrumentation for StatementCounter {
    fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
        if matches!(event, diesel::connection::InstrumentationEvent::StartQuery { .. }) {
            let _ = STATEMENTS.try_with(|count| count.set(count.get() + 1));
        }
    }
}

/// Opens one connection, with an error that names the server but never the password.
pub async fn connect(database_url: &str) -> anyhow::Result<AsyncPgConnection> {
    let attempt = tokio::time::timeout(POOL_WAIT * 2, tls::establish(database_url)).await;
    match attempt {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => anyhow::bail!(
            "cannot connect to the database at {}: {}",
            redact(database_url),
            one_line(&e.to_string())
        ),
        Err(_) => anyhow::bail!("cannot connect to the database at {}: timed out", redact(database_url)),
    }
}

/// The advisory lock migrations run under, the same in every instance ("homechef" + 1 in ASCII).
pub const MIGRATION_LOCK_KEY: i64 = 0x686f_6d65_6368_6567;

/// Applies pending migrations; returns the versions applied. Instances starting together on a new database
/// take turns (a PostgreSQL advisory lock held by this connection until it closes): the first applies them,
/// the others then find nothing pending instead of failing on tables that already exist. Needs the
/// multi-threaded runtime (the harness blocks in place).
pub async fn run_migrations(database_url: &str) -> anyhow::Result<Vec<String>> {
    let mut conn = connect(database_url).await?;
    diesel::sql_query("select pg_advisory_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK_KEY)
        .execute(&mut conn)
        .await
        .map_err(|e| anyhow::anyhow!("cannot take the migration lock: {e}"))?;
    let mut harness = AsyncMigrationHarness::new(conn);
    let applied = tokio::task::block_in_place(|| harness.run_pending_migrations(MIGRATIONS))
        .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Whether every embedded migration has been applied to the connected database.
pub async fn migrations_applied(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    diesel::table! {
        __diesel_schema_migrations (version) {
            version -> VarChar,
        }
    }
    let applied: Vec<String> = __diesel_schema_migrations::table
        .select(__diesel_schema_migrations::version)
        .load(conn)
        .await?;
    Ok(embedded_versions().iter().all(|v| applied.contains(v)))
}

/// Versions of the embedded migrations, in order.
pub fn embedded_versions() -> Vec<String> {
    use diesel::migration::MigrationSource;
    MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .map(|list| list.iter().map(|m| m.name().version().to_string()).collect())
        .unwrap_or_default()
}

/// `user:secret@host:5432/db?x` → `host:5432/db`, for messages and logs.
pub fn redact(database_url: &str) -> String {
    let rest = database_url.split_once("://").map_or(database_url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split('?').next().unwrap_or_default().to_owned()
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_drops_credentials_and_parameters() {
        assert_eq!(
            redact("postgres://app:s3cret@db.example:5432/homechef?sslmode=require"),
            "db.example:5432/homechef"
        );
        assert_eq!(redact("postgres://db.example/homechef"), "db.example/homechef");
        assert_eq!(redact("postgres://u:p@ss@host/db"), "host/db");
    }

    #[test]
    fn migrations_are_embedded_in_order() {
        let versions = embedded_versions();
        assert!(versions.len() >= 2);
        let mut sorted = versions.clone();
        sorted.sort();
        assert_eq!(versions, sorted);
    }
}
