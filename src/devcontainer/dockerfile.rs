//! What a repository's Dockerfile may fetch. The classic builder pulls `FROM` images, `ADD`
//! URLs and git sources, and `COPY --from=<image>` with the engine's own network, outside
//! the build's fence; so a proposal's Dockerfile may name only plain images in `FROM`, only
//! context paths in `COPY`/`ADD`, and only its own stages in `--from`. An allowlist.

use crate::error::{Error, Result};

/// Instructions a proposal's Dockerfile may use (ONBUILD, which runs later elsewhere, is not).
const ALLOWED: [&str; 17] = [
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
    "MAINTAINER",
];

/// Checks `text` (the Dockerfile `file`); the error names the file, line and what to do.
pub fn check(text: &str, file: &str) -> Result<()> {
    let mut stages: Vec<String> = Vec::new();
    for (line, instruction) in instructions(text) {
        let refuse = |why: &str| {
            let shown =
                crate::term::sanitize::text_str(&instruction, crate::term::sanitize::Mark::Plain);
            let file = crate::term::sanitize::text_str(file, crate::term::sanitize::Mark::Plain);
            Error::usage(format!(
                "{file}:{line}: `{shown}`: {why}; the image build fetches it outside the \
                 firewall, so a repository's Dockerfile may not"
            ))
        };
        let words: Vec<&str> = instruction.split_whitespace().collect();
        let Some(op) = words.first().map(|w| w.to_ascii_uppercase()) else {
            continue;
        };
        if !ALLOWED.contains(&op.as_str()) {
            return Err(refuse(&format!("{op} is not an instruction cctui builds")));
        }
        let flags: Vec<&str> = words[1..]
            .iter()
            .copied()
            .filter(|w| w.starts_with("--"))
            .collect();
        let args: Vec<&str> = words[1..]
            .iter()
            .copied()
            .filter(|w| !w.starts_with("--"))
            .collect();
        match op.as_str() {
            "FROM" => {
                let image = args.first().copied().unwrap_or_default();
                if !plain_image(image) {
                    return Err(refuse("FROM takes a plain image name"));
                }
                match args.get(1..) {
                    Some([as_, name]) if as_.eq_ignore_ascii_case("as") => {
                        stages.push(name.to_ascii_lowercase())
                    }
                    Some([]) => stages.push(String::new()),
                    _ => return Err(refuse("FROM is `FROM image [AS name]`")),
                }
            }
            "COPY" | "ADD" => {
                for flag in &flags {
                    let from = flag.strip_prefix("--from=");
                    let ok = match from {
                        Some(f) => op == "COPY" && stage(&stages, f),
                        None => ["--chown=", "--chmod=", "--link"]
                            .iter()
                            .any(|p| flag.starts_with(p)),
                    };
                    if !ok {
                        return Err(refuse("only --from=<an earlier stage> is allowed"));
                    }
                }
                let sources = &args[..args.len().saturating_sub(1)];
                if sources
                    .iter()
                    .any(|s| s.contains("://") || s.starts_with("git@"))
                {
                    return Err(refuse("a source is not a path of the build context"));
                }
            }
            "RUN" if flags.iter().any(|f| f.contains("from=")) => {
                return Err(refuse("RUN --mount from an image"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// `name[:tag][@digest]` with no variable, flag or other syntax.
fn plain_image(image: &str) -> bool {
    !image.is_empty()
        && image
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c))
}

fn stage(stages: &[String], from: &str) -> bool {
    let from = from.to_ascii_lowercase();
    match from.parse::<usize>() {
        Ok(n) => n < stages.len(),
        Err(_) => !from.is_empty() && stages.contains(&from),
    }
}

/// Each instruction with its first line number: comments and blank lines dropped, lines
/// ending in `\` joined.
fn instructions(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if current.is_none() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        let (start, mut joined) = current.take().unwrap_or((i + 1, String::new()));
        if trimmed.starts_with('#') {
            current = Some((start, joined));
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                joined.push_str(head);
                joined.push(' ');
                current = Some((start, joined));
            }
            None => {
                joined.push_str(trimmed);
                out.push((start, joined));
            }
        }
    }
    out.extend(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_images_context_paths_and_own_stages_pass() {
        let ok = "# c\nFROM debian:bookworm-slim AS build\nRUN echo \\\n  hi\n\
                  COPY --from=build /a /b\nCOPY --chown=1:1 x /y\nFROM debian\nCOPY --from=0 /a /b\n";
        check(ok, "Dockerfile").unwrap();
        for (bad, line) in [
            ("FROM debian\nADD https://evil.test/x /x\n", ":2:"),
            ("FROM debian\nADD git@evil.test:x.git /x\n", ":2:"),
            ("FROM debian\nCOPY --from=evil/img:1 /a /b\n", ":2:"),
            ("FROM ${BASE}\n", ":1:"),
            ("FROM debian\nONBUILD RUN x\n", ":2:"),
            (
                "FROM debian\nRUN --mount=type=bind,from=evil/img,target=/m ls\n",
                ":2:",
            ),
            ("FROM debian\nRUN a \\\n  b\nADD \\\n  http://x /y\n", ":4:"),
        ] {
            let err = check(bad, "Dockerfile").unwrap_err().to_string();
            assert!(err.contains(&format!("Dockerfile{line}")), "{bad}: {err}");
        }
    }
}
