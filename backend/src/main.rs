//! `chat-server`: parses the command line; serves until Ctrl-C or SIGTERM,
//! or runs one of the subcommands (`backup`, `export`, `admin …`). A failure is one
//! line on stderr and exit status 1.

use anyhow::Context;
use chat_server::commands::{admin, backup, export, BackupArgs, Cli, Command, ExportArgs};
use chat_server::{shutdown, telemetry, Config};
use clap::Parser;
use std::future::Future;
use std::io::Write;
use std::process::ExitCode;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => {
            telemetry::init(cli.config.trace, cli.config.log_format);
            // First of all, before the database is opened and the setup
            // link or the address is printed: a SIGTERM sent as soon as
            // the server says it is up must stop it (see `shutdown::watch`).
            let stop = shutdown::watch();
            serve(cli.config, stop).await
        }
        // The subcommands log nothing: what they say is on stderr, and
        // an export may be on stdout.
        Some(Command::Backup(args)) => run_backup(&args),
        Some(Command::Export(args)) => run_export(&args).await,
        Some(Command::Admin(args)) => {
            let mut input = std::io::stdin().lock();
            let mut out = std::io::stdout().lock();
            admin::run(args, &mut input, &mut out).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("chat-server: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    chat_server::run(listener, config, stop).await?;
    Ok(())
}

fn run_backup(args: &BackupArgs) -> anyhow::Result<()> {
    backup::backup(&args.db, &args.file)?;
    eprintln!("chat-server: {} copied to {}", args.db, args.file.display());
    Ok(())
}

async fn run_export(args: &ExportArgs) -> anyhow::Result<()> {
    let exported = match &args.out {
        Some(path) => {
            let file = std::fs::File::create_new(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            export::export(&args.db, args.room.as_ref(), &mut out).await?
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let exported = export::export(&args.db, args.room.as_ref(), &mut out).await?;
            out.flush()?;
            exported
        }
    };
    eprintln!(
        "chat-server: exported {} messages of {} rooms",
        exported.messages, exported.rooms
    );
    Ok(())
}
