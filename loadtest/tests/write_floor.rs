//! `chat-bench write-floor` through the real binary: the writer, the sink
//! it re-executes, real loopback sockets, the byte count checked, the
//! figures in the JSON file. Small sizes, no pinning (the test machine may
//! not offer CPUs 0 and 1), and no timing asserted beyond "positive".

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHAT_BENCH: &str = env!("CARGO_BIN_EXE_chat-bench");

/// Longest either command may run here; the small runs take well under a
/// second, so reaching this means something hangs.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `command` to its end within [`COMMAND_TIMEOUT`], killing it
/// otherwise; its status, stdout and stderr.
fn run(command: &mut Command) -> (std::process::ExitStatus, String, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chat-bench");
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chat-bench ran longer than {COMMAND_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_small_write_floor_run_counts_every_byte_and_gives_positive_figures() {
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("floor.json");
    let (connections, warmup, rounds, batch, frame) = (50u64, 1u64, 2u64, 3u64, 150u64);
    let (status, stdout, stderr) = run(Command::new(CHAT_BENCH).args([
        "write-floor",
        "--no-pin",
        "--connections",
        &connections.to_string(),
        "--warmup",
        &warmup.to_string(),
        "--rounds",
        &rounds.to_string(),
        "--batch",
        &batch.to_string(),
        "--frame-bytes",
        &frame.to_string(),
        "--pause-ms",
        "10",
        "--json",
        &json.to_string_lossy(),
    ]));
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    assert!(stdout.contains("(0 lost)"), "{stdout}");
    assert!(stdout.contains("big-room floor:"), "{stdout}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("read the JSON"))
            .expect("JSON");
    let figures = &report["figures"];
    // One frame per connection per round, then `batch` frames per writev.
    let expected = connections * frame * (warmup + rounds) * (1 + batch);
    assert_eq!(figures["bytes_written"].as_u64(), Some(expected));
    assert_eq!(figures["bytes_received"].as_u64(), Some(expected));
    for pass in ["single", "batched"] {
        let pass = &figures[pass];
        assert_eq!(pass["writes"].as_u64(), Some(connections * rounds));
        for value in [
            &pass["cpu_us_per_write"]["median"],
            &pass["cpu_us_per_write"]["min"],
            &pass["cpu_us_per_frame"],
            &pass["round_ms"]["median"],
            &pass["round_ms"]["max"],
            &pass["wall_us_per_write"],
        ] {
            let value = value.as_f64().unwrap_or(f64::NAN);
            assert!(value.is_finite() && value > 0.0, "{value} in {pass}");
        }
    }
    for bound in ["big_room_fan_out_ms", "many_rooms_core_load"] {
        let value = figures["bounds"][bound].as_f64().unwrap_or(f64::NAN);
        assert!(value.is_finite() && value > 0.0, "{bound}: {value}");
    }
}

#[test]
fn the_sink_reads_every_connection_to_its_end_and_reports_the_bytes() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let port = listener.local_addr().expect("addr").port();
    let mut sink = Command::new(CHAT_BENCH)
        .args(["write-floor-sink", "--port", &port.to_string()])
        .args(["--connections", "3"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the sink");
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let mut connections = Vec::new();
    while connections.len() < 3 {
        match listener.accept() {
            Ok((connection, _)) => {
                connection.set_nonblocking(false).expect("blocking");
                connections.push(connection);
            }
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Err(err) => {
                let _ = sink.kill();
                let _ = sink.wait();
                panic!("the sink did not connect 3 times: {err}");
            }
        }
    }
    let sizes = [1_000usize, 0, 70_017];
    for (connection, size) in connections.iter_mut().zip(sizes) {
        connection.write_all(&vec![7u8; size]).expect("write");
    }
    // Closing them is how the sink learns the writing is over.
    drop(connections);
    while sink.try_wait().expect("wait").is_none() {
        if Instant::now() >= deadline {
            let _ = sink.kill();
            let _ = sink.wait();
            panic!("the sink did not exit after its connections closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = sink.wait_with_output().expect("output");
    assert!(output.status.success(), "{}", output.status);
    let total: usize = sizes.iter().sum();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim_end(),
        format!("write-floor-sink: connections=3 bytes={total}")
    );
}
