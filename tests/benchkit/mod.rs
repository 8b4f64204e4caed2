//! Helpers of the benchmarks: a fine-grained wait on a PTY's screen, summaries of timings,
//! the programs measured against (oxker), and CPU ticks from /proc.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::common::pty::PtyApp;

/// How often the screen is sampled while timing.
pub const SAMPLE: Duration = Duration::from_millis(1);

/// The oxker release the dashboard is measured against.
pub const OXKER_VERSION: &str = "0.13.4";

/// Samples `app`'s screen every millisecond (parsing it again only when bytes came) until
/// `pred` holds; returns the time since `since`, or panics with the screen after `timeout`.
pub fn wait_fine(
    app: &PtyApp,
    since: Instant,
    what: &str,
    timeout: Duration,
    pred: impl Fn(&str) -> bool,
) -> Duration {
    let mut seen = u64::MAX;
    loop {
        let bytes = *app.bytes_read.lock().unwrap();
        if bytes != seen {
            seen = bytes;
            let screen = app.screen();
            if pred(&screen) {
                return since.elapsed();
            }
        }
        if since.elapsed() > timeout {
            panic!(
                "timed out after {timeout:?} waiting for {what}; the screen:\n{}",
                app.screen()
            );
        }
        std::thread::sleep(SAMPLE);
    }
}

/// Milliseconds, sorted.
pub fn sorted_ms(times: &[Duration]) -> Vec<f64> {
    let mut ms: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1e3).collect();
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    ms
}

/// The `p`th percentile (nearest rank) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// "median M ms (min A, max B, of N)".
pub fn summary(times: &[Duration]) -> String {
    let ms = sorted_ms(times);
    format!(
        "median {:.0} ms (min {:.0}, max {:.0}, of {})",
        percentile(&ms, 50.0),
        ms[0],
        ms[ms.len() - 1],
        ms.len()
    )
}

/// The number before " running" in cctui's header ("N sessions, M running").
pub fn cctui_running(screen: &str) -> Option<usize> {
    let after = screen.split("sessions, ").nth(1)?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    after[digits.len()..]
        .starts_with(" running")
        .then(|| digits.parse().ok())?
}

/// oxker 0.13.4: `$OXKER`, or `oxker` on PATH; panics saying how to install it when absent
/// or another version.
pub fn oxker() -> PathBuf {
    let install = format!(
        "cargo install oxker --version {OXKER_VERSION} --locked --root ~/.cache/cctui-bench/oxker \
         && export PATH=~/.cache/cctui-bench/oxker/bin:$PATH   (or set OXKER=/path/to/oxker)"
    );
    let path = std::env::var_os("OXKER")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join("oxker"))
                    .find(|f| f.is_file())
            })
        })
        .unwrap_or_else(|| panic!("this benchmark compares with oxker {OXKER_VERSION}, which is not on PATH; install it with\n    {install}"));
    let out = std::process::Command::new(&path)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("running {} --version: {e}", path.display()));
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(
        version.contains(OXKER_VERSION),
        "{} is {version:?}, not oxker {OXKER_VERSION}; install it with\n    {install}",
        path.display()
    );
    path
}

/// User + system CPU ticks of these processes.
pub fn cpu_ticks(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
        .map(|s| {
            let after = &s[s.rfind(')').unwrap() + 2..];
            let f: Vec<&str> = after.split_whitespace().collect();
            f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0)
        })
        .sum()
}

/// The engine's processes: dockerd, containerd and the shims.
pub fn engine_pids() -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if [
            "dockerd",
            "containerd",
            "containerd-shim",
            "containerd-shim-runc-v2",
        ]
        .contains(&comm.trim())
        {
            out.push(pid);
        }
    }
    out
}

pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
