//! ClamAV through a real clamd, started here on 127.0.0.1 with the signature database in
//! `tests/fixtures/clamav` (EICAR, and a marker our own rules do not know). `.ci/run` installs clamd; on a
//! machine without it these tests say so and pass only outside CI.

use std::path::PathBuf;
use std::time::Duration;

use rocket::http::Status;
use serde_json::json;

use crate::helpers::{dev_token, TestApp};
use crate::uploads::{
    codes, cook, files_under, jpeg, part, run_maintenance, upload_app, upload_results, with_segment, EICAR,
};

/// A clamd of our own; killed when dropped.
struct Clamd {
    child: std::process::Child,
    dir: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn clamd_binary() -> Option<PathBuf> {
    let candidates = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join("clamd"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let found = candidates
        .into_iter()
        .chain([PathBuf::from("/usr/sbin/clamd")])
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "clamd is not installed; .ci/run installs clamav-daemon"
        );
        eprintln!("clamd not installed: ClamAV tests skipped (apt-get install clamav-daemon)");
    }
    found
}

impl Clamd {
    async fn start(port: u16) -> Self {
        let binary = clamd_binary().unwrap();
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("clamd-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let database = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clamav");
        let config = dir.join("clamd.conf");
        std::fs::write(
            &config,
            format!(
                "DatabaseDirectory {}\nTCPSocket {port}\nTCPAddr 127.0.0.1\nForeground yes\nLogFile {}\n",
                database.display(),
                dir.join("clamd.log").display()
            ),
        )
        .unwrap();
        let child = std::process::Command::new(binary)
            .arg("-c")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let clamd = Self { child, dir };
        for _ in 0..300 {
            if homechef::media::clamd::ping(&format!("127.0.0.1:{port}")).await {
                return clamd;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("clamd did not start; see {}", clamd.dir.display());
    }
}

impl Drop for Clamd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn clamd_detects_eicar_and_its_own_signatures() {
    if clamd_binary().is_none() {
        return;
    }
    let port = free_port();
    let _clamd = Clamd::start(port).await;
    let addr = format!("127.0.0.1:{port}");
    let app = upload_app(&[("clamd_addr", &addr)]).await;
    let (token, recipe) = cook(&app, "olga").await;
    let marked = with_segment(&jpeg(64, 64), 0xFE, b"HOMECHEF-CLAMAV-TEST-MARKER");
    let results = upload_results(
        &app,
        &token,
        &recipe,
        &[
            part("eicar.jpg", "image/jpeg", EICAR.to_vec()),
            part("marked.jpg", "image/jpeg", marked),
            part("clean.jpg", "image/jpeg", jpeg(64, 64)),
        ],
    )
    .await;
    assert_eq!(results[0]["status"], "REJECTED");
    assert!(
        codes(&results[0]).contains(&"ANTIVIRUS_DETECTED".to_owned()),
        "{}",
        results[0]
    );
    assert!(results[0]["findings"].to_string().contains("HomeChef.Test.EICAR"));
    assert_eq!(results[1]["status"], "REJECTED", "only ClamAV knows this signature");
    assert_eq!(codes(&results[1]), ["METADATA_STRIPPED", "ANTIVIRUS_DETECTED"]);
    assert_eq!(results[2]["status"], "PROMOTED");
    assert_eq!(files_under(&app.quarantine_dir()).len(), 0);
}

#[tokio::test]
async fn with_clamd_stopped_files_stay_quarantined_until_a_retry_can_scan_them() {
    if clamd_binary().is_none() {
        return;
    }
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let app: TestApp = upload_app(&[("clamd_addr", &addr), ("admin_user_ids", "dev_admin")]).await;
    let (token, recipe) = cook(&app, "pete").await;
    let results = upload_results(&app, &token, &recipe, &[part("a.jpg", "image/jpeg", jpeg(64, 64))]).await;
    let id = results[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(results[0]["status"], "QUARANTINED");
    assert_eq!(codes(&results[0]), ["SCAN_PENDING"]);
    assert!(files_under(&app.media_dir()).is_empty(), "never promoted unscanned");

    // Not even an admin can release it while the antivirus cannot be asked.
    let admin = dev_token("admin");
    let release = "mutation($i: UUID!) { releaseQuarantinedImage(id: $i) { status findings { code } } }";
    let held = app.gql_as(&admin, release, json!({ "i": id })).await;
    assert_eq!(
        held["data"]["releaseQuarantinedImage"]["status"], "QUARANTINED",
        "{held}"
    );

    let _clamd = Clamd::start(port).await;
    run_maintenance(&app).await;
    let view = app
        .gql_as(
            &token,
            "query($id: UUID!) { recipe(id: $id) { images { id } } }",
            json!({ "id": recipe }),
        )
        .await;
    assert_eq!(view["data"]["recipe"]["images"][0]["id"], id.as_str(), "{view}");
    assert!(files_under(&app.quarantine_dir()).is_empty());
    assert!(!files_under(&app.media_dir()).is_empty());
}

/// With `CLAMD_ADDR` pointing at nothing: the upload is held and says why in the security log, the outage
/// is reported once, and health shows it (`DEGRADED`) while readiness stays 200. Needs no clamd binary.
#[tokio::test]
async fn an_antivirus_outage_is_logged_once_and_shown_in_health() {
    let addr = format!("127.0.0.1:{}", free_port());
    let app: TestApp = upload_app(&[("clamd_addr", &addr)]).await;
    let (token, recipe) = cook(&app, "olga").await;
    for name in ["a.jpg", "b.jpg"] {
        let results = upload_results(&app, &token, &recipe, &[part(name, "image/jpeg", jpeg(32, 32))]).await;
        assert_eq!(results[0]["status"], "QUARANTINED");
    }
    let events = app.security_events();
    let held: Vec<_> = events
        .iter()
        .filter(|e| e["event_type"] == "upload_quarantined")
        .collect();
    assert_eq!(held.len(), 2, "{events:?}");
    assert_eq!(held[0]["details"]["findings"], json!(["SCAN_PENDING"]));
    let outages = events
        .iter()
        .filter(|e| e["event_type"] == "antivirus_unavailable")
        .count();
    assert_eq!(outages, 1, "one event per outage, not per file");

    assert_eq!(
        app.get("/health").await.json(),
        json!({"status": "degraded", "antivirus": "down", "rate_limit_store": "disabled", "storage": "up"})
    );
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status, Status::Ok, "readiness unchanged");
    assert_eq!(ready.json()["antivirus"], "down");
    let health = app.gql("{ health { status database antivirus } }", json!({})).await;
    assert_eq!(
        health["data"]["health"],
        json!({"status": "DEGRADED", "database": "UP", "antivirus": "DOWN"})
    );
}
