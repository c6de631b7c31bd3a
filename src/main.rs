//! `homechef`: reads `.env`, parses the command line, starts telemetry and hands over to `cli::run`.

use std::process::ExitCode;

use clap::Parser as _;

/// mimalloc instead of glibc's allocator: a request allocates thousands of small objects from two worker
/// threads, where glibc's arenas spent a fifth of the server's CPU (malloc, free, consolidation, arena locks)
/// and grew to hundreds of MB under concurrent uploads unless `MALLOC_ARENA_MAX` was set.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // No transparent huge pages for this process: mimalloc's arena is eligible for them, and each 2 MiB page
    // it touches then counts whole (RSS after the catalogue benchmark 37 MB with them, 23 MB without, same
    // throughput). A kernel that refuses changes nothing else.
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    // `.env` in the working directory, if there is one, for every command and environment; a variable
    // already set in the process environment wins (dotenvy never overrides). A `.env` we cannot even see
    // (a working directory this user may not search, as for `healthcheck` run by another account) is none.
    let dotenv = std::path::Path::new(".env")
        .try_exists()
        .unwrap_or(false)
        .then(|| dotenvy::from_path(".env"));
    let cli = homechef::cli::Cli::parse();
    homechef::telemetry::init();
    match dotenv {
        Some(Ok(())) => tracing::debug!("read .env"),
        Some(Err(e)) => {
            eprintln!("error: cannot read .env: {e}");
            return ExitCode::FAILURE;
        }
        None => {}
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(homechef::cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
