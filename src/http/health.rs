//! Health probes for orchestrators: liveness never touches the database, readiness does.

use std::sync::Arc;

use rocket::http::Status;
use rocket::State;
use serde_json::json;

use super::rate_limit::RateLimits;
use super::response::JsonResponse;
use crate::db::DbPool;
use crate::health::{antivirus, check, storage, ComponentStatus};
use crate::media::MediaService;

/// Always 200 while the process serves; `degraded` when the antivirus is configured and down (uploads
/// are then held in quarantine), the shared rate-limit store (`REDIS_URL`) is (limits are then counted
/// per instance) or the disk has no room for uploads (they are refused with `STORAGE_FULL`). Does not touch
/// the database: that is `/health/ready`.
#[rocket::get("/health")]
pub async fn summary(media: &State<Arc<MediaService>>, limits: &State<RateLimits>) -> JsonResponse {
    let antivirus = antivirus(media).await;
    let store = rate_limit_store(limits);
    let storage = storage(media).await;
    let status = if [antivirus, store, storage].contains(&ComponentStatus::Down) {
        "degraded"
    } else {
        "healthy"
    };
    JsonResponse::new(
        Status::Ok,
        json!({
            "status": status,
            "antivirus": word(antivirus),
            "rate_limit_store": word(store),
            "storage": word(storage),
        }),
    )
}

/// Redis for shared rate limits: disabled without `REDIS_URL`, else whether it answered when last asked.
fn rate_limit_store(limits: &RateLimits) -> ComponentStatus {
    match limits.shared_store_up() {
        None => ComponentStatus::Disabled,
        Some(true) => ComponentStatus::Up,
        Some(false) => ComponentStatus::Down,
    }
}

fn word(status: ComponentStatus) -> String {
    format!("{status:?}").to_lowercase()
}

#[rocket::get("/health/live")]
pub fn live() -> JsonResponse {
    JsonResponse::new(Status::Ok, json!({ "status": "alive" }))
}

/// 200 when the database answers and every migration is applied, 503 otherwise.
#[rocket::get("/health/ready")]
pub async fn ready(pool: &State<DbPool>, media: &State<Arc<MediaService>>) -> JsonResponse {
    let report = check(pool, media).await;
    let status = if report.is_ready() {
        Status::Ok
    } else {
        Status::ServiceUnavailable
    };
    JsonResponse::new(
        status,
        json!({
            "status": if report.is_ready() { "ready" } else { "unavailable" },
            "database": word(report.database),
            "migrations": word(report.migrations),
            "antivirus": word(report.antivirus),
            "storage": word(report.storage),
        }),
    )
}
