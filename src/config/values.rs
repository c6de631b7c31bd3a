//! Reading one setting: comma-separated lists, flags, numbers, base URLs, the database password put into its
//! URL, the media bucket; an empty or blank value is unset, for every variable, here. Problems are collected
//! so that all of them are reported at once.

use anyhow::bail;
use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

use super::RawConfig;

pub(super) fn split_list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `DATABASE_URL` with `DATABASE_PASSWORD` put in, percent-encoded: a password with `@ / : # ?` or spaces
/// cannot break the URL (compose builds the URL from parts and cannot encode).
pub(super) fn with_password(url: &str, password: &str) -> Result<String, &'static str> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or("DATABASE_URL must look like postgres://user@host/database")?;
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((user, host)) = authority.rsplit_once('@') else {
        return Err("DATABASE_PASSWORD needs a user name in DATABASE_URL (postgres://user@host/database)");
    };
    if user.contains(':') {
        return Err("DATABASE_PASSWORD is set but DATABASE_URL already has a password");
    }
    let encoded: String = password
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    Ok(format!("{scheme}://{user}:{encoded}@{host}{tail}"))
}

/// `http(s)://host[:port][/path]` without query, fragment or credentials.
pub(super) fn is_base_url(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or_default();
    matches!(scheme, "http" | "https")
        && !host.is_empty()
        && !host.contains('@')
        && !rest.contains(['?', '#', ' ', '"', '<', '>', '\\'])
}

/// Configuration problems, collected so that all of them are reported at once.
#[derive(Default)]
pub(super) struct Problems(pub(super) Vec<String>);

impl Problems {
    pub(super) fn push(&mut self, problem: String) {
        self.0.push(problem);
    }

    /// The setting, or `None` (its default) with the problem noted.
    pub(super) fn take<T>(&mut self, setting: anyhow::Result<Option<T>>) -> Option<T> {
        setting.unwrap_or_else(|e| {
            self.push(e.to_string());
            None
        })
    }
}

/// A number setting (an empty one is already unset: `lossy_string`).
pub(super) fn parse_setting(name: &str, value: Option<String>) -> anyhow::Result<Option<u64>> {
    match value.as_deref().map(str::trim) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| anyhow::anyhow!("{name} must be a whole number, not `{v}`")),
    }
}

pub(super) fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// `MEDIA_STORE` and the settings of its bucket; `None` for the local directory (unset or `local`).
pub(super) fn media_bucket(raw: &RawConfig, problems: &mut Problems) -> Option<crate::media::bucket::BucketConfig> {
    let set = |value: &Option<String>| value.as_deref().map(str::trim).map(str::to_owned);
    let store = set(&raw.media_store).filter(|s| s != "local")?;
    let Some((bucket, prefix)) = crate::media::bucket::BucketConfig::parse_store(&store) else {
        problems.push(format!(
            "MEDIA_STORE must be `local` or s3://bucket[/prefix] (a valid bucket name), not `{store}`"
        ));
        return None;
    };
    let endpoint = set(&raw.s3_endpoint);
    if let Some(endpoint) = &endpoint {
        let host = endpoint
            .strip_prefix("https://")
            .or_else(|| endpoint.strip_prefix("http://"))
            .unwrap_or_default();
        if host.is_empty() || host.contains(['?', '#', '@', ' ']) {
            problems.push(format!(
                "S3_ENDPOINT must be an http(s):// URL of the store, not `{endpoint}`"
            ));
        }
    }
    let secret = raw.aws_secret_access_key.clone();
    let access_key_id = set(&raw.aws_access_key_id);
    if access_key_id.is_some() != secret.is_some() {
        problems.push("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together: set both or neither".into());
    }
    Some(crate::media::bucket::BucketConfig {
        bucket,
        prefix,
        endpoint,
        region: set(&raw.s3_region).unwrap_or_else(|| "us-east-1".to_owned()),
        access_key_id,
        secret_access_key: secret,
        session_token: raw.aws_session_token.clone(),
    })
}

/// A boolean setting (`true/false`, `1/0`, `yes/no`, `on/off`; an empty one is already unset).
pub(super) fn parse_flag(name: &str, value: Option<String>) -> anyhow::Result<Option<bool>> {
    match value.as_deref().map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None => Ok(None),
        Some("true" | "1" | "yes" | "on") => Ok(Some(true)),
        Some("false" | "0" | "no" | "off") => Ok(Some(false)),
        Some(v) => bail!("{name} must be true or false, not `{v}`"),
    }
}

/// Every setting passes here, so this is the one place where an empty value (`NAME=` as `.env.example`
/// lists them, or only blanks) counts as unset. Figment parses `SECRET_KEY=1234` as a number; a string
/// setting accepts any scalar as text.
pub(super) fn lossy_string<'de, D: Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Int(i128),
        Float(f64),
        Bool(bool),
    }
    Ok(Option::<Scalar>::deserialize(de)?
        .map(|s| match s {
            Scalar::Text(s) => s,
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        })
        .filter(|s| !s.trim().is_empty()))
}

pub(super) fn lossy_secret<'de, D: Deserializer<'de>>(de: D) -> Result<Option<SecretString>, D::Error> {
    Ok(lossy_string(de)?.map(SecretString::from))
}
