//! Health probes for orchestrators: liveness never touches the database, readiness does.

use rocket::http::Status;
use rocket::State;
use serde_json::json;

use super::response::JsonResponse;
use crate::db::DbPool;
use crate::health::{check, ComponentStatus};

#[rocket::get("/health")]
pub fn summary() -> JsonResponse {
    JsonResponse::new(Status::Ok, json!({ "status": "healthy" }))
}

#[rocket::get("/health/live")]
pub fn live() -> JsonResponse {
    JsonResponse::new(Status::Ok, json!({ "status": "alive" }))
}

/// 200 when the database answers and every migration is applied, 503 otherwise.
#[rocket::get("/health/ready")]
pub async fn ready(pool: &State<DbPool>) -> JsonResponse {
    let report = check(pool).await;
    let status = if report.is_ready() {
        Status::Ok
    } else {
        Status::ServiceUnavailable
    };
    let word = |s: ComponentStatus| format!("{s:?}").to_lowercase();
    JsonResponse::new(
        status,
        json!({
            "status": if report.is_ready() { "ready" } else { "unavailable" },
            "database": word(report.database),
            "migrations": word(report.migrations),
        }),
    )
}
