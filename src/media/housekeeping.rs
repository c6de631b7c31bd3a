//! The media's housekeeping: files whose rows are gone are removed (content-addressed files only once nothing
//! refers to them), files no row accounts for are found at start-up, and the periodic chores (antivirus
//! retries, quarantine retention, garbage) run.

use std::time::Duration;

use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use uuid::Uuid;

use super::model::{Garbage, Media};
use super::service::MediaService;
use super::store::{Area, StoreError, STALE_PARTIAL};
use crate::db::DbPool;
use crate::security_log::RequestMeta;

impl MediaService {
    /// Removes files whose rows are gone (content-addressed files only once nothing refers to them).
    /// Inside a transaction it does nothing: the deletions that queued the files could still roll back, and a
    /// file is removed only once they have committed (the caller collects after its commit, or the maintenance
    /// run does).
    pub async fn collect_garbage(&self, conn: &mut AsyncPgConnection) -> usize {
        if crate::db::in_transaction(conn) {
            return 0;
        }
        let mut removed = 0;
        loop {
            let Ok(batch) = Garbage::next_batch(conn, 200).await else {
                return removed;
            };
            if batch.is_empty() {
                return removed;
            }
            for item in batch {
                let area = Area::from_db(&item.area);
                let collected = conn
                    .transaction::<_, diesel::result::Error, _>(async |conn| {
                        let removed = if area == Area::Media {
                            self.remove_if_unused(conn, &item.storage_key).await?
                        } else {
                            self.remove_file(area, &item.storage_key).await
                        };
                        Garbage::done(conn, item.id).await.map(|()| removed)
                    })
                    .await;
                match collected {
                    Ok(true) => removed += 1,
                    Ok(false) => {}
                    Err(_) => return removed,
                }
            }
        }
    }

    /// Removes a content-addressed media file unless a row refers to it, under the file's lock (held until the
    /// caller's transaction ends, so that nobody stores a row for it meanwhile). Whether it was removed; a
    /// bucket that did not answer rolls the caller's transaction back, so the item waits for the next run.
    pub(super) async fn remove_if_unused(&self, conn: &mut AsyncPgConnection, key: &str) -> diesel::QueryResult<bool> {
        Garbage::lock_file(conn, key).await?;
        if Garbage::still_referenced(conn, key).await? {
            return Ok(false);
        }
        match self.remove_file(Area::Media, key).await {
            true => Ok(true),
            false => Err(diesel::result::Error::RollbackTransaction),
        }
    }

    /// Removes a stored file. False when the bucket did not answer (worth another try later); a local file
    /// that cannot be removed is logged and not retried.
    async fn remove_file(&self, area: Area, key: &str) -> bool {
        match self.store.remove(area, key).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "could not remove a media file");
                !matches!(e, StoreError::Bucket(_))
            }
        }
    }

    /// Files no row accounts for (a crash between writing a file and committing its row) go to the collector,
    /// which removes a media file only if, under its lock, no row refers to it. Run once at start-up.
    pub async fn sweep_orphans(&self, pool: &DbPool) -> usize {
        let Ok(mut conn) = pool.get().await else {
            return 0;
        };
        let mut queued = 0;
        for chunk in self.store.settled_keys(Area::Media, STALE_PARTIAL).await.chunks(500) {
            let used = Garbage::referenced(&mut conn, chunk)
                .await
                .unwrap_or_else(|_| chunk.to_vec());
            let unused: Vec<String> = chunk.iter().filter(|k| !used.contains(k)).cloned().collect();
            if !unused.is_empty() && Garbage::enqueue(&mut conn, "media", &unused).await.is_ok() {
                queued += unused.len();
            }
        }
        for chunk in self
            .store
            .settled_keys(Area::Quarantine, STALE_PARTIAL)
            .await
            .chunks(500)
        {
            let ids: Vec<Uuid> = chunk.iter().filter_map(|k| Uuid::parse_str(k).ok()).collect();
            let Ok(held) = Media::quarantined_ids(&mut conn, &ids).await else {
                continue;
            };
            let unused: Vec<String> = chunk
                .iter()
                .filter(|k| Uuid::parse_str(k).map_or(true, |id| !held.contains(&id)))
                .cloned()
                .collect();
            if !unused.is_empty() && Garbage::enqueue(&mut conn, "quarantine", &unused).await.is_ok() {
                queued += unused.len();
            }
        }
        if queued > 0 {
            tracing::info!(
                queued,
                "files with no row found at start-up; removing those still unused"
            );
            self.collect_garbage(&mut conn).await;
        }
        queued
    }

    /// The periodic chores: antivirus retries, retention, garbage.
    pub async fn maintain(&self, pool: &DbPool) {
        let Ok(mut conn) = pool.get().await else {
            return;
        };
        // Pending files are retried only once clamd answers, so an outage does not re-log them every minute.
        let clamd_up = match self.antivirus.addr() {
            Some(addr) => self.ping_antivirus(addr, Duration::from_secs(5)).await,
            None => false,
        };
        if clamd_up {
            for media in Media::pending_scans(&mut conn, 20).await.unwrap_or_default() {
                if let Err(e) = self.rescan(&mut conn, &RequestMeta::default(), media, false).await {
                    tracing::warn!(error = %e, "antivirus retry failed");
                }
            }
        }
        let before = chrono::Utc::now() - chrono::Duration::from_std(self.retention).unwrap_or_default();
        match Media::purge_unpromoted(&mut conn, before).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(
                purged,
                "quarantine retention: old quarantined and rejected uploads removed"
            ),
            Err(e) => tracing::warn!(error = %e, "quarantine retention failed"),
        }
        self.collect_garbage(&mut conn).await;
    }
}
