//! The users behind recent tokens, so that a signed-in request does not look its user up again: entries live
//! 15 seconds and are forgotten at once when this instance changes or deletes the user (profile edits,
//! account deletion, Clerk webhooks). Another instance's change is seen within the 15 seconds.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::users::User;

/// How long a looked-up user is reused.
pub const TTL: Duration = Duration::from_secs(15);
/// Users held at most; past it, expired entries go, and if none had expired, all do.
const CAPACITY: usize = 10_000;

#[derive(Default)]
pub struct ViewerCache {
    entries: Mutex<HashMap<String, (User, Instant)>>,
}

impl ViewerCache {
    /// The user with this subject, if looked up less than `TTL` ago.
    pub fn get(&self, subject: &str) -> Option<User> {
        let entries = self.entries.lock().ok()?;
        let (user, at) = entries.get(subject)?;
        (at.elapsed() < TTL).then(|| user.clone())
    }

    pub fn put(&self, user: &User) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= CAPACITY {
            entries.retain(|_, (_, at)| at.elapsed() < TTL);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(user.clerk_id.clone(), (user.clone(), Instant::now()));
    }

    /// The user changed or is gone: the next request looks them up again.
    pub fn forget(&self, subject: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(subject);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(subject: &str) -> User {
        User {
            id: uuid::Uuid::now_v7(),
            clerk_id: subject.to_owned(),
            email: None,
            name: Some("Ada".into()),
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn users_are_reused_until_forgotten() {
        let cache = ViewerCache::default();
        assert!(cache.get("user_a").is_none());
        cache.put(&user("user_a"));
        assert_eq!(cache.get("user_a").map(|u| u.clerk_id), Some("user_a".to_owned()));
        cache.forget("user_a");
        assert!(cache.get("user_a").is_none());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = ViewerCache::default();
        for i in 0..=CAPACITY {
            cache.put(&user(&format!("user_{i}")));
        }
        assert!(cache.entries.lock().map(|e| e.len()).unwrap_or(0) <= CAPACITY);
        assert!(cache.get(&format!("user_{CAPACITY}")).is_some(), "the newest is kept");
    }
}
