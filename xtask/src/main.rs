//! The workspace's commands, so that a fresh machine needs nothing but cargo:
//!
//! ```text
//! cargo xtask run [-- <chat-server flags>]   install what is missing, build the web client
//!                                             and the server (release, with the client
//!                                             embedded), run chat-server
//! cargo xtask dev [--port P] [--server-port S] [--dist DIR] [-- <chat-server flags>]
//!                                             the development flow: chat-server on :8080
//!                                             (or S) and `trunk serve` with live reload
//!                                             on :8081 (or P), its proxy to S; the client
//!                                             written to DIR instead of dist/
//! cargo xtask test                            install what is missing, then every check:
//!                                             formatting, clippy, docs, the web client's
//!                                             release build and its size, the release
//!                                             server, schemathesis against it (every HTTP
//!                                             route fuzzed), and all tests (browser tests
//!                                             included)
//! cargo xtask fuzz                            only the schemathesis step of `test`, against
//!                                             $CHAT_SERVER_BIN if set, else the release server
//! cargo xtask screenshot                      build, then retake docs/screenshot.png (and
//!                                             docs/screenshot-phone.png) with the browser test
//! cargo xtask setup                           only install what is missing
//! ```
//!
//! Each tool is installed only when it is missing (or at the wrong version),
//! so a second run starts at once. What gets installed: the
//! `wasm32-unknown-unknown` target (rustup), trunk 0.21, `wasm-bindgen-cli`
//! at exactly the version `Cargo.lock` pins (trunk runs offline and needs
//! it), binaryen's `wasm-opt` and axe-core (the browser tests' accessibility
//! checker) from npm (`tools/package.json`; Debian's wasm-opt is too old),
//! cargo-nextest, Debian's `chromium`, `chromium-driver` and
//! `fonts-noto-color-emoji` for the browser tests (with `nodejs` and `npm`
//! when they are missing), Debian's `redis-server`, the broker of the
//! cluster tests, and Debian's `postgresql`, whose `initdb` and `pg_ctl`
//! the tests run (they start their own servers; `cargo xtask test` stops
//! them when the tests end). `cargo xtask test` also installs schemathesis
//! from PyPI into `target/schemathesis-venv` (see [`schemathesis`]).

mod schemathesis;

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
/// The binaryen release of `tools/package.json`, which `Trunk.toml` requires
/// (`wasm_opt = "version_132"`); a test below keeps the three in step.
const WASM_OPT_VERSION: &str = "132";
/// Where npm installs the build tools (`tools/package.json`).
const NPM_TOOLS_DIR: &str = "tools";
/// The accessibility checker the browser tests inject into the page, from
/// npm (`tools/package.json`), relative to the workspace root.
const AXE_CORE: &str = "tools/node_modules/axe-core/axe.min.js";
/// The browser and its WebDriver, from Debian, for the browser tests.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The broker the cluster tests start (`--cluster`), from Debian.
const REDIS_SERVER: &str = "/usr/bin/redis-server";
/// Where Debian's `postgresql` puts each version's programs
/// (`<version>/bin/initdb`); the tests run a PostgreSQL server of their own.
const DEBIAN_POSTGRESQL: &str = "/usr/lib/postgresql";
/// Where the backend's tests keep their PostgreSQL servers, under the target
/// directory (`PG_TEST_DIR` of backend/tests/support/postgres.rs).
const PG_TEST_DIR: &str = "tmp/pg-test";
/// The system user that runs those servers when the tests run as root.
const POSTGRES_USER: &str = "postgres";
/// Longest `pg_ctl stop` may take for each server at the end of the tests.
const PG_STOP_TIMEOUT_SECS: &str = "60";
/// The colour emoji font, from Debian, so that emoji in the browser tests'
/// screenshots look as people see them (Chromium has no font of its own).
const EMOJI_FONT: &str = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf";
/// Most bytes the web client's WebAssembly and JavaScript may take together,
/// gzip-compressed (`gzip -9`): what a first visit downloads before the
/// chat shows. 260 KiB from the accounts issue on, for it and the rooms,
/// messages and search issues together (it was 200 KiB).
const CLIENT_GZIP_BUDGET: u64 = 260 * 1024;
/// The origins of `trunk serve` (see Trunk.toml), which `cargo xtask dev`
/// allows to open WebSockets on the backend behind its proxy.
const DEV_ORIGINS: [&str; 2] = ["http://127.0.0.1:8081", "http://localhost:8081"];

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("dev") => dev(&args[1..]),
        Some("test") => test(),
        Some("fuzz") => fuzz(),
        Some("screenshot") => screenshot(),
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
    "usage: cargo xtask run [-- <chat-server flags>] \
     | cargo xtask dev [--port P] [--server-port S] [--dist DIR] [-- <chat-server flags>] \
     | cargo xtask test | cargo xtask fuzz | cargo xtask screenshot | cargo xtask setup"
        .to_owned()
}

/// Builds everything in release mode and replaces this process with the server.
fn run(server_args: &[String]) -> Result {
    setup()?;
    let root = workspace_root();
    build_client(&root)?;
    let server = build_server(&root)?;
    let server_args: Vec<&String> = server_args.iter().skip_while(|arg| *arg == "--").collect();
    step("starting chat-server (Ctrl-C stops it)");
    let mut server = Command::new(server);
    server.args(server_args).current_dir(&root);
    exec(server)
}

/// Where `cargo xtask dev` puts chat-server and `trunk serve` unless told
/// otherwise: the ports of Trunk.toml.
const DEV_SERVER_PORT: u16 = 8080;
const DEV_PORT: u16 = 8081;

/// The options of `cargo xtask dev` before its `--` (what follows goes to
/// chat-server).
#[derive(Debug, PartialEq)]
struct DevOptions {
    /// Where `trunk serve` listens (on 127.0.0.1).
    port: u16,
    /// Where chat-server listens (on 127.0.0.1), behind trunk's proxy.
    server_port: u16,
    /// Where trunk writes the client it serves; `dist/` of Trunk.toml
    /// when not given.
    dist: Option<PathBuf>,
    /// chat-server's own flags.
    server_args: Vec<String>,
}

fn parse_dev_options(args: &[String]) -> Result<DevOptions> {
    let mut options = DevOptions {
        port: DEV_PORT,
        server_port: DEV_SERVER_PORT,
        dist: None,
        server_args: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let port = |text: String, name: &str| {
            text.parse::<u16>()
                .map_err(|_| format!("{name} {text}: not a port"))
        };
        match arg.as_str() {
            "--port" => options.port = port(value("--port")?, "--port")?,
            "--server-port" => {
                options.server_port = port(value("--server-port")?, "--server-port")?
            }
            "--dist" => options.dist = Some(PathBuf::from(value("--dist")?)),
            "--" => {
                options.server_args = args.cloned().collect();
                break;
            }
            other => {
                return Err(format!(
                "cargo xtask dev: unknown option {other} (chat-server's flags go after `--`)\n{}",
                usage()
            ))
            }
        }
    }
    Ok(options)
}

/// The development flow: the backend (debug build) on 127.0.0.1:8080,
/// allowing the origin of `trunk serve`, whose proxy passes the browser's
/// Origin on; then `trunk serve` on 127.0.0.1:8081 until Ctrl-C.
///
/// With `--port`, `--server-port` or `--dist`, trunk runs with a copy of
/// Trunk.toml in the target directory that says so (see
/// [`dev_trunk_config`]): its proxy entries then point at the server's
/// port. That is how frontend/tests/dev_flow.rs runs this very flow beside
/// a developer's own `cargo xtask dev`.
fn dev(args: &[String]) -> Result {
    let options = parse_dev_options(args)?;
    setup()?;
    let root = workspace_root();
    step("building the server (cargo build, debug)");
    cargo()
        .args(["build", "--package", "backend", "--bin", "chat-server"])
        .current_dir(&root)
        .check()?;
    let origins = dev_origins(options.port);
    let mut server = Command::new(target_dir(&root).join("debug").join("chat-server"));
    if !options
        .server_args
        .iter()
        .any(|arg| arg.starts_with("--addr"))
    {
        server.args(["--addr", &format!("127.0.0.1:{}", options.server_port)]);
    }
    for origin in &origins {
        server.args(["--allowed-origin", origin]);
    }
    // The links the server prints and hands out (the first start's setup
    // link, invites, password resets) open trunk's page, where the
    // client being worked on is, unless the caller names another.
    if !options
        .server_args
        .iter()
        .any(|arg| arg.starts_with("--public-url"))
    {
        server.args(["--public-url", &origins[0]]);
    }
    server.args(&options.server_args).current_dir(&root);
    let mut trunk = tool("trunk");
    trunk.arg("serve").current_dir(&root);
    let default_ports = options.port == DEV_PORT && options.server_port == DEV_SERVER_PORT;
    if !default_ports || options.dist.is_some() {
        let trunk_toml = root.join("Trunk.toml");
        let text = std::fs::read_to_string(&trunk_toml)
            .map_err(|err| format!("cannot read {}: {err}", trunk_toml.display()))?;
        let dist = options.dist.clone().unwrap_or_else(|| root.join("dist"));
        let config = dev_trunk_config(&text, &root, &dist, options.port, options.server_port)?;
        let dir = target_dir(&root).join("xtask-dev");
        std::fs::create_dir_all(&dir)
            .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        let path = dir.join(format!("Trunk-{}.toml", options.port));
        std::fs::write(&path, config)
            .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
        trunk.arg("--config").arg(&path);
    }
    step(&format!(
        "starting chat-server on 127.0.0.1:{}, then trunk serve on {}",
        options.server_port, origins[0]
    ));
    let mut server = server
        .spawn()
        .map_err(|err| format!("cannot start chat-server: {err}"))?;
    let served = trunk.check();
    let _ = server.kill();
    let _ = server.wait();
    served
}

/// The origins of `trunk serve` on `port`, which chat-server allows.
fn dev_origins(port: u16) -> Vec<String> {
    DEV_ORIGINS
        .iter()
        .map(|origin| {
            let host = origin.trim_end_matches(&format!(":{DEV_PORT}"));
            format!("{host}:{port}")
        })
        .collect()
}

/// Trunk.toml (`text`) as `trunk serve --config` reads it from another
/// directory: its paths made absolute (trunk takes them relative to the
/// config file's directory), the client written to `dist`, trunk on
/// `port` and every proxy backend on `server_port`. Everything else stays
/// as the repository has it, so its proxy entries are what gets tested.
/// Fails when Trunk.toml no longer has a line this rewrites, rather than
/// serving something else than it says.
fn dev_trunk_config(
    text: &str,
    root: &Path,
    dist: &Path,
    port: u16,
    server_port: u16,
) -> Result<String> {
    let quoted = |path: &Path| format!("{:?}", path.display().to_string());
    let mut config = text.to_owned();
    let mut replace = |from: &str, to: String, at_least: usize| -> Result {
        let found = config.matches(from).count();
        if found < at_least {
            return Err(format!(
                "Trunk.toml has {found} of `{from}`, which `cargo xtask dev` rewrites for its \
                 --port/--server-port/--dist (wanted {at_least}): update dev_trunk_config"
            ));
        }
        config = config.replace(from, &to);
        Ok(())
    };
    replace(
        "target = \"index.html\"",
        format!("target = {}", quoted(&root.join("index.html"))),
        1,
    )?;
    replace("dist = \"dist\"", format!("dist = {}", quoted(dist)), 1)?;
    let watched = ["index.html", "frontend", "common"]
        .map(|path| quoted(&root.join(path)))
        .join(", ");
    replace(
        "watch = [\"index.html\", \"frontend\", \"common\"]",
        format!("watch = [{watched}]"),
        1,
    )?;
    replace(
        &format!("port = {DEV_PORT}\n"),
        format!("port = {port}\n"),
        1,
    )?;
    replace(
        &format!("127.0.0.1:{DEV_SERVER_PORT}/"),
        format!("127.0.0.1:{server_port}/"),
        1,
    )?;
    Ok(config)
}

/// Every check CI runs, in order of speed, ending with the test summary.
/// Cases each property test (the bounded fuzzing of `common/tests/fuzz.rs`)
/// runs in `cargo xtask test`: about 15 s in all here, eight times
/// proptest's default that a plain `cargo test` runs.
const PROPTEST_CASES: &str = "2048";

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
        .args([
            "doc",
            "--no-deps",
            "-p",
            "backend",
            "-p",
            "common",
            "-p",
            "frontend",
        ])
        .env("RUSTDOCFLAGS", "-D warnings")
        .current_dir(&root)
        .check()?;
    build_client(&root)?;
    let server = build_server(&root)?;
    step(&format!(
        "fuzzing every HTTP route (schemathesis {}, {} requests per operation and phase)",
        schemathesis::SCHEMATHESIS_VERSION,
        schemathesis::EXAMPLES_PER_OPERATION
    ));
    // Before the tests, so that the output still ends with their summary;
    // a failure here fails the run once the tests have run too.
    let fuzzed = schemathesis::run(&target_dir(&root), &server);
    if let Err(err) = &fuzzed {
        eprintln!("xtask: {err}");
    }
    step("tests (cargo nextest run --workspace)");
    let tested = cargo()
        .args(["nextest", "run", "--workspace", "--no-fail-fast"])
        .env("CHAT_SERVER_BIN", &server)
        .env("PROPTEST_CASES", PROPTEST_CASES)
        .current_dir(&root)
        .check();
    step("the server's tests again, on PostgreSQL (CHAT_TEST_DB=postgres)");
    let tested_on_postgres = cargo()
        .args([
            "nextest",
            "run",
            "--package",
            "backend",
            "--no-fail-fast",
            "-E",
        ])
        .arg(SERVER_TESTS_ON_POSTGRES)
        .env("CHAT_SERVER_BIN", &server)
        .env("CHAT_TEST_DB", "postgres")
        .current_dir(&root)
        .check();
    // The tests share a PostgreSQL server that outlives them (see
    // backend/tests/support/postgres.rs): stopped here, whatever the result.
    stop_test_postgres(&target_dir(&root).join(PG_TEST_DIR));
    tested.and(tested_on_postgres).and(fuzzed)
}

/// The backend's tests that run a second time with `CHAT_TEST_DB=postgres`
/// (every `TempDb` is then a PostgreSQL database; see
/// backend/tests/support/mod.rs): all that start a server on a database,
/// the accounts' among them (`accounts`, `authorization`,
/// `admin_commands`), which the filter takes in as it names only what is
/// left out.
/// Left out are those that already test every backend, or PostgreSQL
/// alone (the store suite, the harness, the database faults), the upgrade
/// of SQLite files, the unit tests, and cluster mode, whose tests always
/// run on PostgreSQL.
const SERVER_TESTS_ON_POSTGRES: &str = "not (kind(lib) | binary(store) | binary(account_store) \
     | binary(upgrade) \
     | binary(postgres_harness) | binary(database_faults) | binary(cluster) \
     | binary(cluster_instances) | binary(cluster_sessions))";

/// Stops every PostgreSQL server the tests left running in `dir` (the
/// shared one, and private ones of test processes that were killed), then
/// removes them all: the next run starts from a fresh `initdb`. Silent
/// unless something fails; problems are reported, not fatal: the test
/// result stays what it was.
fn stop_test_postgres(dir: &Path) {
    let mut clusters = vec![dir.join("shared")];
    if let Ok(private) = std::fs::read_dir(dir.join("private")) {
        clusters.extend(private.flatten().map(|entry| entry.path()));
    }
    for cluster in clusters {
        let data = cluster.join("data");
        if !data.join("postmaster.pid").is_file() {
            continue;
        }
        if let Err(err) = pg_ctl_stop(&data) {
            eprintln!(
                "xtask: could not stop the test PostgreSQL in {}: {err}",
                data.display()
            );
        }
    }
    if dir.exists() {
        if let Err(err) = std::fs::remove_dir_all(dir) {
            eprintln!("xtask: could not remove {}: {err}", dir.display());
        }
    }
}

/// `pg_ctl stop -m fast` of the server in `data`, with the `pg_ctl` of its
/// version (`PG_VERSION`), as `postgres` when this runs as root (pg_ctl
/// refuses root).
fn pg_ctl_stop(data: &Path) -> Result {
    let version = std::fs::read_to_string(data.join("PG_VERSION"))
        .map_err(|err| format!("no PG_VERSION: {err}"))?;
    let pg_ctl = env::var_os("TEST_PG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(DEBIAN_POSTGRESQL)
                .join(version.trim())
                .join("bin")
        })
        .join("pg_ctl");
    let mut command = if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", POSTGRES_USER, "--"]).arg(pg_ctl);
        command
    } else {
        Command::new(pg_ctl)
    };
    command
        .arg("stop")
        .arg("--pgdata")
        .arg(data)
        .args([
            "--mode",
            "fast",
            "--wait",
            "--timeout",
            PG_STOP_TIMEOUT_SECS,
        ])
        .current_dir("/");
    let result = command
        .output()
        .map_err(|err| format!("cannot run {command:?}: {err}"))?;
    // Quiet when it works: the output of `cargo xtask test` ends with the
    // test summary.
    if result.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed with {}: {}",
            result.status,
            String::from_utf8_lossy(&result.stderr).trim()
        ))
    }
}

/// The fuzzing step of [`test()`] alone: against `CHAT_SERVER_BIN` when it
/// names a server (a debug build is enough to try a change), else the
/// release server, built first.
fn fuzz() -> Result {
    let root = workspace_root();
    let server = match env::var_os("CHAT_SERVER_BIN") {
        Some(server) => PathBuf::from(server),
        None => build_server(&root)?,
    };
    step("fuzzing every HTTP route (schemathesis)");
    schemathesis::run(&target_dir(&root), &server)
}

/// Builds everything, then retakes the README's screenshots with the
/// browser test that takes them.
fn screenshot() -> Result {
    setup()?;
    let root = workspace_root();
    build_client(&root)?;
    let server = build_server(&root)?;
    step("taking docs/screenshot.png (browser test)");
    cargo()
        .args([
            "nextest",
            "run",
            "--package",
            "frontend",
            "--test",
            "browser",
            "screenshot_of_two_people_chatting",
        ])
        .env("CHAT_SERVER_BIN", &server)
        .env("CHAT_SCREENSHOT", root.join("docs/screenshot.png"))
        .current_dir(&root)
        .check()
}

/// `trunk build --release`, then the size check of what it built.
fn build_client(root: &Path) -> Result {
    step("building the web client (trunk build --release)");
    tool("trunk")
        .args(["build", "--release"])
        .current_dir(root)
        .check()?;
    check_client_size(&root.join("dist"))
}

/// `cargo build --release` of chat-server, which embeds `dist/`; returns
/// the binary.
fn build_server(root: &Path) -> Result<PathBuf> {
    step("building the server with the client in it (cargo build --release)");
    cargo()
        .args([
            "build",
            "--release",
            "--package",
            "backend",
            "--bin",
            "chat-server",
        ])
        .current_dir(root)
        .check()?;
    Ok(target_dir(root).join("release").join("chat-server"))
}

fn target_dir(root: &Path) -> PathBuf {
    env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// Prints the sizes of the built client's WebAssembly and JavaScript, raw
/// and gzip-compressed, and fails when they exceed [`CLIENT_GZIP_BUDGET`].
fn check_client_size(dist: &Path) -> Result {
    let entries =
        std::fs::read_dir(dist).map_err(|err| format!("cannot list {}: {err}", dist.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "wasm" || ext == "js")
        })
        .collect();
    files.sort();
    let (mut raw_total, mut gzip_total) = (0, 0);
    for file in &files {
        let raw = std::fs::metadata(file)
            .map_err(|err| format!("cannot read {}: {err}", file.display()))?
            .len();
        let gzipped = gzip_size(file)?;
        eprintln!(
            "    {:<40} {:>8} bytes raw, {:>8} bytes gzip -9",
            file.file_name().unwrap_or_default().to_string_lossy(),
            raw,
            gzipped
        );
        raw_total += raw;
        gzip_total += gzipped;
    }
    eprintln!(
        "    web client (.wasm + .js): {:.1} KiB raw, {:.1} KiB gzip (budget {} KiB)",
        raw_total as f64 / 1024.0,
        gzip_total as f64 / 1024.0,
        CLIENT_GZIP_BUDGET / 1024
    );
    if files.is_empty() {
        return Err(format!("no .wasm or .js in {}", dist.display()));
    }
    if gzip_total > CLIENT_GZIP_BUDGET {
        return Err(format!(
            "the web client is {gzip_total} bytes gzip-compressed, over its budget of \
             {CLIENT_GZIP_BUDGET}"
        ));
    }
    Ok(())
}

/// The size of `gzip -9` of a file.
fn gzip_size(file: &Path) -> Result<u64> {
    let result = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(file)
        .output()
        .map_err(|err| format!("cannot run gzip: {err}"))?;
    if !result.status.success() {
        return Err(format!(
            "gzip {} failed with {}",
            file.display(),
            result.status
        ));
    }
    Ok(result.stdout.len() as u64)
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
    ensure_debian_packages()?;
    ensure_npm_tools()
}

/// Debian's Chromium and its WebDriver (the browser tests), the colour
/// emoji font (their screenshots), Redis (the cluster tests), PostgreSQL
/// (the store's tests start servers of their own), and node with npm (for
/// wasm-opt and axe-core), in one `apt-get` run when any is missing.
fn ensure_debian_packages() -> Result {
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).is_file() {
        missing.push("chromium");
    }
    if !Path::new(CHROMEDRIVER).is_file() {
        missing.push("chromium-driver");
    }
    if !Path::new(EMOJI_FONT).is_file() {
        missing.push("fonts-noto-color-emoji");
    }
    if !Path::new(REDIS_SERVER).is_file() {
        missing.push("redis-server");
    }
    if !postgresql_installed() {
        missing.push("postgresql");
    }
    if output(Command::new("npm").arg("--version")).is_err() {
        missing.extend(["nodejs", "npm"]);
    }
    if missing.is_empty() {
        return Ok(());
    }
    step(&format!("installing {} (apt-get)", missing.join(", ")));
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend(&missing);
    apt(&install).map_err(|err| {
        format!(
            "{err}\ninstall {} by hand (Debian packages) and retry",
            missing.join(" ")
        )
    })
}

/// Whether some version of Debian's PostgreSQL has its `initdb`
/// (`/usr/lib/postgresql/*/bin/initdb`); which one the tests take is theirs
/// to choose.
fn postgresql_installed() -> bool {
    std::fs::read_dir(DEBIAN_POSTGRESQL)
        .into_iter()
        .flatten()
        .flatten()
        .any(|version| version.path().join("bin").join("initdb").is_file())
}

fn apt(args: &[&str]) -> Result {
    let mut command = if is_root() {
        Command::new("apt-get")
    } else {
        sudo("apt-get")
    };
    command
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .check()
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
    let found = output(tool(binary).arg("--version")).unwrap_or_default();
    if found.trim_start().starts_with(version_prefix) {
        return Ok(());
    }
    step(&format!(
        "installing {} (cargo install; this takes a few minutes once)",
        install_args[0]
    ));
    cargo().arg("install").args(install_args).check()
}

/// The npm tools of `tools/package.json`: binaryen's wasm-opt, which trunk
/// finds first on the PATH that [`tool`] sets, and axe-core, which the
/// browser tests read from `tools/node_modules`. One `npm ci` when either is
/// missing (a checkout made before axe-core joined has wasm-opt only).
fn ensure_npm_tools() -> Result {
    let root = workspace_root();
    let expected = format!("wasm-opt version {WASM_OPT_VERSION} ");
    let found = output(tool("wasm-opt").arg("--version")).unwrap_or_default();
    if found.starts_with(&expected) && root.join(AXE_CORE).is_file() {
        return Ok(());
    }
    step(&format!(
        "installing wasm-opt {WASM_OPT_VERSION} and axe-core (npm ci in {NPM_TOOLS_DIR}/)"
    ));
    Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(root.join(NPM_TOOLS_DIR))
        .check()
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

/// A command for a tool that `cargo install` or npm put in place, found
/// even when their directories are not on the `PATH`: npm's tools first, so
/// that their wasm-opt wins over an older one of the system.
fn tool(binary: &str) -> Command {
    let mut command = Command::new(binary);
    command.env("PATH", tool_path());
    command
}

fn cargo() -> Command {
    let mut command = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.env("PATH", tool_path());
    command
}

fn tool_path() -> OsString {
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let mut paths = vec![workspace_root()
        .join(NPM_TOOLS_DIR)
        .join("node_modules")
        .join(".bin")];
    paths.extend(cargo_home.map(|home| home.join("bin")));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &str) -> String {
        std::fs::read_to_string(workspace_root().join(path)).expect("read a workspace file")
    }

    #[test]
    fn wasm_opt_is_pinned_to_one_version_everywhere() {
        let trunk = read("Trunk.toml");
        assert!(
            trunk.contains(&format!("wasm_opt = \"version_{WASM_OPT_VERSION}\"")),
            "Trunk.toml requires another wasm-opt than {WASM_OPT_VERSION}"
        );
        let package = read("tools/package.json");
        assert!(
            package.contains(&format!("\"binaryen\": \"{WASM_OPT_VERSION}.0.0\"")),
            "tools/package.json pins another binaryen than {WASM_OPT_VERSION}"
        );
        let lock = read("tools/package-lock.json");
        let locked = lock
            .split("\"node_modules/binaryen\"")
            .nth(1)
            .and_then(|entry| entry.split("\"version\": \"").nth(1))
            .and_then(|version| version.split('"').next());
        assert_eq!(
            locked,
            Some(format!("{WASM_OPT_VERSION}.0.0").as_str()),
            "tools/package-lock.json locks another binaryen"
        );
    }

    #[test]
    fn axe_core_is_pinned_to_one_exact_version() {
        // A range would let a new axe-core (with new rules) fail the
        // browser tests on a machine that installed later than another.
        let declared = |text: &str, key: &str| {
            text.split(key)
                .nth(1)
                .and_then(|rest| rest.split('"').nth(1))
                .map(str::to_owned)
        };
        let package = read("tools/package.json");
        let pinned = declared(&package, "\"axe-core\":").expect("axe-core in tools/package.json");
        assert!(
            pinned.starts_with("4.") && pinned.chars().all(|c| c.is_ascii_digit() || c == '.'),
            "tools/package.json should pin an exact axe-core 4.x, not {pinned:?}"
        );
        let lock = read("tools/package-lock.json");
        let locked = lock
            .split("\"node_modules/axe-core\"")
            .nth(1)
            .and_then(|entry| declared(entry, "\"version\":"));
        assert_eq!(
            locked,
            Some(pinned),
            "tools/package-lock.json locks another axe-core"
        );
        assert!(AXE_CORE.starts_with(&format!("{NPM_TOOLS_DIR}/node_modules/")));
    }

    #[test]
    fn the_dev_origins_are_where_trunk_serves() {
        let trunk = read("Trunk.toml");
        assert!(trunk.contains("port = 8081") && trunk.contains("addresses = [\"127.0.0.1\"]"));
        assert!(DEV_ORIGINS.iter().all(|origin| origin.ends_with(":8081")));
    }

    #[test]
    fn dev_options_move_both_ports_and_keep_the_server_flags() {
        let args: Vec<String> = [
            "--port",
            "9001",
            "--server-port",
            "9000",
            "--",
            "--db",
            "x.db",
        ]
        .map(String::from)
        .to_vec();
        let options = parse_dev_options(&args).expect("valid options");
        assert_eq!((options.port, options.server_port), (9001, 9000));
        assert_eq!(options.server_args, ["--db", "x.db"]);
        assert_eq!(dev_origins(9001)[0], "http://127.0.0.1:9001");
        assert!(parse_dev_options(&["--db".to_owned()]).is_err());
        let defaults = parse_dev_options(&[]).expect("no options");
        assert_eq!(
            (defaults.port, defaults.server_port),
            (DEV_PORT, DEV_SERVER_PORT)
        );
    }

    #[test]
    fn the_dev_trunk_config_moves_every_proxy_backend_and_path() {
        let root = Path::new("/repo");
        let config = dev_trunk_config(&read("Trunk.toml"), root, Path::new("/t/dist"), 9001, 9000)
            .expect("Trunk.toml has what is rewritten");
        assert!(!config.contains(":8080/"), "{config}");
        assert!(config.contains("backend = \"ws://127.0.0.1:9000/ws\""));
        assert!(config.contains("backend = \"http://127.0.0.1:9000/api\""));
        assert!(config.contains("port = 9001\n"));
        assert!(config.contains("target = \"/repo/index.html\""));
        assert!(config.contains("dist = \"/t/dist\""));
    }

    #[test]
    fn the_wasm_bindgen_cli_version_comes_from_the_lock_file() {
        let version = locked_version("wasm-bindgen").expect("in Cargo.lock");
        assert!(version.starts_with("0.2."), "{version}");
        assert!(locked_version("no-such-package").is_err());
    }
}
