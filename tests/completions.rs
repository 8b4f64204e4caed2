//! Shell completion and the man page: the scripts load, and a real bash with cctui's
//! completion loaded offers the engine's sessions where a command takes one.

mod common;

use std::path::Path;

use common::*;

const SHELLS: [&str; 5] = ["bash", "zsh", "fish", "elvish", "powershell"];

/// What a real bash offers for `line` + Tab (the cursor at its end), with cctui's completion
/// loaded from `cctui completions bash`, one candidate per entry.
fn bash_complete(config_dir: &Path, line: &str) -> Vec<String> {
    let bin = env!("CARGO_BIN_EXE_cctui");
    let script = format!(
        r#"source <({bin} completions bash) || exit 9
line={line:?}
read -ra COMP_WORDS <<< "$line"
[[ $line == *' ' ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE=$line COMP_POINT=${{#line}} COMP_TYPE=9
cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}}
complete -p cctui >/dev/null || exit 8
_clap_complete_cctui cctui "$cur" "$prev"
printf '%s\n' "${{COMPREPLY[@]}}""#
    );
    label_config(config_dir);
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .env("CCTUI_CONFIG_DIR", config_dir)
        .env("CCTUI_STATE_DIR", config_dir.join("state"))
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "bash completion failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn every_shell_gets_a_script_and_bash_loads_it() {
    let dir = TempFolder::new("completions-scripts", 0);
    for shell in SHELLS {
        let (code, out, err) = cctui(&dir.path, &["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(
            out.contains("CCTUI_COMPLETE"),
            "{shell} calls cctui back: {out}"
        );
    }
    let (_, bash, _) = cctui(&dir.path, &["completions", "bash"]);
    let file = dir.path.join("cctui.bash");
    std::fs::write(&file, bash).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let (code, _, err) = cctui(&dir.path, &["completions", "tcsh"]);
    assert_eq!(code, 2, "an unknown shell is bad input: {err}");
}

#[test]
fn bash_completes_commands_and_profiles_without_an_engine_call() {
    let dir = TempFolder::new("completions-static", 0);
    assert_eq!(bash_complete(&dir.path, "cctui att"), ["attach"]);
    let profiles = bash_complete(&dir.path, "cctui new --profile ");
    for p in ["python", "rust", "go", "node", "java", "c"] {
        assert!(profiles.iter().any(|c| c == p), "{p} in {profiles:?}");
    }
    assert_eq!(
        bash_complete(&dir.path, "cctui build --profile py"),
        ["python"]
    );
}

#[test]
fn the_man_page_renders_and_names_every_command() {
    let dir = TempFolder::new("completions-man", 0);
    let (code, page, err) = cctui(&dir.path, &["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(page.contains(".TH cctui 1"), "{page}");
    for cmd in ["attach", "completions", "project", "fw"] {
        assert!(page.contains(cmd), "{cmd} in the page");
    }
    let pages = dir.path.join("man1");
    let (code, _, err) = cctui(&dir.path, &["man", "--dir", pages.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    for file in ["cctui.1", "cctui-attach.1", "cctui-fw-status.1"] {
        assert!(pages.join(file).exists(), "{file} written");
    }
    // groff reads it without a warning (a broken page warns).
    let out = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(pages.join("cctui.1"))
        .output()
        .expect("groff");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "groff: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn bash_offers_the_running_sessions_names_where_a_command_takes_one() {
    let name = unique("compl");
    let _c = Cleanup::new(&name);
    let dir = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(&dir.path, FIREWALL_OFF);
    let project = TempFolder::new(&name, 1000);
    let mut vols = Cleanup::new(&format!("{name}-vols"));
    vols.volumes = project_volumes(&project.path);
    let p = project.path.to_str().unwrap();
    let (code, out, err) = cctui(&dir.path, &["new", p, "--name", &name]);
    assert_eq!(code, 0, "{out}{err}");

    for line in [
        "cctui attach ",
        "cctui logs -f ",
        "cctui fw status ",
        "cctui diff ",
    ] {
        let offered = bash_complete(&dir.path, line);
        assert!(
            offered.contains(&name),
            "`{line}` offers {offered:?}, not {name}"
        );
    }
    // The prefix typed so far narrows the names.
    let prefix = &name[..name.len() - 2];
    let offered = bash_complete(&dir.path, &format!("cctui attach {prefix}"));
    assert!(offered.contains(&name), "{offered:?}");
    assert!(offered.iter().all(|c| c.starts_with(prefix)), "{offered:?}");
    // `new` takes a folder, not a session.
    let offered = bash_complete(&dir.path, "cctui new --name ");
    assert!(!offered.contains(&name), "{offered:?}");

    // A removed session is no longer offered: the names come from the engine at each Tab.
    let (code, _, err) = cctui(&dir.path, &["rm", &name]);
    assert_eq!(code, 0, "{err}");
    let offered = bash_complete(&dir.path, "cctui attach ");
    assert!(!offered.contains(&name), "{offered:?}");
}
