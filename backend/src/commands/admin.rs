//! `chat-server admin …`: accounts from a shell, on the database itself
//! (for SQLite, while no server has it open; a PostgreSQL database may be
//! shared with running servers). Each command is one use case of
//! [`Accounts`], so the rules are the server's: the last active
//! administrator stays, bots have no password, and so on.
//!
//! What a command prints on standard output is its result (a link, a
//! token, the list); a failure is one line on standard error and exit
//! status 1 (see `main.rs`). Passwords are read from standard input, never
//! taken as arguments (which other users of the machine can see).
//!
//! Every change is in the audit log, without an actor: it came from the
//! machine's shell, not from an account.
//!
//! A running server does not hear of what these commands change until it
//! next reads the database: a deactivation deletes the account's sessions
//! there, so its requests fail from then on, but WebSockets it already
//! has open stay until they reconnect.

use crate::accounts::{AccountSettings, Accounts, AccountsError};
use crate::audit::Audit;
use crate::store::Database;
use anyhow::Context;
use clap::Subcommand;
use common::api::accounts::{AccountUpdate, NewAccountRequest, NewInvite, SignupMode};
use common::{AccountKind, AccountState, DisplayName, Role, Username};
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

/// The base of the links printed when `--public-url` is not given.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// `chat-server admin`.
#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    /// The database: a SQLite file (not open in a running server) or a
    /// PostgreSQL URL.
    #[arg(long, env = "CHAT_DB", default_value = "chat.db")]
    pub db: Database,
    /// The address people reach the server at: the base of the links
    /// printed.
    #[arg(long, env = "CHAT_PUBLIC_URL", default_value = DEFAULT_PUBLIC_URL)]
    pub public_url: String,
    /// What to do.
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// The administration commands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an account. A person's password is read from standard input
    /// (one line); a bot has none and uses API tokens (`create-token`).
    CreateUser {
        /// The username (2 to 32 of a-z 0-9 . _ -).
        #[arg(long, value_parser = parse_username)]
        username: Username,
        /// The name shown beside its messages.
        #[arg(long, value_parser = parse_display_name)]
        display_name: DisplayName,
        /// Make it an administrator.
        #[arg(long, conflicts_with = "bot")]
        admin: bool,
        /// Make it a bot.
        #[arg(long)]
        bot: bool,
    },
    /// Print a one-time link that sets a new password (valid 24 hours);
    /// the account's sessions end when it is used.
    ResetPassword {
        /// Whose password.
        username: String,
    },
    /// List every account.
    ListUsers,
    /// Deactivate an account: it cannot sign in, its sessions end, its
    /// tokens stop working; its messages stay.
    Deactivate {
        /// Whose.
        username: String,
    },
    /// Reactivate a deactivated account.
    Reactivate {
        /// Whose.
        username: String,
    },
    /// Make an account an administrator or a member.
    SetRole {
        /// Whose.
        username: String,
        /// `admin` or `member`.
        #[arg(value_parser = parse_role)]
        role: Role,
    },
    /// Print a new invite link (for `--signup invite`).
    CreateInvite {
        /// How long it works (e.g. `7d`, `12h`); forever when absent.
        #[arg(long, value_parser = humantime::parse_duration)]
        expires_in: Option<Duration>,
        /// How many accounts it may make; any number when absent.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        max_uses: Option<u32>,
    },
    /// Print a new API token of an account (shown this once).
    CreateToken {
        /// Whose.
        username: String,
        /// A name to tell it by.
        name: String,
    },
}

/// Runs one administration command; what it prints goes to `out`, and a
/// person's password is read from `input`.
pub async fn run(
    args: AdminArgs,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let stores = args.db.open(Default::default()).await?;
    let accounts = Accounts::new(
        stores.accounts,
        Audit::new(stores.rooms),
        AccountSettings::new(SignupMode::Closed, &args.public_url),
    );
    let result = command(&accounts, args.command, input, out).await;
    stores.messages.close().await?;
    result
}

async fn command(
    accounts: &Accounts,
    command: AdminCommand,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateUser {
            username,
            display_name,
            admin,
            bot,
        } => {
            let password = if bot {
                None
            } else {
                Some(read_password(input)?)
            };
            let account = accounts
                .create_account(
                    NewAccountRequest {
                        username,
                        display_name,
                        kind: if bot {
                            AccountKind::Bot
                        } else {
                            AccountKind::Person
                        },
                        role: if admin { Role::Admin } else { Role::Member },
                        password,
                    },
                    None,
                )
                .await
                .map_err(failed)?;
            writeln!(
                out,
                "created {} {} ({}, id {})",
                account.kind, account.username, account.role, account.id
            )?;
        }
        AdminCommand::ResetPassword { username } => {
            let account = accounts.account_named(&username).await.map_err(failed)?;
            let link = accounts
                .create_reset_link(account.id, None)
                .await
                .map_err(failed)?;
            writeln!(out, "{}", link.link)?;
        }
        AdminCommand::ListUsers => {
            for account in accounts.list_accounts().await.map_err(failed)? {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    account.id,
                    account.username,
                    account.role,
                    account.kind,
                    account.state,
                    account.display_name
                )?;
            }
        }
        AdminCommand::Deactivate { username } => {
            set_state(accounts, &username, AccountState::Deactivated, out).await?;
        }
        AdminCommand::Reactivate { username } => {
            set_state(accounts, &username, AccountState::Active, out).await?;
        }
        AdminCommand::SetRole { username, role } => {
            let account = accounts.account_named(&username).await.map_err(failed)?;
            let update = AccountUpdate {
                role: Some(role),
                state: None,
            };
            let account = accounts
                .update_account(account.id, update, None)
                .await
                .map_err(failed)?;
            writeln!(out, "{} is now {}", account.username, account.role)?;
        }
        AdminCommand::CreateInvite {
            expires_in,
            max_uses,
        } => {
            let invite = NewInvite {
                expires_in_secs: expires_in.map(|wait| wait.as_secs().max(1)),
                max_uses,
            };
            let link = accounts.create_invite(invite, None).await.map_err(failed)?;
            writeln!(out, "{}", link.link)?;
        }
        AdminCommand::CreateToken { username, name } => {
            let account = accounts.account_named(&username).await.map_err(failed)?;
            let created = accounts
                .create_token_for(account.id, &name)
                .await
                .map_err(failed)?;
            writeln!(out, "{}", created.token)?;
        }
    }
    Ok(())
}

async fn set_state(
    accounts: &Accounts,
    username: &str,
    state: AccountState,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let account = accounts.account_named(username).await.map_err(failed)?;
    let update = AccountUpdate {
        role: None,
        state: Some(state),
    };
    let account = accounts
        .update_account(account.id, update, None)
        .await
        .map_err(failed)?;
    writeln!(out, "{} is now {}", account.username, account.state)?;
    Ok(())
}

/// A person's password: one line of standard input (prompted for on a
/// terminal, where it is typed visibly: pipe it in to keep it off screen).
fn read_password(input: &mut dyn BufRead) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        eprint!("Password: ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    input
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        anyhow::bail!("no password on standard input (give it as one line)");
    }
    Ok(password)
}

/// A use case's refusal, as the command's one-line error.
fn failed(err: AccountsError) -> anyhow::Error {
    anyhow::anyhow!("{err}")
}

fn parse_username(value: &str) -> Result<Username, String> {
    Username::parse(value).map_err(|err| err.to_string())
}

fn parse_display_name(value: &str) -> Result<DisplayName, String> {
    DisplayName::parse(value).map_err(|err| err.to_string())
}

fn parse_role(value: &str) -> Result<Role, String> {
    value
        .parse()
        .map_err(|_| "must be admin or member".to_owned())
}
