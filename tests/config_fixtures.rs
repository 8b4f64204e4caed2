//! Config fixtures: every file under tests/fixtures/configs/valid parses; every file under
//! invalid fails with the file, line and key its first line expects (`# expect: ...`).

use std::path::Path;

use cctui::config::Config;

fn fixtures(kind: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/configs")
        .join(kind);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "fixtures missing in {}", dir.display());
    files
}

#[test]
fn every_valid_config_parses() {
    for file in fixtures("valid") {
        if let Err(e) = Config::load(&file) {
            panic!("{}: {e}", file.display());
        }
    }
}

#[test]
fn every_invalid_config_names_the_file_the_line_and_the_key() {
    let mut wrong = Vec::new();
    for file in fixtures("invalid") {
        let text = std::fs::read_to_string(&file).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} has no `# expect:` line", file.display()));
        let err = match Config::load(&file) {
            Ok(_) => {
                wrong.push(format!("{} parsed, but should not", file.display()));
                continue;
            }
            Err(e) => e.to_string(),
        };
        // The file name, then `:LINE: key `KEY`: ...`, with the key named once.
        let expected = format!("{}{}", file.display(), expect.trim());
        if !err.starts_with(&expected) {
            wrong.push(format!(
                "{}:
  expected `{expected}`
  got      `{err}`",
                file.display()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_full_example_sets_what_it_says() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/configs/valid/full.toml");
    let c = Config::load(&file).unwrap();
    assert_eq!(c.session.profiles, ["python", "rust"]);
    assert_eq!(c.memory_bytes(), 8 << 30);
    assert_eq!(c.firewall.verify_interval_secs, 60);
    assert_eq!(c.secrets.extra.len(), 2);
    assert_eq!(c.keys.get("stop").map(String::as_str), Some("X"));
    assert!(!c.session.trust_workspace);
    assert_eq!(c.image.build_stall_secs, 120);
}

/// Runs the cctui binary with `args`, a private config folder and an engine address that
/// does not exist (nothing here may reach an engine); returns (exit code, stdout, stderr).
fn cctui(args: &[&str]) -> (i32, String, String) {
    let home = std::env::temp_dir().join(format!("cctui-fixtures-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cctui"))
        .args(args)
        .env("CCTUI_CONFIG_DIR", home.join("config"))
        .env("CCTUI_STATE_DIR", home.join("state"))
        .env_remove("CCTUI_CONFIG")
        .env("DOCKER_HOST", "unix:///nonexistent/cctui-fixtures.sock")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running cctui");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn doctor_every_command_and_the_dashboard_refuse_the_same_files() {
    let mut wrong = Vec::new();
    for file in fixtures("invalid") {
        let err = Config::load(&file).unwrap_err().to_string();
        let f = file.to_str().unwrap();
        let (code, out, _) = cctui(&["--config", f, "doctor"]);
        let config_line = out.lines().find(|l| l.contains(" config ")).unwrap_or("");
        if code != 1 || !config_line.starts_with("FAIL") || !config_line.contains(&err) {
            wrong.push(format!("doctor, {f}: exit {code}:\n{out}"));
        }
        for args in [vec!["--config", f, "ls"], vec!["--config", f]] {
            let (code, _, stderr) = cctui(&args);
            if code != 2 || stderr.trim() != format!("cctui: {err}") {
                wrong.push(format!("{args:?}: exit {code}: {stderr}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_config_file_that_was_named_must_exist() {
    let missing = "/nonexistent/cctui-config.toml";
    let err = Config::load(Path::new(missing)).unwrap_err().to_string();
    assert!(
        err.starts_with(missing) && err.contains("no such file"),
        "{err}"
    );
    let (code, _, stderr) = cctui(&["--config", missing, "ls"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(missing), "{stderr}");
    let (code, out, _) = cctui(&["--config", missing, "doctor"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with(&format!("FAIL config         {missing}")),
        "{out}"
    );
    // Positive control: nothing at the default location means the defaults.
    let (_, out, _) = cctui(&["doctor"]);
    assert!(out.contains("absent; using defaults"), "{out}");
}
