//! Asking the user on the terminal before something that cannot be undone.

use std::io::{IsTerminal, Write};

use crate::error::{Error, Result};

/// Asks `question` on stderr and reads y/yes; with no terminal on stdin, refuses and points at
/// `--yes`.
pub fn confirm(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::usage(
            "refusing without confirmation on a terminal; pass --yes",
        ));
    }
    eprint!("{question}");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| Error::other(e.to_string()))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
