//! `cctui ls --usage` and `cctui ls --json`: tokens and cost per session from Claude Code's
//! transcripts, with totals per project and overall. A project's transcripts are read by a
//! short-lived container, or kept from the last read while its agents are stopped (see
//! `session::usage`).

use std::collections::BTreeMap;
use std::process::ExitCode;

use super::print::ls_json;
use crate::backend::Backend;
use crate::error::Result;
use crate::session::ops::Ops;
use crate::term::sanitize::for_stdout;
use crate::usage::{self, Usage};

fn usage_json(u: &Usage) -> serde_json::Value {
    serde_json::json!({
        "input_tokens": u.total.input,
        "output_tokens": u.total.output,
        "cache_write_tokens": u.total.cache_write,
        "cache_read_tokens": u.total.cache_read,
        "cost_usd": u.cost_usd,
        "models": u.models,
        "unpriced_models": u.unpriced,
        "skipped_transcript_lines": u.skipped_lines,
    })
}

/// Each session's `usage` field in `ls --json`, beside the others.
pub fn add_usage(list: &mut serde_json::Value, usages: &[std::result::Result<Usage, String>]) {
    if let Some(items) = list.as_array_mut() {
        for (item, u) in items.iter_mut().zip(usages) {
            item["usage"] = match u {
                Ok(u) => usage_json(u),
                Err(e) => serde_json::json!({ "error": e }),
            };
        }
    }
}

pub async fn ls<B: Backend>(ops: &Ops<B>, engine: &str, json: bool) -> Result<ExitCode> {
    let sessions = ops.list().await?;
    let usages = ops.usages(&sessions).await;
    if json {
        let mut list = ls_json(&sessions);
        super::print::name_engine(&mut list, engine);
        add_usage(&mut list, &usages);
        println!("{}", serde_json::to_string_pretty(&list).expect("json"));
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<24} {:>10} {:>10} {:>10}  PROJECT",
        "NAME", "IN", "OUT", "COST"
    );
    let mut by_project: BTreeMap<&str, Vec<&Usage>> = BTreeMap::new();
    for (s, u) in sessions.iter().zip(&usages) {
        match u {
            Ok(u) => {
                println!("{:<24} {}  {}", s.name, figures(u), s.project);
                by_project.entry(&s.project).or_default().push(u);
            }
            Err(e) => println!(
                "{}",
                for_stdout(&format!("{:<24} cannot read: {e}", s.name))
            ),
        }
    }
    for (project, list) in &by_project {
        println!(
            "{:<24} {}  {project}",
            "(project)",
            figures(&usage::total(list.iter().copied()))
        );
    }
    let all = usage::total(usages.iter().filter_map(|u| u.as_ref().ok()));
    println!("{:<24} {}", "(all)", figures(&all));
    if all.skipped_lines > 0 {
        println!(
            "{} transcript lines over {} MiB were not read; their replies are not counted",
            all.skipped_lines,
            crate::bounded::TRANSCRIPT_LINE >> 20
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Input (with cache reads and writes), output, cost.
fn figures(u: &Usage) -> String {
    let input = u.total.input + u.total.cache_write + u.total.cache_read;
    let cost = u
        .cost_usd
        .map(|c| format!("${c:.2}"))
        .unwrap_or_else(|| "-".into());
    format!("{input:>10} {:>10} {cost:>10}", u.total.output)
}
