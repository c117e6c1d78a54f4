//! The workspace's commands, so that a fresh machine needs nothing but cargo:
//!
//! ```text
//! cargo xtask run [-- <chat-server flags>]   install what is missing, build the web client
//!                                             and the server (release), run chat-server
//! cargo xtask test                            install what is missing, then every check:
//!                                             formatting, clippy, docs, the web client's
//!                                             release build, and all tests
//! cargo xtask setup                           only install what is missing
//! ```
//!
//! Each tool is installed only when it is missing (or at the wrong version),
//! so a second run starts at once. What gets installed: the
//! `wasm32-unknown-unknown` target (rustup), trunk 0.21, `wasm-bindgen-cli`
//! at exactly the version `Cargo.lock` pins (trunk runs offline and needs
//! it), `wasm-opt` (Debian's binaryen) and cargo-nextest.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The WebAssembly target the web client is built for.
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The trunk release line this workspace builds with (0.22 needs a newer rustc).
const TRUNK_VERSION: &str = "~0.21";
/// What `trunk --version` prints for an acceptable trunk.
const TRUNK_VERSION_PREFIX: &str = "trunk 0.21.";

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(),
        Some("setup") => setup(),
        _ => Err(usage()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> String {
    "usage: cargo xtask run [-- <chat-server flags>] | cargo xtask test | cargo xtask setup"
        .to_owned()
}

/// Builds everything in release mode and replaces this process with the server.
fn run(server_args: &[String]) -> Result {
    setup()?;
    let root = workspace_root();
    step("building the web client (trunk build --release)");
    cargo_tool("trunk")
        .args(["build", "--release"])
        .current_dir(&root)
        .check()?;
    step("building the server (cargo build --release)");
    cargo()
        .args([
            "build",
            "--release",
            "--package",
            "backend",
            "--bin",
            "chat-server",
        ])
        .current_dir(&root)
        .check()?;
    let server_args: Vec<&String> = server_args.iter().skip_while(|arg| *arg == "--").collect();
    step("starting chat-server (Ctrl-C stops it)");
    let mut server = Command::new(root.join("target/release/chat-server"));
    server.args(server_args).current_dir(&root);
    exec(server)
}

/// Every check CI runs, in order of speed, ending with the test summary.
fn test() -> Result {
    setup()?;
    let root = workspace_root();
    step("formatting (cargo fmt --check)");
    cargo()
        .args(["fmt", "--all", "--", "--check"])
        .current_dir(&root)
        .check()?;
    step("lints (cargo clippy -D warnings)");
    cargo()
        .args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ])
        .current_dir(&root)
        .check()?;
    step("documentation (cargo doc, warnings denied)");
    cargo()
        .args(["doc", "--no-deps", "-p", "backend", "-p", "common"])
        .env("RUSTDOCFLAGS", "-D warnings")
        .current_dir(&root)
        .check()?;
    step("the web client's release build (trunk build --release)");
    cargo_tool("trunk")
        .args(["build", "--release"])
        .current_dir(&root)
        .check()?;
    step("tests (cargo nextest run --workspace)");
    cargo()
        .args(["nextest", "run", "--workspace", "--no-fail-fast"])
        .current_dir(&root)
        .check()
}

/// Installs what is missing.
fn setup() -> Result {
    ensure_wasm_target()?;
    ensure_cargo_install(
        "trunk",
        TRUNK_VERSION_PREFIX,
        &["trunk", "--locked", "--version", TRUNK_VERSION],
    )?;
    let bindgen = locked_version("wasm-bindgen")?;
    // Not `--locked`: the registry here may lack versions its lock file names.
    ensure_cargo_install(
        "wasm-bindgen",
        &format!("wasm-bindgen {bindgen}"),
        &["wasm-bindgen-cli", "--version", &format!("={bindgen}")],
    )?;
    ensure_cargo_install(
        "cargo-nextest",
        "cargo-nextest",
        &["cargo-nextest", "--locked"],
    )?;
    ensure_wasm_opt()
}

fn ensure_wasm_target() -> Result {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        return Ok(());
    }
    step(&format!("installing the {WASM_TARGET} target"));
    Command::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .check()
}

/// Runs `cargo install <install_args>` unless `<binary> --version` already
/// prints something starting with `version_prefix`.
fn ensure_cargo_install(binary: &str, version_prefix: &str, install_args: &[&str]) -> Result {
    let found = output(cargo_tool(binary).arg("--version")).unwrap_or_default();
    if found.trim_start().starts_with(version_prefix) {
        return Ok(());
    }
    step(&format!(
        "installing {} (cargo install; this takes a few minutes once)",
        install_args[0]
    ));
    cargo().arg("install").args(install_args).check()
}

fn ensure_wasm_opt() -> Result {
    if output(Command::new("wasm-opt").arg("--version")).is_ok() {
        return Ok(());
    }
    step("installing wasm-opt (Debian's binaryen)");
    let apt = |args: &[&str]| {
        let mut command = if is_root() {
            Command::new("apt-get")
        } else {
            sudo("apt-get")
        };
        command
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .check()
    };
    apt(&["update", "-qq"])?;
    apt(&["install", "-y", "-qq", "binaryen"]).map_err(|err| {
        format!("{err}\ninstall binaryen (which provides wasm-opt) by hand and retry")
    })
}

/// The version of `package` that `Cargo.lock` pins.
fn locked_version(package: &str) -> Result<String> {
    let lock_path = workspace_root().join("Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path)
        .map_err(|err| format!("cannot read {}: {err}", lock_path.display()))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{package}\"") {
            if let Some(version) = lines
                .next()
                .and_then(|next| next.strip_prefix("version = \""))
            {
                return Ok(version.trim_end_matches('"').to_owned());
            }
        }
    }
    Err(format!("{package} is not in Cargo.lock"))
}

fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(manifest_dir)
}

fn cargo() -> Command {
    let mut command = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.env("PATH", path_with_cargo_bin());
    command
}

/// A command for a tool `cargo install` puts in cargo's bin directory, found
/// even when that directory is not on the `PATH` yet.
fn cargo_tool(binary: &str) -> Command {
    let mut command = Command::new(binary);
    command.env("PATH", path_with_cargo_bin());
    command
}

fn path_with_cargo_bin() -> OsString {
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let mut paths: Vec<PathBuf> = cargo_home
        .map(|home| home.join("bin"))
        .into_iter()
        .collect();
    paths.extend(
        env::var_os("PATH")
            .map(|path| env::split_paths(&path).collect::<Vec<_>>())
            .unwrap_or_default(),
    );
    env::join_paths(paths).unwrap_or_default()
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0")
}

fn sudo(program: &str) -> Command {
    let mut command = Command::new("sudo");
    command.arg(program);
    command
}

fn step(what: &str) {
    eprintln!("\n==> {what}");
}

/// The standard output of a command that must succeed.
fn output(command: &mut Command) -> Result<String> {
    let result = command
        .output()
        .map_err(|err| format!("cannot run {command:?}: {err}"))?;
    if !result.status.success() {
        return Err(format!("{command:?} failed with {}", result.status));
    }
    Ok(String::from_utf8_lossy(&result.stdout).into_owned())
}

trait Check {
    /// Runs the command with inherited output; fails unless it succeeds.
    fn check(&mut self) -> Result;
}

impl Check for Command {
    fn check(&mut self) -> Result {
        let status = self
            .status()
            .map_err(|err| format!("cannot run {self:?}: {err}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{:?} failed with {status}", self.get_program()))
        }
    }
}

#[cfg(unix)]
fn exec(mut command: Command) -> Result {
    use std::os::unix::process::CommandExt;
    // Replace this process, so Ctrl-C and SIGTERM reach the server directly
    // and it shuts down gracefully.
    let err = command.exec();
    Err(format!("cannot start {:?}: {err}", command.get_program()))
}

#[cfg(not(unix))]
fn exec(mut command: Command) -> Result {
    command.check()
}
