//! `src/db/schema.rs` must describe exactly what the migrations create (what `diesel print-schema` would
//! print): same tables, columns in order, types and nullability.

use diesel::QueryableByName;
use diesel_async::RunQueryDsl as _;

use crate::helpers::TestDatabase;

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    udt_name: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    nullable: bool,
}

fn diesel_type(udt: &str) -> String {
    let base = match udt.trim_start_matches('_') {
        "uuid" => "Uuid",
        "text" => "Text",
        "varchar" => "Varchar",
        "bpchar" => "Bpchar",
        "timestamptz" => "Timestamptz",
        "timestamp" => "Timestamp",
        "date" => "Date",
        "int2" => "Int2",
        "int4" => "Int4",
        "int8" => "Int8",
        "float4" => "Float4",
        "float8" => "Float8",
        "numeric" => "Numeric",
        "bool" => "Bool",
        "jsonb" => "Jsonb",
        "bytea" => "Bytea",
        "tsvector" => "Tsvector",
        other => panic!("add a mapping for the PostgreSQL type {other}"),
    };
    if udt.starts_with('_') {
        format!("Array<Nullable<{base}>>")
    } else {
        base.to_owned()
    }
}

/// `table.column: Type` lines from the database.
async fn from_database(url: &str) -> Vec<String> {
    let mut conn = homechef::db::connect(url).await.unwrap();
    let columns: Vec<Column> = diesel::sql_query(
        "select table_name::text, column_name::text, udt_name::text, is_nullable = 'YES' as nullable
         from information_schema.columns
         where table_schema = 'public' and table_name <> '__diesel_schema_migrations'
         order by table_name, ordinal_position",
    )
    .load(&mut conn)
    .await
    .unwrap();
    columns
        .into_iter()
        .map(|c| {
            let ty = diesel_type(&c.udt_name);
            let ty = if c.nullable { format!("Nullable<{ty}>") } else { ty };
            format!("{}.{}: {ty}", c.table_name, c.column_name)
        })
        .collect()
}

/// The same lines parsed from `schema.rs`.
fn from_schema_rs() -> Vec<String> {
    let source = include_str!("../../src/db/schema.rs");
    let mut tables: Vec<(String, Vec<String>)> = Vec::new();
    let mut in_table = false;
    for line in source.lines() {
        let trimmed = line.trim();
        let header = line.starts_with("    ") && !line.starts_with("     ") && trimmed.ends_with('{');
        if header && trimmed.contains(" (") && !trimmed.starts_with("pub mod") {
            tables.push((trimmed.split(' ').next().unwrap().to_owned(), Vec::new()));
            in_table = true;
        } else if line == "    }" {
            in_table = false;
        } else if let (true, Some((column, ty)), Some((_, columns))) =
            (in_table, trimmed.split_once(" -> "), tables.last_mut())
        {
            columns.push(format!("{column}: {}", ty.trim_end_matches(',')));
        }
    }
    tables.sort_by(|a, b| a.0.cmp(&b.0));
    tables
        .into_iter()
        .flat_map(|(table, columns)| columns.into_iter().map(move |c| format!("{table}.{c}")))
        .collect()
}

#[tokio::test]
async fn schema_rs_matches_the_migrations() {
    let db = TestDatabase::create().await;
    let expected = from_database(&db.url).await;
    assert!(!expected.is_empty());
    assert_eq!(
        from_schema_rs(),
        expected,
        "src/db/schema.rs is out of date with migrations/"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_migration_reverts_cleanly() {
    let db = TestDatabase::create().await;
    let conn = homechef::db::connect(&db.url).await.unwrap();
    let mut harness = diesel_async::AsyncMigrationHarness::new(conn);
    tokio::task::block_in_place(|| {
        use diesel_migrations::MigrationHarness as _;
        harness.revert_all_migrations(homechef::db::MIGRATIONS).unwrap();
        harness.run_pending_migrations(homechef::db::MIGRATIONS).unwrap();
    });
    let after = from_database(&db.url).await;
    assert_eq!(from_schema_rs(), after);
}

/// Instances started together on a new database (a scaled deploy's first boot): each runs the migrations at
/// start-up; they take turns, one applies everything and the others find nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_migrate_once() {
    let db = TestDatabase::create().await;
    let conn = homechef::db::connect(&db.url).await.unwrap();
    let mut harness = diesel_async::AsyncMigrationHarness::new(conn);
    tokio::task::block_in_place(|| {
        use diesel_migrations::MigrationHarness as _;
        harness.revert_all_migrations(homechef::db::MIGRATIONS).unwrap();
    });
    drop(harness);
    let starts = (0..3).map(|_| {
        let url = db.url.clone();
        tokio::spawn(async move { homechef::db::run_migrations(&url).await })
    });
    let mut applied: Vec<usize> = rocket::futures::future::join_all(starts)
        .await
        .into_iter()
        .map(|run| run.unwrap().unwrap_or_else(|e| panic!("{e}")).len())
        .collect();
    applied.sort_unstable();
    assert_eq!(applied, [0, 0, homechef::db::embedded_versions().len()]);
    assert_eq!(from_schema_rs(), from_database(&db.url).await);
}

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

async fn query_text(conn: &mut diesel_async::AsyncPgConnection, sql: &str) -> String {
    let row: Setting = diesel::sql_query(sql).get_result(conn).await.unwrap();
    row.value
}

#[tokio::test]
async fn sslmode_require_encrypts_and_verify_full_authenticates() {
    let db = TestDatabase::create().await;
    let with = |mode: &str| {
        format!(
            "{}{}sslmode={mode}",
            db.url,
            if db.url.contains('?') { '&' } else { '?' }
        )
    };
    let mut plain = homechef::db::connect(&db.url).await.unwrap();
    let server_ssl = query_text(&mut plain, "select current_setting('ssl') as value").await;
    let encrypted =
        "select coalesce((select ssl::text from pg_stat_ssl where pid = pg_backend_pid()), 'false') as value";
    assert_eq!(query_text(&mut plain, encrypted).await, "false");
    match server_ssl.as_str() {
        "on" => {
            let mut conn = homechef::db::connect(&with("require")).await.unwrap();
            assert_eq!(query_text(&mut conn, encrypted).await, "true");
            // A self-signed or private-CA certificate is not trusted without DATABASE_CA_FILE.
            assert!(homechef::db::connect(&with("verify-full")).await.is_err());
        }
        _ => assert!(
            homechef::db::connect(&with("require")).await.is_err(),
            "require must not fall back to plain text"
        ),
    }
}
