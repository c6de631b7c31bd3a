//! Service health: is the database reachable and fully migrated? Shared by `GET /health/ready` and the
//! `health` GraphQL query.

use std::time::Duration;

use async_graphql::{Context, Enum, Object, SimpleObject};
use diesel_async::RunQueryDsl;

use crate::db::{self, DbPool};

/// A readiness probe must answer quickly even when the database hangs.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum ServiceStatus {
    /// Everything needed to serve requests works.
    Ok,
    /// A dependency is down; the service answers but cannot serve data.
    Degraded,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum ComponentStatus {
    Up,
    Down,
    /// The database answers but migrations are missing.
    Pending,
}

#[derive(Clone, Debug, SimpleObject)]
pub struct HealthReport {
    pub status: ServiceStatus,
    pub database: ComponentStatus,
    pub migrations: ComponentStatus,
    pub version: &'static str,
}

impl HealthReport {
    pub fn is_ready(&self) -> bool {
        self.status == ServiceStatus::Ok
    }
}

/// Checks the database and its migrations, within `CHECK_TIMEOUT`.
pub async fn check(pool: &DbPool) -> HealthReport {
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
    let status = if database == ComponentStatus::Up && migrations == ComponentStatus::Up {
        ServiceStatus::Ok
    } else {
        ServiceStatus::Degraded
    };
    HealthReport {
        status,
        database,
        migrations,
        version: env!("CARGO_PKG_VERSION"),
    }
}

#[derive(Default)]
pub struct HealthQuery;

#[Object]
impl HealthQuery {
    /// Whether the service and its database are working.
    async fn health(&self, ctx: &Context<'_>) -> async_graphql::Result<HealthReport> {
        Ok(check(ctx.data::<DbPool>()?).await)
    }
}
