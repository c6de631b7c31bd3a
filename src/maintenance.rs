//! The background chores: once after start-up the sweep of media files no row accounts for, then every minute
//! antivirus retries, quarantine retention, file garbage, and the tombstone and idempotency-key purges.
//!
//! Behind a load balancer several instances share one database and must not collect, purge or retry the same
//! thing twice: a run holds a PostgreSQL advisory lock (`pg_try_advisory_lock`) on a connection of its own, and
//! an instance that finds it taken skips its turn. The lock belongs to that session, so it goes with the
//! connection: a holder that crashes or loses the network releases it, and the next minute another instance
//! runs.

use std::sync::Arc;
use std::time::Duration;

use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use rocket::fairing::AdHoc;
use secrecy::{ExposeSecret as _, SecretString};

use crate::db::DbPool;
use crate::media::MediaService;

/// How often the chores run.
pub const INTERVAL: Duration = Duration::from_secs(60);
/// The advisory lock's key, the same in every instance ("homechef" in ASCII).
pub const LOCK_KEY: i64 = 0x686f_6d65_6368_6566;

diesel::define_sql_function! {
    /// Takes the session-level advisory lock if it is free; never waits.
    fn pg_try_advisory_lock(key: BigInt) -> Bool;
}

/// Whether this instance did a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Turn {
    Ran,
    /// Another instance holds the lock (or the database cannot be reached): nothing was done.
    Skipped,
}

pub struct Maintenance {
    media: Arc<MediaService>,
    pool: DbPool,
    database_url: SecretString,
    tombstone_retention: chrono::Duration,
}

impl Maintenance {
    pub fn new(
        media: Arc<MediaService>,
        pool: DbPool,
        database_url: &str,
        tombstone_retention: chrono::Duration,
    ) -> Self {
        Self {
            media,
            pool,
            database_url: database_url.into(),
            tombstone_retention,
        }
    }

    /// One run of the chores (with the orphan sweep when `sweep` is set) if no other instance is running them.
    pub async fn run(&self, sweep: bool) -> Turn {
        let Some(lock) = self.lock().await else {
            return Turn::Skipped;
        };
        if sweep {
            self.media.sweep_orphans(&self.pool).await;
        }
        self.media.maintain(&self.pool).await;
        self.purge_tombstones().await;
        self.purge_idempotency_keys().await;
        // Closing the lock's own connection releases the lock.
        drop(lock);
        Turn::Ran
    }

    /// A new connection holding the lock, or `None` when another session holds it.
    async fn lock(&self) -> Option<AsyncPgConnection> {
        let mut conn = match crate::db::connect(self.database_url.expose_secret()).await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "maintenance skipped: no database connection");
                return None;
            }
        };
        match diesel::select(pg_try_advisory_lock(LOCK_KEY))
            .get_result::<bool>(&mut conn)
            .await
        {
            Ok(true) => Some(conn),
            Ok(false) => {
                tracing::debug!("maintenance skipped: another instance is running it");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "maintenance skipped: the lock could not be asked for");
                None
            }
        }
    }

    /// Deletions older than the retention are forgotten (a client that old is told to resync).
    async fn purge_tombstones(&self) {
        let Ok(mut conn) = self.pool.get().await else {
            return;
        };
        let before = chrono::Utc::now() - self.tombstone_retention;
        match crate::sync::purge_older_than(&mut conn, before).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "tombstone retention: old deletions forgotten"),
            Err(e) => tracing::warn!(error = %e, "tombstone retention failed"),
        }
    }

    /// Stored idempotent responses older than 24 hours are forgotten.
    async fn purge_idempotency_keys(&self) {
        let Ok(mut conn) = self.pool.get().await else {
            return;
        };
        match crate::idempotency::purge_expired(&mut conn, chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "idempotency keys past their 24 hours forgotten"),
            Err(e) => tracing::warn!(error = %e, "idempotency key purge failed"),
        }
    }

    /// After launch: a run with the orphan sweep, then a run every `INTERVAL`.
    pub fn fairing(self: Arc<Self>) -> AdHoc {
        AdHoc::on_liftoff("maintenance", move |_| {
            Box::pin(async move {
                tokio::spawn(async move {
                    let mut ticks = tokio::time::interval(INTERVAL);
                    let mut swept = false;
                    loop {
                        ticks.tick().await;
                        // The sweep waits for a run this instance gets to do.
                        swept |= self.run(!swept).await == Turn::Ran;
                    }
                });
            })
        })
    }
}
