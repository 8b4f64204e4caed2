//! `cctui fw`: a session's egress firewall, through the same operations as the Firewall tab.

use std::process::ExitCode;
use std::time::Duration;

use super::FwCommand;
use crate::backend::Backend;
use crate::error::Result;
use crate::sandbox::firewall::{self, Blocked, FirewallStatus};
use crate::sandbox::report::FirewallReport;
use crate::session::ops::Ops;
use crate::term::sanitize::for_stdout;

pub async fn run<B: Backend>(ops: &Ops<B>, command: FwCommand) -> Result<ExitCode> {
    match command {
        FwCommand::Status { name, json } => {
            let report = ops.firewall_report(&name).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).expect("json"));
            } else {
                print_report(&report);
            }
            Ok(exit_for(&report.status))
        }
        FwCommand::Verify { name } => {
            let holder = ops.running_holder(&name).await?;
            match firewall::verify(&ops.backend, &holder).await? {
                Ok(()) => {
                    println!("verified");
                    Ok(ExitCode::SUCCESS)
                }
                Err(why) => {
                    println!("degraded: {why}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        FwCommand::Allow { name, rule } => {
            let list = ops.change_allowlist(&name, &rule, false).await?;
            let n = list.rules.len();
            println!("allowed {rule} for {name}; {n} rules in force");
            Ok(ExitCode::SUCCESS)
        }
        FwCommand::Deny { name, rule } => {
            let list = ops.change_allowlist(&name, &rule, true).await?;
            let n = list.rules.len();
            println!("removed {rule} from {name}; {n} rules in force");
            Ok(ExitCode::SUCCESS)
        }
        FwCommand::Presets => {
            print_presets(&ops.config.firewall.presets);
            Ok(ExitCode::SUCCESS)
        }
        FwCommand::Log {
            name,
            follow,
            lines,
        } => log(ops, &name, lines, follow).await,
    }
}

/// A degraded firewall is a failure for scripts.
fn exit_for(status: &FirewallStatus) -> ExitCode {
    if matches!(status, FirewallStatus::Degraded { .. }) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_report(report: &FirewallReport) {
    println!("firewall: {}", report.status.label());
    if let FirewallStatus::Degraded { why } = &report.status {
        println!("  why: {}", for_stdout(why));
    }
    println!(
        "rejected: {} packets, {} names refused, {} connections refused by name",
        report.counters.rejected_packets,
        report.counters.refused_names,
        report.counters.refused_by_name
    );
    for line in crate::sandbox::broker::report_lines(report.broker.as_ref()) {
        println!("{}", for_stdout(&line));
    }
    println!("allowlist ({} rules):", report.allowlist.rules.len());
    for r in &report.allowlist.rules {
        println!("  {r:<40} {}", firewall::checks_text(r));
    }
}

/// Every shipped preset: its name, whether the config uses it, what it is for, its rules.
fn print_presets(in_effect: &[String]) {
    let descriptions = firewall::preset_descriptions();
    for (name, rules) in firewall::presets() {
        let used = if in_effect.contains(&name) {
            " (in effect)"
        } else {
            ""
        };
        let about = descriptions.get(&name).map(String::as_str).unwrap_or("");
        println!("{name}{used}: {about}");
        println!("  {}", rules.join(", "));
    }
}

/// The holder's log of refusals; with `follow`, new entries as they come.
async fn log<B: Backend>(ops: &Ops<B>, name: &str, lines: usize, follow: bool) -> Result<ExitCode> {
    let holder = ops.running_holder(name).await?;
    let mut last_seen: Option<Blocked> = None;
    loop {
        let log = firewall::blocked_log(&ops.backend, &holder, lines).await?;
        let start = match &last_seen {
            Some(seen) => log
                .iter()
                .position(|b| b == seen)
                .map(|i| i + 1)
                .unwrap_or(0),
            None => 0,
        };
        for b in &log[start..] {
            println!("{}", for_stdout(&blocked_line(b)));
        }
        if let Some(b) = log.last() {
            last_seen = Some(b.clone());
        }
        if !follow {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// One refusal as `fw log` prints it: the time of day (UTC) as the Firewall tab shows it.
pub fn blocked_line(b: &Blocked) -> String {
    b.line()
}
