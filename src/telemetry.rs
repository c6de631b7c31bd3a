//! Structured logging: one `tracing` subscriber for our events and, through `tracing-log`, Rocket's.
//! `RUST_LOG` overrides the default filter; `LOG_FORMAT=json` switches to JSON lines for machines.

use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::EnvFilter;

/// Quiet Rocket's per-request chatter: our request fairing logs one event per request instead.
const DEFAULT_FILTER: &str = "info,rocket::server=off,rocket::launch=info,hyper=warn,tokio_postgres=warn";

/// Installs the global subscriber, writing to stdout. Call once, before `rocket::build()`; later calls are
/// ignored.
pub fn init() {
    install(BoxMakeWriter::new(std::io::stdout));
}

/// The subscriber for tests: through libtest's capture, so a passing test prints nothing and a failing one
/// shows its log; with `TEST_LOG` set, straight to stdout as it happens.
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_some() {
        init();
    } else {
        install(BoxMakeWriter::new(tracing_subscriber::fmt::TestWriter::new()));
    }
}

fn install(writer: BoxMakeWriter) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    // An error only means a subscriber is already installed.
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
}
