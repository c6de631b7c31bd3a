//! Service health: is the database reachable and fully migrated, is the antivirus (when configured)
//! answering, and does the disk have room for uploads? Shared by `GET /health`, `GET /health/ready` and the
//! `health` GraphQL query. Readiness depends on the database only: with the antivirus down, uploads are held
//! in quarantine; with the disk full, uploads are refused (`STORAGE_FULL`) and everything else is served.

use std::time::Duration;

use async_graphql::{Context, Enum, Object, SimpleObject};
use diesel_async::RunQueryDsl;

use crate::db::{self, DbPool};
use crate::media::MediaService;

/// A readiness probe must answer quickly even when the database hangs.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum ServiceStatus {
    /// Everything needed to serve requests works.
    Ok,
    /// A dependency is down: without the database nothing is served; without the antivirus uploads are
    /// held in quarantine until it answers again.
    Degraded,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum ComponentStatus {
    Up,
    Down,
    /// The database answers but migrations are missing.
    Pending,
    /// Not configured (the antivirus without `CLAMD_ADDR`).
    Disabled,
}

#[derive(Clone, Debug, SimpleObject)]
pub struct HealthReport {
    pub status: ServiceStatus,
    pub database: ComponentStatus,
    pub migrations: ComponentStatus,
    /// ClamAV (`CLAMD_ADDR`): `DOWN` makes the status `DEGRADED` but not the service unready.
    pub antivirus: ComponentStatus,
    /// This instance's disk for uploads (quarantine, and media without a bucket): `DOWN` after a write was
    /// refused for want of space, until one succeeds; it makes the status `DEGRADED` but not the service
    /// unready.
    pub storage: ComponentStatus,
    pub version: &'static str,
}

impl HealthReport {
    /// Ready to serve: the database answers and is fully migrated.
    pub fn is_ready(&self) -> bool {
        self.database == ComponentStatus::Up && self.migrations == ComponentStatus::Up
    }
}

/// The antivirus's state, as the health report names it.
pub async fn antivirus(media: &MediaService) -> ComponentStatus {
    match media.antivirus_up().await {
        None => ComponentStatus::Disabled,
        Some(true) => ComponentStatus::Up,
        Some(false) => ComponentStatus::Down,
    }
}

/// The upload disk's state, as the health report names it.
pub async fn storage(media: &MediaService) -> ComponentStatus {
    if media.storage_up().await {
        ComponentStatus::Up
    } else {
        ComponentStatus::Down
    }
}

/// Checks the database and its migrations, within `CHECK_TIMEOUT`, and the antivirus.
pub async fn check(pool: &DbPool, media: &MediaService) -> HealthReport {
    let probe = async {
        let mut conn = pool.get().await.ok()?;
        diesel::sql_query("select 1").execute(&mut conn).await.ok()?;
        Some(db::migrations_applied(&mut conn).await.unwrap_or(false))
    };
    let (database, migrations) = match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(Some(true)) => (ComponentStatus::Up, ComponentStatus::Up),
        Ok(Some(false)) => (ComponentStatus::Up, ComponentStatus::Pending),
        Ok(None) | Err(_) => (ComponentStatus::Down, ComponentStatus::Down),
    };
    let antivirus = antivirus(media).await;
    let storage = storage(media).await;
    let all_up = database == ComponentStatus::Up
        && migrations == ComponentStatus::Up
        && antivirus != ComponentStatus::Down
        && storage == ComponentStatus::Up;
    HealthReport {
        status: if all_up {
            ServiceStatus::Ok
        } else {
            ServiceStatus::Degraded
        },
        database,
        migrations,
        antivirus,
        storage,
        version: env!("CARGO_PKG_VERSION"),
    }
}

#[derive(Default)]
pub struct HealthQuery;

#[Object]
impl HealthQuery {
    /// Whether the service and its database are working.
    async fn health(&self, ctx: &Context<'_>) -> async_graphql::Result<HealthReport> {
        Ok(check(ctx.data::<DbPool>()?, ctx.data::<std::sync::Arc<MediaService>>()?).await)
    }
}
