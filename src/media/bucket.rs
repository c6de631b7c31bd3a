//! Promoted variants in S3-compatible object storage (`MEDIA_STORE=s3://bucket/prefix`), for instances that
//! share nothing but the database: the same content-addressed keys as on disk (`ab/<sha256>.<ext>`) under the
//! prefix, written in one PUT each (an object is whole or absent), streamed back when served. The quarantine
//! never comes here: it stays on the instance's own disk.

use std::time::Duration;

use chrono::Utc;
use futures_util::TryStreamExt as _;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStore as _, RetryConfig};
use secrecy::{ExposeSecret as _, SecretString};

/// Where the bucket is and how to sign in to it (`MEDIA_STORE`, `S3_ENDPOINT`, `S3_REGION` and the standard
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
#[derive(Clone, Debug)]
pub struct BucketConfig {
    pub bucket: String,
    /// Key prefix without slashes at either end; empty for the bucket's root.
    pub prefix: String,
    /// `None` is AWS itself (https, by region).
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
    pub session_token: Option<SecretString>,
}

impl BucketConfig {
    /// Reads `s3://bucket[/prefix]`; `None` for anything else (the caller reports it).
    pub fn parse_store(url: &str) -> Option<(String, String)> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // S3's bucket naming rules: 3 to 63 lower-case letters, digits, dots and hyphens.
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
            && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
        let prefix = prefix.trim_matches('/');
        let valid_prefix = prefix.split('/').all(|part| {
            prefix.is_empty()
                || (!part.is_empty()
                    && part != "."
                    && part != ".."
                    && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)))
        });
        (valid_bucket && valid_prefix).then(|| (bucket.to_owned(), prefix.to_owned()))
    }

    /// Whether requests leave unencrypted (an `http://` endpoint).
    pub fn plain_http(&self) -> bool {
        self.endpoint.as_deref().is_some_and(|e| e.starts_with("http://"))
    }
}

/// One bucket, with short deadlines: an upload waiting on a dead store answers `SERVICE_UNAVAILABLE` in
/// seconds rather than holding its transaction open.
#[derive(Debug)]
pub struct Bucket {
    store: AmazonS3,
    prefix: Path,
}

impl Bucket {
    pub fn open(config: &BucketConfig) -> anyhow::Result<Self> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(config.plain_http())
                    .with_connect_timeout(Duration::from_secs(2))
                    .with_timeout(Duration::from_secs(10)),
            )
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 2,
                retry_timeout: Duration::from_secs(5),
            });
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret.expose_secret());
        }
        if let Some(token) = &config.session_token {
            builder = builder.with_token(token.expose_secret());
        }
        Ok(Self {
            store: builder.build()?,
            prefix: Path::from(config.prefix.as_str()),
        })
    }

    fn path(&self, key: &str) -> Path {
        key.split('/').fold(self.prefix.clone(), |path, part| path.child(part))
    }

    /// Stores one variant; an object already under this content address is simply written again.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> object_store::Result<()> {
        self.store.put(&self.path(key), bytes.into()).await.map(|_| ())
    }

    /// The object's bytes as a stream (never read whole into memory).
    pub async fn get(&self, key: &str) -> object_store::Result<object_store::GetResult> {
        self.store.get(&self.path(key)).await
    }

    /// Deletes one object; one already gone is fine.
    pub async fn delete(&self, key: &str) -> object_store::Result<()> {
        match self.store.delete(&self.path(key)).await {
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            other => other,
        }
    }

    /// Keys (`ab/<sha256>.<ext>`) of objects under the prefix last written more than `age` ago.
    pub async fn settled_keys(&self, age: Duration) -> object_store::Result<Vec<String>> {
        let cutoff = Utc::now() - chrono::Duration::from_std(age).unwrap_or_default();
        let prefix = (!self.prefix.as_ref().is_empty()).then_some(&self.prefix);
        let objects: Vec<_> = self.store.list(prefix).try_collect().await?;
        Ok(objects
            .into_iter()
            .filter(|o| o.last_modified < cutoff)
            .filter_map(|o| {
                let key = match prefix {
                    Some(prefix) => o
                        .location
                        .prefix_match(prefix)?
                        .map(|p| p.as_ref().to_owned())
                        .collect(),
                    None => o.location.parts().map(|p| p.as_ref().to_owned()).collect::<Vec<_>>(),
                };
                Some(key.join("/"))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_name_a_valid_bucket_and_a_safe_prefix() {
        let parse = BucketConfig::parse_store;
        assert_eq!(parse("s3://media-bucket"), Some(("media-bucket".into(), String::new())));
        assert_eq!(
            parse("s3://media.example/homechef/prod/"),
            Some(("media.example".into(), "homechef/prod".into()))
        );
        for bad in [
            "s3://",
            "s3://ab",
            "s3://Upper",
            "s3://-bucket",
            "s3://bucket/../etc",
            "s3://bucket/a//b",
            "s3://bucket/a b",
            "https://bucket",
            "bucket",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
