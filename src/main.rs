//! `homechef`: parses the command line, starts telemetry and hands over to `cli::run`.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = homechef::cli::Cli::parse();
    homechef::telemetry::init();
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
