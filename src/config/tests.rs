use super::*;

fn config(pairs: &[(&str, &str)]) -> anyhow::Result<AppConfig> {
    let mut figment = rocket_defaults(Figment::new());
    for (k, v) in pairs {
        figment = figment.merge((*k, *v));
    }
    AppConfig::from_figment(figment)
}

#[test]
fn development_generates_a_missing_secret_key() {
    let cfg = config(&[]).unwrap_or_else(|e| panic!("{e}"));
    assert!(cfg.secret_key_generated);
    assert!(cfg.secret_key.expose_secret().len() >= MIN_SECRET_KEY_LEN);
    assert!(cfg.graphiql_enabled);
}

#[test]
fn production_requires_a_secret_key() {
    let err = config(&[("app_env", "production")]).err().map(|e| e.to_string());
    assert!(err.unwrap_or_default().contains("SECRET_KEY is required"));
}

#[test]
fn short_secret_keys_are_refused() {
    assert!(config(&[("secret_key", "short")]).is_err());
}

#[test]
fn lists_are_split_and_trimmed() {
    let cfg =
        config(&[("allowed_origins", " https://a.example , https://b.example,")]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.allowed_origins, ["https://a.example", "https://b.example"]);
    assert_eq!(cfg.clerk.authorized_parties, cfg.allowed_origins);
}

#[test]
fn generated_keys_have_the_requested_size_and_differ() {
    assert_eq!(generate_secret_key(32, KeyFormat::Hex).len(), 64);
    assert_eq!(generate_secret_key(64, KeyFormat::Urlsafe).len(), 86);
    assert_eq!(generate_secret_key(48, KeyFormat::Base64).len(), 64);
    assert_ne!(
        generate_secret_key(32, KeyFormat::Hex),
        generate_secret_key(32, KeyFormat::Hex)
    );
}

#[test]
fn empty_values_mean_unset_and_bad_values_are_named() {
    let cfg =
        config(&[("graphiql_enabled", ""), ("max_upload_size", ""), ("app_env", "")]).unwrap_or_else(|e| panic!("{e}"));
    assert!(cfg.graphiql_enabled);
    assert_eq!(cfg.max_upload_size, 10 * 1024 * 1024);
    let err = config(&[("rate_limit_enabled", "maybe")]).err().map(|e| e.to_string());
    assert!(err.unwrap_or_default().contains("RATE_LIMIT_ENABLED"));
    let cfg = config(&[("rate_limit_enabled", "off")]).unwrap_or_else(|e| panic!("{e}"));
    assert!(!cfg.rate_limit_enabled);
}

#[test]
fn redis_url_is_optional_and_checked() {
    assert!(config(&[]).is_ok_and(|c| c.redis_url.is_none()));
    assert!(config(&[("redis_url", "redis://:pw@cache:6379/2")]).is_ok_and(|c| c.redis_url.is_some()));
    for bad in ["cache:6379", "http://cache", "redis://"] {
        let err = config(&[("redis_url", bad)])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("REDIS_URL"), "{bad}: {err}");
    }
}

#[test]
fn the_media_store_is_local_unless_a_bucket_is_named() {
    assert!(config(&[]).is_ok_and(|c| c.media_bucket.is_none()));
    assert!(config(&[("media_store", "local")]).is_ok_and(|c| c.media_bucket.is_none()));
    let bucket = config(&[
        ("media_store", "s3://recipes/prod"),
        ("s3_endpoint", "http://127.0.0.1:9000"),
        ("aws_access_key_id", "id"),
        ("aws_secret_access_key", "secret"),
    ])
    .map(|c| c.media_bucket);
    let bucket = bucket.ok().flatten();
    assert_eq!(
        bucket.as_ref().map(|b| (b.bucket.as_str(), b.prefix.as_str())),
        Some(("recipes", "prod"))
    );
    assert_eq!(bucket.as_ref().map(|b| b.region.as_str()), Some("us-east-1"));
    assert!(bucket.is_some_and(|b| b.plain_http()));
    for (pairs, named) in [
        (vec![("media_store", "s3://../x")], "MEDIA_STORE"),
        (vec![("media_store", "/var/media")], "MEDIA_STORE"),
        (
            vec![("media_store", "s3://recipes"), ("s3_endpoint", "minio:9000")],
            "S3_ENDPOINT",
        ),
        (
            vec![("media_store", "s3://recipes"), ("aws_access_key_id", "id")],
            "AWS_SECRET_ACCESS_KEY",
        ),
    ] {
        let err = config(&pairs).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains(named), "{pairs:?}: {err}");
    }
}

#[test]
fn the_pool_size_defaults_to_eight_and_is_bounded() {
    let size = |value: &str| config(&[("database_pool_size", value)]).map(|c| c.database_pool_size);
    assert_eq!(size("").ok(), Some(8));
    assert_eq!(size("16").ok(), Some(16));
    for bad in ["0", "65", "-1", "many"] {
        let err = size(bad).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("DATABASE_POOL_SIZE"), "{bad}: {err}");
    }
}

#[test]
fn import_ports_default_to_the_web_and_are_checked() {
    let ports = |value: &str| config(&[("import_allowed_ports", value)]).map(|c| c.import_allowed_ports);
    assert_eq!(ports("").ok(), Some(vec![80, 443]));
    assert_eq!(ports("443, 8443").ok(), Some(vec![443, 8443]));
    assert_eq!(ports("8080").ok(), Some(vec![8080]), "one port reads as a number");
    for bad in ["0", "65536", "http", "80,x"] {
        let err = ports(bad).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("IMPORT_ALLOWED_PORTS"), "{bad}: {err}");
    }
}

#[test]
fn unknown_app_env_is_an_error() {
    assert!(config(&[("app_env", "staging")]).is_err());
}

#[test]
fn a_database_password_with_url_characters_is_encoded_into_the_url() {
    assert_eq!(
        with_password("postgres://homechef@db:5432/homechef?sslmode=disable", "p@ss/w:rd#1 ?").as_deref(),
        Ok("postgres://homechef:p%40ss%2Fw%3Ard%231%20%3F@db:5432/homechef?sslmode=disable")
    );
    assert!(with_password("postgres://db/homechef", "x").is_err());
    assert!(with_password("postgres://u:p@db/homechef", "x").is_err());
    assert!(with_password("not a url", "x").is_err());
}

#[test]
fn the_public_base_url_is_an_origin_and_loses_its_trailing_slash() {
    let cfg = config(&[("public_base_url", "https://api.example.com/")]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.public_base_url.as_deref(), Some("https://api.example.com"));
    for bad in [
        "api.example.com",
        "ftp://x",
        "https://u:p@x",
        "https://x/?a=1",
        "javascript:alert(1)",
    ] {
        assert!(config(&[("public_base_url", bad)]).is_err(), "{bad}");
    }
}
