//! The programs that attributes select, switched off for cctui's own git calls. A
//! `.gitattributes` in a session's tree names a filter, diff or merge driver, and git runs
//! whatever the user's config defines under that name (git-lfs, git-crypt, anything). Which
//! names the agent picks is its choice, so every driver the user's config defines, in any
//! scope and through any include, is overridden on every call: no list of known names.
//!
//! Pure: [`git`](super::git) reads the config (`git config --name-only --get-regexp`, with
//! [`DRIVER_KEYS`]) and passes the names here.

use std::collections::BTreeSet;

use crate::error::{Error, Result};

/// The config keys that define drivers: `filter.<name>.*`, `diff.<name>.*`, `merge.<name>.*`.
pub const DRIVER_KEYS: &str = r"^(filter|diff|merge)\.";

/// The merge driver put in place of every configured one: git's own three-way text merge
/// of the same files, exactly what git does when no driver is configured (a conflict leaves
/// markers, and the merge stops as usual). An empty driver would make git fail to run it.
pub const TEXT_MERGE: &str = "git merge-file -L ours -L base -L theirs --marker-size=%L %A %O %B";

/// The `-c` settings that switch off every program among `names` (the NUL-separated output of
/// `git config -z --name-only --get-regexp DRIVER_KEYS`). An empty command is a no-op for a
/// filter (the file passes as it is), and `required=false` keeps a missing filter from failing
/// the call; an empty diff command or textconv fails loudly if a call ever lacks
/// `--no-ext-diff` / `--no-textconv`, rather than run anything.
pub fn neutralising_settings(names: &[u8]) -> Result<Vec<String>> {
    let mut settings = BTreeSet::new();
    for key in names.split(|b| *b == 0).filter(|k| !k.is_empty()) {
        let key = String::from_utf8_lossy(key);
        let key = key.trim_end_matches('\n');
        let Some((section, rest)) = key.split_once('.') else {
            continue;
        };
        // `merge.default` and the like: no driver name, nothing that runs.
        let Some((driver, var)) = rest.rsplit_once('.') else {
            continue;
        };
        let set = |var: &str, value: &str| format!("{section}.{driver}.{var}={value}");
        let overrides: &[String] = match (section, var.to_ascii_lowercase().as_str()) {
            ("filter", "clean" | "smudge" | "process") => &[set(var, ""), set("required", "false")],
            ("filter", "required") => &[set("required", "false")],
            ("diff", "command" | "textconv") => &[set(var, "")],
            ("merge", "driver") => &[set("driver", TEXT_MERGE)],
            _ => &[],
        };
        if overrides.is_empty() {
            continue;
        }
        // `-c` splits at the first `=`: a name holding one would set another key.
        if driver.contains('=') {
            return Err(Error::usage(format!(
                "your git config defines the {section} driver \"{driver}\", whose name holds \
                 `=`: cctui cannot switch it off for its git calls, so it runs none; rename \
                 the driver (the `[{section} \"{driver}\"]` section of your git config)"
            )));
        }
        settings.extend(overrides.iter().cloned());
    }
    Ok(settings.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_configured_driver_is_switched_off_and_nothing_else_is_touched() {
        let names = b"filter.lfs.process\0filter.lfs.required\0filter.Odd.Name.smudge\0\
                      diff.evil.textconv\0diff.evil.xfuncname\0diff.cmd.command\0\
                      merge.evil.driver\0merge.evil.name\0merge.default\0\
                      filter.lfs.clean\0core.pager\0";
        let got = neutralising_settings(names).unwrap();
        let want = [
            "diff.cmd.command=".to_string(),
            "diff.evil.textconv=".to_string(),
            "filter.Odd.Name.required=false".to_string(),
            "filter.Odd.Name.smudge=".to_string(),
            "filter.lfs.clean=".to_string(),
            "filter.lfs.process=".to_string(),
            "filter.lfs.required=false".to_string(),
            format!("merge.evil.driver={TEXT_MERGE}"),
        ];
        assert_eq!(got, want);
        assert_eq!(neutralising_settings(b"").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn a_driver_name_that_cannot_be_overridden_is_refused() {
        let err = neutralising_settings(b"filter.a=b.smudge\0").unwrap_err();
        assert!(err.to_string().contains("[filter \"a=b\"]"), "{err}");
        // A harmless key under such a name is no reason to refuse.
        assert!(neutralising_settings(b"diff.a=b.xfuncname\0").is_ok());
    }
}
