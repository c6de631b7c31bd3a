//! Health probes for orchestrators: liveness never touches the database, readiness does.

use std::sync::Arc;

use rocket::http::Status;
use rocket::State;
use serde_json::json;

use super::response::JsonResponse;
use crate::db::DbPool;
use crate::health::{antivirus, check, ComponentStatus};
use crate::media::MediaService;

/// Always 200 while the process serves; `degraded` when the antivirus is configured and down (uploads
/// are then held in quarantine). Does not touch the database: that is `/health/ready`.
#[rocket::get("/health")]
pub async fn summary(media: &State<Arc<MediaService>>) -> JsonResponse {
    let antivirus = antivirus(media).await;
    let status = if antivirus == ComponentStatus::Down {
        "degraded"
    } else {
        "healthy"
    };
    JsonResponse::new(Status::Ok, json!({ "status": status, "antivirus": word(antivirus) }))
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
        }),
    )
}
