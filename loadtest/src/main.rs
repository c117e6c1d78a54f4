//! `chat-bench`: see the `loadtest` crate's documentation, or `--help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = loadtest::cli::Cli::parse();
    match loadtest::app::main(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("chat-bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}
