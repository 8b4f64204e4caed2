//! What the agent writes stays bounded on the host, on the real engine: the engine's log of
//! its output is rotated, `cctui diff` of a huge change is capped and says what it cut, and
//! a huge transcript is tallied without being held. Each also checks cctui's peak memory.
//! `bench_bounds` (ignored) prints the peaks; with `CCTUI_BENCH_BIN` set to another build
//! (e.g. main's), it measures that one too.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use cctui::backend::DockerBackend;
use cctui::config::FirewallMode;
use cctui::session::ops::Ops;
use cctui::session::plan_session;
use common::*;

const UID: u32 = 1234;
/// The goal for cctui's peak memory while it reads what the agent wrote.
const PEAK_KIB: u64 = 64 << 10;

fn git_config() -> &'static Path {
    static GLOBAL: OnceLock<PathBuf> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let file = std::env::temp_dir().join(format!("cctui-{}-bounds-gitconfig", run_id()));
        std::fs::write(
            &file,
            "[safe]\n\tdirectory = *\n[user]\n\tname = Host User\n\temail = user@host.test\n\
             [init]\n\tdefaultBranch = main\n",
        )
        .unwrap();
        // SAFETY: set once, before any session or git process is started.
        unsafe { std::env::set_var("GIT_CONFIG_GLOBAL", &file) };
        file
    })
}

/// A session on a git project (firewall off: nothing here is about the network).
struct Fixture {
    name: String,
    cfg: TempFolder,
    ops: Ops<DockerBackend>,
    project: TempFolder,
    _guards: Vec<Cleanup>,
}

async fn session(prefix: &str, log_size: Option<&str>) -> Fixture {
    git_config();
    let name = unique(prefix);
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    let project = TempFolder::new(&name, UID);
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .arg("-C")
            .arg(&project.path)
            .args(args)
            .env("GIT_CONFIG_GLOBAL", git_config())
            .status()
            .unwrap();
        assert!(ok.success(), "git {args:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(project.path.join("README"), "base\n").unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "base"]);
    Command::new("chown")
        .args(["-R", &format!("{UID}:{UID}")])
        .arg(&project.path)
        .status()
        .unwrap();
    let recipe = cfg.path.join("recipe");
    copy_dir(&small_recipe_dir().join("recipe"), &recipe);
    let file = recipe.join("base.Dockerfile");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace(" procps", " procps git")).unwrap();
    let mut extra = FIREWALL_OFF.to_string();
    if let Some(size) = log_size {
        extra.push_str(&format!(
            "[session]\nlog_max_size = \"{size}\"\nlog_max_files = 2\n"
        ));
    }
    let cas: Vec<String> = extra_cas()
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect();
    std::fs::write(
        cfg.path.join("config.toml"),
        format!("[image]\nextra_ca_certs = [{}]\n{extra}", cas.join(", ")),
    )
    .unwrap();
    let mut ops = small_ops(&cfg.path).await;
    ops.config.firewall.mode = FirewallMode::Off;
    if let Some(size) = log_size {
        ops.config.session.log_max_size = size.into();
        ops.config.session.log_max_files = 2;
    }
    let path = project.path.canonicalize().unwrap();
    let mut guards = vec![Cleanup::new(&name)];
    let mut vols = Cleanup::new(&format!("{name}-vols"));
    vols.volumes = project_volumes(&path);
    vols.volumes.push(cctui::workspace::work_volume(&name));
    guards.push(vols);
    let plan = plan_session(&ops.config, &path, Some(&name), &[], &[]).unwrap();
    ops.create(&plan, |_| {}).await.unwrap();
    Fixture {
        name,
        cfg,
        ops,
        project,
        _guards: guards,
    }
}

impl Fixture {
    async fn agent(&self, script: &str) -> String {
        let out = sh_in(&self.ops, &self.name, None, script).await;
        assert_eq!(out.exit_code, 0, "{script}: {}", out.stderr_text());
        out.stdout_text()
    }

    fn cctui(&self, args: &[&str]) -> Measured {
        measure(&bin(), &self.cfg.path, args)
    }
}

/// The binary measured: this build, or `CCTUI_BENCH_BIN` (another build, e.g. main's, as
/// the positive control and the "before" figures).
fn bin() -> PathBuf {
    std::env::var_os("CCTUI_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_cctui")))
}

/// One run of cctui: its exit code, stdout, stderr, and peak memory (VmHWM).
struct Measured {
    code: i32,
    out: String,
    err: String,
    peak_kib: u64,
}

/// Runs `bin` with the session's config, polling its VmHWM until it exits.
fn measure(bin: &Path, cfg: &Path, args: &[&str]) -> Measured {
    label_config(cfg);
    let mut child = Command::new(bin)
        .args(args)
        .env("CCTUI_CONFIG_DIR", cfg)
        .env("CCTUI_STATE_DIR", cfg.join("state"))
        .env("GIT_CONFIG_GLOBAL", git_config())
        .env("PAGER", "cat")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let err_reader = std::thread::spawn(move || {
        let mut err = String::new();
        let _ = stderr.read_to_string(&mut err);
        err
    });
    let mut peak = 0;
    let status = loop {
        peak = peak.max(vm_hwm_kib(pid));
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Measured {
        code: status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&reader.join().unwrap()).into_owned(),
        err: err_reader.join().unwrap(),
        peak_kib: peak,
    }
}

fn vm_hwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `mb` MB of base64 text, in lines of 100, to the session's output (its tty).
const HUGE_LOG: &str = "head -c $((MB * 3 / 4))M /dev/urandom | base64 -w 100 > /proc/1/fd/1";

/// A 40 MB file (a pack of a few KiB: its lines repeat) and 300 files of 30 KB.
const HUGE_CHANGE: &str = "cd \"$P\" \
    && awk 'BEGIN{for(i=0;i<500000;i++) printf \"line %07d of a file that is huge but packs small\\n\", i}' > big.txt \
    && for i in $(seq -w 0 299); do awk -v i=$i 'BEGIN{for(j=0;j<1000;j++) printf \"file %s line %04d is here\\n\", i, j}' > f$i.txt; done \
    && git add -A && git commit -qm huge";

/// 12,000 replies of 16 KB each (about 200 MB), then one 8 MB line (skipped) and one more reply.
const HUGE_TRANSCRIPT: &str = r#"mkdir -p /home/claude/.claude/projects/big && awk 'BEGIN{
    p = "x"; while (length(p) < 10000) p = p p;
    q = p; while (length(q) < 8000000) q = q q;
    a = "{\"type\":\"assistant\",\"gitBranch\":\"" ENVIRON["B"] "\",\"requestId\":\"";
    for (i = 0; i < 12000; i++)
        print a "r" i "\",\"message\":{\"id\":\"m" i "\",\"model\":\"claude-opus-4-1\",\"content\":[{\"type\":\"text\",\"text\":\"" p "\"}],\"usage\":{\"input_tokens\":1,\"output_tokens\":2}}}";
    print a "big\",\"message\":{\"id\":\"big\",\"model\":\"claude-opus-4-1\",\"content\":[{\"type\":\"text\",\"text\":\"" q "\"}],\"usage\":{\"input_tokens\":1000000,\"output_tokens\":0}}}";
    print a "last\",\"message\":{\"id\":\"last\",\"model\":\"claude-opus-4-1\",\"usage\":{\"input_tokens\":5,\"output_tokens\":7}}}";
}' > /home/claude/.claude/projects/big/t.jsonl && wc -c /home/claude/.claude/projects/big/t.jsonl"#;

#[tokio::test]
async fn the_agents_output_log_is_rotated_by_the_engine() {
    let f = session("blog", Some("1m")).await;
    let id = f.ops.running_agent(&f.name).await.unwrap();
    let config = docker(&["inspect", "-f", "{{json .HostConfig.LogConfig}}", &id]);
    eprintln!("the agent's log config: {config}");
    assert!(config.contains("\"max-size\":\"1m\""), "{config}");
    // The holder (none with the firewall off) gets the same rotation.
    let path = f.project.path.canonicalize().unwrap();
    let plan = plan_session(&f.ops.config, &path, Some(&f.name), &[], &[]).unwrap();
    let want = cctui::backend::LogLimit {
        max_size: "1m".into(),
        max_files: 2,
    };
    assert_eq!(plan.holder_spec("x").log_limit, Some(want.clone()));
    assert_eq!(
        plan.agent_spec("x", cctui::backend::NetworkAttach::None)
            .log_limit,
        Some(want)
    );
    f.agent(&format!("MB=20; {HUGE_LOG}")).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // What the engine keeps: at most max-file x max-size (the JSON lines are larger than the
    // text they hold, so the text is under that).
    let out = Command::new("docker")
        .args(["logs", &id])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let kept = out.stdout.len();
    let path = docker(&["inspect", "-f", "{{.LogPath}}", &id]);
    let on_disk: u64 = std::fs::read_dir(Path::new(path.trim()).parent().unwrap())
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().contains("-json.log"))
                .map(|e| e.metadata().map_or(0, |m| m.len()))
                .sum()
        })
        .unwrap_or(0);
    eprintln!("after 20 MB of output: the engine returns {kept} bytes; {on_disk} on disk");
    assert!(kept > 100_000, "the log holds the output's end: {kept}");
    assert!(kept < 2 << 20, "the log is not capped: {kept} bytes kept");
    assert!(on_disk < 2 << 20, "the log files hold {on_disk} bytes");
    let logs = f.cctui(&["logs", &f.name]);
    eprintln!(
        "cctui logs: {} bytes, peak {} KiB",
        logs.out.len(),
        logs.peak_kib
    );
    assert_eq!(logs.code, 0, "{}", logs.err);
    assert!(
        logs.peak_kib < PEAK_KIB,
        "cctui logs peaked at {} KiB",
        logs.peak_kib
    );
}

#[tokio::test]
async fn a_huge_change_is_diffed_within_bounds_and_says_what_was_cut() {
    let f = session("bdiff", None).await;
    let folder = f.project.path.canonicalize().unwrap();
    f.agent(&format!("P={}; {HUGE_CHANGE}", folder.display()))
        .await;
    let diff = f.cctui(&["diff", &f.name]);
    eprintln!(
        "cctui diff: {} bytes out, peak {} KiB; its end:\n{}",
        diff.out.len(),
        diff.peak_kib,
        &diff.out[diff.out.len().saturating_sub(600)..]
    );
    assert_eq!(diff.code, 0, "{}", diff.err);
    assert!(
        diff.out
            .contains("Binary files /dev/null and b/big.txt differ"),
        "the 40 MB file is not diffed"
    );
    assert!(diff.out.contains("… cut: "), "no cut marker");
    assert!(
        diff.out.contains("  cut: a/f1"),
        "the cut files are not named"
    );
    assert!(
        diff.out.contains(" more files\n"),
        "the files past the named are not counted"
    );
    assert!(
        diff.out.len() < cctui::bounded::DIFF_TOTAL + (64 << 10),
        "the diff printed {} bytes",
        diff.out.len()
    );
    assert!(
        diff.peak_kib < PEAK_KIB,
        "cctui diff peaked at {} KiB",
        diff.peak_kib
    );
    // The Changes tab: the big file's diff is a line, not 40 MB.
    let view = f.ops.changes(&f.name, 0).await.unwrap();
    let big = view.files.iter().position(|c| c.path == "big.txt").unwrap();
    let view = f.ops.changes(&f.name, big).await.unwrap();
    let bytes: usize = view.diff.iter().map(|l| l.text.len()).sum();
    assert!(bytes < cctui::bounded::FILE_DIFF_BYTES, "{bytes}");
}

#[tokio::test]
async fn a_huge_transcript_is_tallied_within_bounds() {
    let f = session("busage", None).await;
    f.agent(&format!("export B=cctui/{}; {HUGE_TRANSCRIPT}", f.name))
        .await;
    let ls = f.cctui(&["ls", "--json", "--usage"]);
    eprintln!("cctui ls --json --usage: peak {} KiB", ls.peak_kib);
    assert_eq!(ls.code, 0, "{}", ls.err);
    let all: serde_json::Value = serde_json::from_str(&ls.out).unwrap();
    let me = all
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == f.name.as_str())
        .unwrap();
    let u = &me["usage"];
    // 12,000 replies of (1, 2) and the last (5, 7); the 6 MB line is skipped.
    assert_eq!(u["input_tokens"], 12_005, "{u}");
    assert_eq!(u["output_tokens"], 24_007, "{u}");
    assert_eq!(u["skipped_transcript_lines"], 1, "{u}");
    assert!(
        ls.peak_kib < PEAK_KIB,
        "cctui ls --usage peaked at {} KiB",
        ls.peak_kib
    );
}

/// The dashboard's peak memory with the session selected, its Logs tab open for `secs`,
/// then its Info tab (usage read) for `secs`.
fn dashboard_peak(bin: &Path, cfg: &Path, name: &str, secs: u64) -> (u64, u64) {
    use common::pty::PtyApp;
    label_config(cfg);
    let env = vec![
        ("CCTUI_CONFIG_DIR", cfg.display().to_string()),
        ("CCTUI_STATE_DIR", cfg.join("state").display().to_string()),
        (
            "DOCKER_HOST",
            std::env::var("DOCKER_HOST").unwrap_or_default(),
        ),
        ("HOME", std::env::var("HOME").unwrap_or_default()),
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("GIT_CONFIG_GLOBAL", git_config().display().to_string()),
    ];
    let mut dash = PtyApp::spawn(bin.to_str().unwrap(), &[], &env, 40, 160);
    let pid = dash.child.process_id().unwrap();
    dash.wait_for(name, Duration::from_secs(30));
    dash.send(b"g");
    for _ in 0..200 {
        let screen = dash.screen();
        if screen.lines().any(|l| l.contains('▸') && l.contains(name)) {
            break;
        }
        dash.send(b"j");
        std::thread::sleep(Duration::from_millis(50));
    }
    let hold = |secs: u64| {
        let mut peak = 0;
        for _ in 0..secs * 20 {
            peak = peak.max(vm_hwm_kib(pid));
            std::thread::sleep(Duration::from_millis(50));
        }
        peak
    };
    dash.send(b"\t");
    let logs = hold(secs);
    for _ in 0..3 {
        dash.send(b"\t");
        std::thread::sleep(Duration::from_millis(200));
    }
    let info = hold(secs);
    (logs, info)
}

/// Peak memory of cctui while it reads a huge log, diff and transcript. Prints; asserts
/// nothing. `CCTUI_BENCH_BEFORE=/path/to/cctui` measures that build too.
#[tokio::test]
#[ignore]
async fn bench_bounds() {
    let f = session("bbench", None).await;
    let folder = f.project.path.canonicalize().unwrap();
    let mb = std::env::var("CCTUI_BENCH_LOG_MB").unwrap_or_else(|_| "300".into());
    let t = std::time::Instant::now();
    f.agent(&format!("P={}; {HUGE_CHANGE}", folder.display()))
        .await;
    let size = f
        .agent(&format!("export B=cctui/{}; {HUGE_TRANSCRIPT}", f.name))
        .await;
    f.agent(&format!("MB={mb}; {HUGE_LOG}")).await;
    println!(
        "\n== bounds benchmark: the agent wrote a {mb} MB log, a 40 MB file + 300 files, a \
         transcript of {} bytes ({:.0} s) ==",
        size.split_whitespace().next().unwrap_or("?"),
        t.elapsed().as_secs_f64()
    );
    let mut bins = vec![("this build", bin())];
    if let Some(before) = std::env::var_os("CCTUI_BENCH_BEFORE") {
        bins.insert(0, ("before", PathBuf::from(before)));
    }
    for (label, b) in bins {
        let logs = measure(&b, &f.cfg.path, &["logs", "--tail", "100000000", &f.name]);
        let diff = measure(&b, &f.cfg.path, &["diff", &f.name]);
        let usage = measure(&b, &f.cfg.path, &["ls", "--usage"]);
        let (dash_logs, dash_info) = dashboard_peak(&b, &f.cfg.path, &f.name, 8);
        println!("{label} ({}):", b.display());
        for (what, m) in [
            ("cctui logs", &logs),
            ("cctui diff", &diff),
            ("cctui ls --usage", &usage),
        ] {
            println!(
                "  {what:<18} peak {:>7} KiB, {} bytes out, exit {}",
                m.peak_kib,
                m.out.len(),
                m.code
            );
        }
        println!("  dashboard, Logs tab  peak {dash_logs:>7} KiB");
        println!("  dashboard, Info tab  peak {dash_info:>7} KiB (after the Logs tab)");
    }
}
