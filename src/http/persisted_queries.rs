//! Automatic persisted queries, as Apollo's `createPersistedQueryLink` speaks them: a request may send only
//! `extensions.persistedQuery.sha256Hash` (POST, or GET with `useGETForHashedQueries`). A hash we hold runs
//! its document; one we do not is answered `PERSISTED_QUERY_NOT_FOUND` (message `PersistedQueryNotFound`, on
//! which the link sends the document with its hash). A document sent with a hash is checked against it and,
//! once it has passed the document limits, kept: here (bounded, oldest out first) and, with `REDIS_URL`, in
//! Redis for a day, so that the other instances know it too.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_graphql::Value;
use sha2::{Digest as _, Sha256};

use super::shared_limits::SharedLimiter;
use crate::error::AppError;

/// Documents kept in process, and their bytes: whichever bound is reached first evicts the oldest.
const MAX_DOCUMENTS: usize = 2_000;
const MAX_BYTES: usize = 16 * 1024 * 1024;
/// How long Redis keeps a document no instance has stored again.
const SHARED_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The `persistedQuery` extension of a request: `Ok(None)` without one; a malformed one is `BAD_REQUEST`.
pub fn requested_hash(extensions: &async_graphql::Extensions) -> Result<Option<String>, AppError> {
    let Some(persisted) = extensions.get("persistedQuery") else {
        return Ok(None);
    };
    let malformed = || {
        AppError::BadRequest(
            "`extensions.persistedQuery` must be { version: 1, sha256Hash: <64 hexadecimal digits> }".into(),
        )
    };
    let Value::Object(fields) = persisted else {
        return Err(malformed());
    };
    if fields.get("version") != Some(&Value::from(1)) {
        return Err(AppError::BadRequest(
            "only version 1 of persisted queries is supported".into(),
        ));
    }
    match fields.get("sha256Hash") {
        Some(Value::String(hash)) if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(Some(hash.to_ascii_lowercase()))
        }
        _ => Err(malformed()),
    }
}

/// Whether `query` is the document `hash` names.
pub fn matches(query: &str, hash: &str) -> bool {
    hex::encode(Sha256::digest(query.as_bytes())) == hash
}

#[derive(Default)]
pub struct PersistedQueries {
    local: Mutex<Local>,
}

#[derive(Default)]
struct Local {
    documents: HashMap<String, String>,
    /// Hashes, oldest first.
    order: VecDeque<String>,
    bytes: usize,
}

impl PersistedQueries {
    /// The document of `hash`, from this instance or, failing that, Redis.
    pub async fn get(&self, hash: &str, shared: Option<&SharedLimiter>) -> Option<String> {
        if let Some(query) = self.local.lock().ok()?.documents.get(hash) {
            return Some(query.clone());
        }
        let query = shared?.get_text(&shared_key(hash)).await?;
        // Redis holds only documents whose hash was checked, but it is another process: check again.
        matches(&query, hash).then(|| {
            self.keep_locally(hash, &query);
            query
        })
    }

    /// Keeps a document whose hash has been checked.
    pub async fn put(&self, hash: &str, query: &str, shared: Option<&SharedLimiter>) {
        self.keep_locally(hash, query);
        if let Some(shared) = shared {
            shared.set_text(&shared_key(hash), query, SHARED_TTL).await;
        }
    }

    fn keep_locally(&self, hash: &str, query: &str) {
        let Ok(mut local) = self.local.lock() else {
            return;
        };
        if local.documents.contains_key(hash) || query.len() > MAX_BYTES {
            return;
        }
        while local.documents.len() >= MAX_DOCUMENTS || local.bytes + query.len() > MAX_BYTES {
            let Some(oldest) = local.order.pop_front() else {
                break;
            };
            if let Some(gone) = local.documents.remove(&oldest) {
                local.bytes -= gone.len();
            }
        }
        local.bytes += query.len();
        local.order.push_back(hash.to_owned());
        local.documents.insert(hash.to_owned(), query.to_owned());
    }
}

fn shared_key(hash: &str) -> String {
    format!("homechef:apq:{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extensions(value: serde_json::Value) -> async_graphql::Extensions {
        serde_json::from_value(value).unwrap_or_default()
    }

    #[test]
    fn only_a_version_1_sha256_hash_is_a_persisted_query() {
        let hash = hex::encode(Sha256::digest(b"{ health { status } }"));
        let asked = |v| requested_hash(&extensions(v)).map_err(|e| e.code());
        assert_eq!(asked(serde_json::json!({})), Ok(None));
        assert_eq!(
            asked(serde_json::json!({ "persistedQuery": { "version": 1, "sha256Hash": hash.to_uppercase() } })),
            Ok(Some(hash.clone()))
        );
        for bad in [
            serde_json::json!({ "persistedQuery": { "version": 2, "sha256Hash": hash } }),
            serde_json::json!({ "persistedQuery": { "version": 1, "sha256Hash": "abc" } }),
            serde_json::json!({ "persistedQuery": { "version": 1 } }),
            serde_json::json!({ "persistedQuery": "yes" }),
        ] {
            assert_eq!(asked(bad), Err("BAD_REQUEST"));
        }
        assert!(matches("{ health { status } }", &hash));
        assert!(!matches("{ health { status }}", &hash));
    }

    #[test]
    fn the_local_store_is_bounded_oldest_out_first() {
        let store = PersistedQueries::default();
        for i in 0..MAX_DOCUMENTS + 5 {
            store.keep_locally(&format!("{i:064}"), "{ health { status } }");
        }
        let local = store.local.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        assert_eq!(local.documents.len(), MAX_DOCUMENTS);
        assert!(!local.documents.contains_key(&format!("{:064}", 0)));
        assert!(local.documents.contains_key(&format!("{:064}", MAX_DOCUMENTS + 4)));
        assert_eq!(local.bytes, MAX_DOCUMENTS * "{ health { status } }".len());
    }
}
