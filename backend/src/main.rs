//! `chat-server`: parses the configuration, binds the address, and runs the
//! server until Ctrl-C or SIGTERM. A failure to start is one line on stderr
//! and exit status 1.

use anyhow::Context;
use chat_server::{shutdown, telemetry, Config};
use clap::Parser;
use std::process::ExitCode;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    telemetry::init(config.trace, config.log_format);
    match serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("chat-server: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    chat_server::run(listener, config, shutdown::signal()).await?;
    Ok(())
}
