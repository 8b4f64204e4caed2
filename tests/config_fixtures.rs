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
    for file in fixtures("invalid") {
        let text = std::fs::read_to_string(&file).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} has no `# expect:` line", file.display()));
        let err = match Config::load(&file) {
            Ok(_) => panic!("{} parsed, but should not", file.display()),
            Err(e) => e.to_string(),
        };
        assert!(
            err.starts_with(&file.display().to_string()),
            "no file name: {err}"
        );
        assert!(
            err.contains(expect.trim()),
            "{}: expected `{expect}` in `{err}`",
            file.display()
        );
    }
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
}
