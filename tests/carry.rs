//! `[session] carry` on the real engine: the user's CLAUDE.md and a skill reach the session,
//! read-only to the agent; credentials, settings, hidden files, key-holding files and symlinks
//! out of the user's Claude folder never do; a project's accepted `.cctui.toml` narrows the
//! list and cannot widen it; a config that lists settings.json is refused, naming the key.

mod common;

use std::path::Path;

use common::*;

const UID: u32 = 1234;
const CFG: &str = "/home/claude/.claude";

/// A user's `~/.claude` with something of every kind: what should be carried carries a
/// marker with `carry-ok`, what should not, one with `carry-never`.
fn host_claude_dir(name: &str) -> (TempFolder, TempFolder) {
    let home = TempFolder::new(&format!("{name}-home"), 0);
    let outside = TempFolder::new(&format!("{name}-ssh"), 0);
    let d = &home.path;
    let w = |rel: &str, text: &str| {
        let p = d.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    w("CLAUDE.md", "carry-ok-claudemd\n");
    w(
        "skills/demo/SKILL.md",
        "---\nname: demo\n---\ncarry-ok-skill\n",
    );
    w("skills/demo/.env", "TOKEN=carry-never-dotenv\n");
    w("skills/demo/id_ed25519", "carry-never-keyname\n");
    w(
        "skills/demo/notes.md",
        "carry-never-keycontent sk-ant-api03-abcdefghijklmnopqrstuvwxyz\n",
    );
    w(
        "skills/demo/settings.json",
        "{\"apiKeyHelper\": \"carry-never-nested\"}",
    );
    w("commands/hello.md", "carry-ok-command\n");
    w(
        ".credentials.json",
        "{\"token\": \"carry-never-credentials\"}",
    );
    w(
        "settings.json",
        "{\"apiKeyHelper\": \"echo carry-never-helper\", \"hooks\": {}}",
    );
    std::fs::write(
        outside.path.join("id_rsa"),
        "-----BEGIN OPENSSH PRIVATE KEY-----\ncarry-never-ssh\n",
    )
    .unwrap();
    std::fs::write(outside.path.join("config"), "carry-never-sshconfig\n").unwrap();
    // Symlinks out of the Claude folder: a whole folder (as to ~/.ssh) and one file.
    std::os::unix::fs::symlink(&outside.path, d.join("skills/ssh")).unwrap();
    std::os::unix::fs::symlink(outside.path.join("config"), d.join("commands/ssh.md")).unwrap();
    // A symlink inside the folder is followed (as dotfile setups do).
    std::os::unix::fs::symlink(d.join("commands/hello.md"), d.join("commands/hi.md")).unwrap();
    (home, outside)
}

struct Session {
    _cleanup: Cleanup,
    _volumes: Cleanup,
    cfg: TempFolder,
    _project: TempFolder,
}

fn new_session(name: &str, extra_config: &str, claude_dir: &Path) -> Session {
    new_session_in(name, extra_config, claude_dir, TempFolder::new(name, UID))
}

fn accept(cfg: &Path, project: &Path) {
    let (code, out, err) = cctui(cfg, &["project", "accept", project.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
}

fn run_in(cfg: &Path, claude_dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut cmd = cctui_cmd(cfg, args);
    cmd.env("CLAUDE_CONFIG_DIR", claude_dir);
    run_cmd(cmd)
}

/// Runs `script` as the agent; returns (exit code, stdout + stderr).
fn agent_sh(cfg: &Path, name: &str, script: &str) -> (i32, String) {
    let (code, out, err) = cctui(cfg, &["exec", name, "--", "sh", "-c", script]);
    (code, format!("{out}{err}"))
}

#[test]
fn carried_setup_is_visible_read_only_and_holds_no_secret() {
    let name = unique("carry-ro");
    let (home, _outside) = host_claude_dir(&name);
    let s = new_session(&name, "", &home.path);
    let cfg = &s.cfg.path;

    // Visible to the agent where claude reads them.
    let (code, out) = agent_sh(
        cfg,
        &name,
        &format!(
            "cat /etc/claude-code/CLAUDE.md {CFG}/skills/demo/SKILL.md {CFG}/commands/hello.md \
             {CFG}/commands/hi.md"
        ),
    );
    assert_eq!(code, 0, "{out}");
    for marker in ["carry-ok-claudemd", "carry-ok-skill", "carry-ok-command"] {
        assert!(out.contains(marker), "{marker} not visible: {out}");
    }

    // Read-only: every write as the agent fails, and the folder is root's.
    for write in [
        "echo x >> /etc/claude-code/CLAUDE.md".to_string(),
        format!("echo x >> {CFG}/skills/demo/SKILL.md"),
        format!("touch {CFG}/skills/demo/new.md"),
        format!("mkdir {CFG}/skills/mine"),
        format!("chmod 666 {CFG}/skills/demo/SKILL.md"),
        format!("rm -f {CFG}/commands/hello.md"),
        format!("mv {CFG}/skills {CFG}/skills.old"),
        format!("mv {CFG}/skills/demo {CFG}/skills/other"),
    ] {
        let (code, out) = agent_sh(cfg, &name, &write);
        assert_ne!(code, 0, "the agent could `{write}`: {out}");
    }
    let (_, owners) = agent_sh(
        cfg,
        &name,
        &format!("stat -c '%u %a %n' {CFG}/skills/demo/SKILL.md {CFG}/skills"),
    );
    assert!(owners.lines().all(|l| l.starts_with("0 ")), "{owners}");

    // Nothing that must stay home is anywhere the agent can read.
    let (_, found) = agent_sh(
        cfg,
        &name,
        "grep -r carry-never /home/claude /etc/claude-code /run/cctui 2>/dev/null; \
         ls -A /home/claude/.claude/skills /home/claude/.claude/skills/demo",
    );
    assert!(!found.contains("carry-never"), "left home: {found}");
    for absent in [".env", "id_ed25519", "notes.md", "settings.json", "ssh\n"] {
        assert!(!found.contains(absent), "{absent} was carried: {found}");
    }
    let (_, creds) = agent_sh(cfg, &name, &format!("ls -A {CFG}"));
    assert!(!creds.contains(".credentials.json"), "{creds}");

    // What was carried and cut is listed, with the reasons.
    let entry = ls_entry(cfg, &name);
    let carried = entry["carried"].to_string();
    for want in [
        "CLAUDE.md",
        "skills (1 files)",
        "commands (2 files)",
        "skills/demo/.env: hidden",
        "skills/demo/id_ed25519: named like a key file",
        "skills/demo/notes.md: holds something that looks like a key",
        "skills/demo/settings.json: a settings file",
        "skills/ssh: a symlink out of the Claude folder",
        "commands/ssh.md: a symlink out of the Claude folder",
    ] {
        assert!(carried.contains(want), "`{want}` not in {carried}");
    }

    // Carried again at every start: a change at home shows after a restart.
    std::fs::write(home.path.join("CLAUDE.md"), "carry-ok-second\n").unwrap();
    let (code, out, err) = run_in(cfg, &home.path, &["restart", &name]);
    assert_eq!(code, 0, "{out}{err}");
    let (_, text) = agent_sh(cfg, &name, "cat /etc/claude-code/CLAUDE.md");
    assert!(text.contains("carry-ok-second"), "{text}");
}

#[test]
fn a_project_narrows_carry_and_cannot_widen_it() {
    let name = unique("carry-narrow");
    let (home, _outside) = host_claude_dir(&name);
    let project_toml = "[session]\ncarry = [\"skills\", \"commands\"]\n";
    // The project is made first so its proposal can be accepted before the session starts.
    let project = TempFolder::new(&name, UID);
    std::fs::write(project.path.join(".cctui.toml"), project_toml).unwrap();
    let s = new_session_in(
        &name,
        "[session]\ncarry = [\"CLAUDE.md\", \"skills\"]\n",
        &home.path,
        project,
    );
    let (_, out) = agent_sh(
        &s.cfg.path,
        &name,
        &format!("ls /etc/claude-code {CFG}/skills {CFG}/commands"),
    );
    assert!(out.contains("demo"), "skills not carried: {out}");
    assert!(
        !out.contains("CLAUDE.md"),
        "narrowed away, yet carried: {out}"
    );
    assert!(
        !out.contains("hello.md"),
        "the project widened carry: {out}"
    );
}

fn new_session_in(name: &str, extra: &str, claude_dir: &Path, project: TempFolder) -> Session {
    let cleanup = Cleanup::new(name);
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    let mut volumes = Cleanup::new(&format!("{name}-vols"));
    volumes.volumes = project_volumes(&project.path);
    write_cli_config(&cfg.path, &format!("{FIREWALL_OFF}{extra}"));
    if project.path.join(".cctui.toml").exists() {
        accept(&cfg.path, &project.path);
    }
    let path = project.path.to_str().unwrap();
    let (code, out, err) = run_in(&cfg.path, claude_dir, &["new", path, "--name", name]);
    assert_eq!(code, 0, "{out}{err}");
    Session {
        _cleanup: cleanup,
        _volumes: volumes,
        cfg,
        _project: project,
    }
}

#[test]
fn carrying_settings_or_credentials_is_refused_by_name() {
    let cfg = TempFolder::new("carry-refuse-cfg", 0);
    for (entry, why) in [
        ("settings.json", "settings run commands on start"),
        (".credentials.json", "credentials never leave the host"),
    ] {
        write_cli_config(
            &cfg.path,
            &format!("[session]\ncarry = [\"skills\", {entry:?}]\n"),
        );
        let (code, out, err) = cctui(&cfg.path, &["ls"]);
        assert_ne!(code, 0, "{out}{err}");
        assert!(
            err.contains("session.carry") && err.contains(entry) && err.contains(why),
            "{err}"
        );
    }
}
