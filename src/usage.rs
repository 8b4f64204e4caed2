//! Tokens and cost per session, from Claude Code's own transcripts (`projects/*/*.jsonl` in
//! the session's config volume), priced by a table in `config/prices.toml` that the user's
//! `prices.toml` in cctui's config folder overrides. No network lookups. A leaf: the session
//! layer reads the transcripts out of the volume, this parses and prices them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The shipped price table.
pub const DEFAULT_PRICES: &str = include_str!("../config/prices.toml");

/// Tokens of one model, summed over every assistant message of the transcripts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub cache_write: u64,
    pub cache_read: u64,
}

impl Tokens {
    /// Everything read and written: input with the cache's reads and writes, and output.
    pub fn all(&self) -> u64 {
        self.input + self.cache_write + self.cache_read + self.output
    }

    fn add(&mut self, o: &Tokens) {
        self.input += o.input;
        self.output += o.output;
        self.cache_write += o.cache_write;
        self.cache_read += o.cache_read;
    }
}

/// A session's usage: tokens per model, and the cost in USD where every model has a price.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    pub models: BTreeMap<String, Tokens>,
    /// All models together.
    pub total: Tokens,
    /// None when a model has no price in the table.
    pub cost_usd: Option<f64>,
    /// Models the table has no price for.
    pub unpriced: Vec<String>,
    /// Transcript lines too long to read (over [`crate::bounded::TRANSCRIPT_LINE`]): their
    /// replies are not counted.
    pub skipped_lines: u64,
}

/// USD per million tokens.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    pub cache_write: f64,
    pub cache_read: f64,
}

/// Prices by model-name prefix; the longest matching prefix wins, the user's own table
/// first (its `claude` prices every Claude model).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    #[serde(default)]
    pub models: BTreeMap<String, Price>,
    /// The user's `prices.toml`, searched before `models`.
    #[serde(skip)]
    pub mine: BTreeMap<String, Price>,
}

impl Prices {
    /// The shipped table, with the user's `prices.toml` (if any) laid over it, model by model.
    pub fn load(config_dir: &Path) -> Result<Prices> {
        let mut prices: Prices = toml::from_str(DEFAULT_PRICES).expect("the shipped table parses");
        let file = config_dir.join("prices.toml");
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                let mine: Prices = crate::config::parse_toml(&text, &file)?;
                prices.mine = mine.models;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::other(format!("{}: {e}", file.display()))),
        }
        Ok(prices)
    }

    pub fn price(&self, model: &str) -> Option<&Price> {
        longest_prefix(&self.mine, model).or_else(|| longest_prefix(&self.models, model))
    }
}

fn longest_prefix<'a>(table: &'a BTreeMap<String, Price>, model: &str) -> Option<&'a Price> {
    table
        .iter()
        .filter(|(prefix, _)| model.starts_with(prefix.as_str()))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, p)| p)
}

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(rename = "requestId")]
    request_id: Option<String>,
    #[serde(rename = "gitBranch")]
    git_branch: Option<String>,
    message: Option<Message>,
}

#[derive(Deserialize)]
struct Message {
    id: Option<String>,
    model: Option<String>,
    usage: Option<RawUsage>,
}

#[derive(Deserialize, Default)]
struct RawUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
}

/// What a project's transcripts hold: tokens per git branch and model, each reply counted
/// once. Sessions of a project share its transcripts; each takes its share (`priced`). Kept
/// between reads (see `session::usage`), so it is plain data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub rows: Vec<TallyRow>,
    /// Transcript lines over [`crate::bounded::TRANSCRIPT_LINE`], not read.
    #[serde(default)]
    pub skipped_lines: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TallyRow {
    pub branch: Option<String>,
    pub model: String,
    pub tokens: Tokens,
}

/// Sums the assistant messages of transcript text (JSON lines). Claude Code writes one line
/// per content block of a reply, each with the reply's usage: a reply counts once, by its
/// message id and request id, with the largest figures any of its lines carries.
pub fn tally(text: &str) -> Tally {
    let mut t = Tallier::default();
    for raw in text.lines() {
        t.line(raw.as_bytes());
    }
    t.finish()
}

type ReplyKey = (String, String, Option<String>);

/// [`tally`], a line at a time: transcripts are streamed, never held whole.
#[derive(Default)]
pub struct Tallier {
    replies: BTreeMap<ReplyKey, (String, Tokens)>,
    lines: usize,
    /// Lines too long to read (skipped).
    pub skipped: u64,
}

impl Tallier {
    pub fn line(&mut self, raw: &[u8]) {
        let n = self.lines;
        self.lines += 1;
        let Ok(line) = serde_json::from_slice::<Line>(raw) else {
            return;
        };
        let (Some("assistant"), Some(m)) = (line.kind.as_deref(), line.message) else {
            return;
        };
        let Some(u) = m.usage else { return };
        let model = m.model.unwrap_or_else(|| "unknown".into());
        // Claude Code's own placeholder replies (errors, interruptions) cost nothing.
        if model == "<synthetic>" {
            return;
        }
        let key = (
            m.id.unwrap_or_else(|| format!("line {n}")),
            line.request_id.unwrap_or_default(),
            line.git_branch,
        );
        let t = Tokens {
            input: u.input_tokens,
            output: u.output_tokens,
            cache_write: u.cache_creation_input_tokens,
            cache_read: u.cache_read_input_tokens,
        };
        let entry = self
            .replies
            .entry(key)
            .or_insert((model, Tokens::default()));
        let e = &mut entry.1;
        e.input = e.input.max(t.input);
        e.output = e.output.max(t.output);
        e.cache_write = e.cache_write.max(t.cache_write);
        e.cache_read = e.cache_read.max(t.cache_read);
    }

    pub fn finish(self) -> Tally {
        let mut sums: BTreeMap<(Option<String>, String), Tokens> = BTreeMap::new();
        for ((_, _, branch), (model, t)) in self.replies {
            sums.entry((branch, model)).or_default().add(&t);
        }
        Tally {
            rows: sums
                .into_iter()
                .map(|((branch, model), tokens)| TallyRow {
                    branch,
                    model,
                    tokens,
                })
                .collect(),
            skipped_lines: self.skipped,
        }
    }
}

/// A session's share of its project's tally, priced. With `branch` (a session with a
/// repository of its own works on `cctui/<name>`), only the replies Claude Code wrote on
/// that branch count; without, all of them.
pub fn priced(tally: &Tally, prices: &Prices, branch: Option<&str>) -> Usage {
    let mut usage = Usage::default();
    for row in &tally.rows {
        if branch.is_some_and(|b| row.branch.as_deref() != Some(b)) {
            continue;
        }
        usage
            .models
            .entry(row.model.clone())
            .or_default()
            .add(&row.tokens);
        usage.total.add(&row.tokens);
    }
    usage.skipped_lines = tally.skipped_lines;
    usage.cost_usd = price_of(&usage, prices);
    usage.unpriced = usage
        .models
        .keys()
        .filter(|m| prices.price(m).is_none())
        .cloned()
        .collect();
    usage
}

/// `tally` and `priced` in one.
pub fn from_transcripts(text: &str, prices: &Prices, branch: Option<&str>) -> Usage {
    priced(&tally(text), prices, branch)
}

fn price_of(usage: &Usage, prices: &Prices) -> Option<f64> {
    let mut cost = 0.0;
    for (model, t) in &usage.models {
        let p = prices.price(model)?;
        cost += (t.input as f64 * p.input
            + t.output as f64 * p.output
            + t.cache_write as f64 * p.cache_write
            + t.cache_read as f64 * p.cache_read)
            / 1_000_000.0;
    }
    Some(cost)
}

/// Sums usages (a project's sessions, or all of them); the cost only if every one has one.
pub fn total<'a>(all: impl IntoIterator<Item = &'a Usage>) -> Usage {
    let mut out = Usage {
        cost_usd: Some(0.0),
        ..Default::default()
    };
    for u in all {
        for (m, t) in &u.models {
            out.models.entry(m.clone()).or_default().add(t);
        }
        out.total.add(&u.total);
        out.cost_usd = out.cost_usd.zip(u.cost_usd).map(|(a, b)| a + b);
        out.unpriced.extend(u.unpriced.iter().cloned());
        out.skipped_lines += u.skipped_lines;
    }
    out.unpriced.sort();
    out.unpriced.dedup();
    out
}

/// A compact figure: "12.3k in · 4.5k out · $0.12".
pub fn compact(u: &Usage) -> String {
    fn k(n: u64) -> String {
        match n {
            0..=999 => n.to_string(),
            1_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
            _ => format!("{:.1}M", n as f64 / 1e6),
        }
    }
    let input = u.total.input + u.total.cache_write + u.total.cache_read;
    let cost = u
        .cost_usd
        .map(|c| format!(" · ${c:.2}"))
        .unwrap_or_default();
    format!("{} in · {} out{cost}", k(input), k(u.total.output))
}

/// A short figure for a list row or a total: all tokens and the cost, "12k $0.31"; the
/// tokens alone when a model has no price. At most 11 characters below 10 billion tokens
/// and $10,000.
pub fn short(u: &Usage) -> String {
    let n = u.total.all() as f64;
    let tokens = match u.total.all() {
        0..=999 => format!("{n}"),
        1_000..=9_999 => format!("{:.1}k", n / 1e3),
        10_000..=999_999 => format!("{:.0}k", n / 1e3),
        1_000_000..=9_999_999 => format!("{:.1}M", n / 1e6),
        10_000_000..=999_999_999 => format!("{:.0}M", n / 1e6),
        _ => format!("{:.1}G", n / 1e9),
    };
    match u.cost_usd {
        Some(c) if c < 10.0 => format!("{tokens} ${c:.2}"),
        Some(c) if c < 100.0 => format!("{tokens} ${c:.1}"),
        Some(c) => format!("{tokens} ${c:.0}"),
        None => tokens,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prices() -> Prices {
        toml::from_str(DEFAULT_PRICES).unwrap()
    }

    #[test]
    fn replies_count_once_and_are_priced_by_the_longest_prefix() {
        let text = r#"{"type":"user","message":{"role":"user","content":"hi"}}
{"type":"assistant","requestId":"r1","message":{"id":"m1","model":"claude-sonnet-4-5-20250929","usage":{"input_tokens":10,"output_tokens":1,"cache_creation_input_tokens":100,"cache_read_input_tokens":0}}}
{"type":"assistant","requestId":"r1","message":{"id":"m1","model":"claude-sonnet-4-5-20250929","usage":{"input_tokens":10,"output_tokens":7,"cache_creation_input_tokens":100,"cache_read_input_tokens":0}}}
not json
{"type":"assistant","requestId":"r2","message":{"id":"m2","model":"claude-sonnet-4-5-20250929","usage":{"input_tokens":5,"output_tokens":3,"cache_read_input_tokens":100}}}
{"type":"assistant","message":{"id":"x","model":"<synthetic>","usage":{"input_tokens":999,"output_tokens":999}}}
"#;
        let u = from_transcripts(text, &prices(), None);
        assert_eq!(
            u.total,
            Tokens {
                input: 15,
                output: 10,
                cache_write: 100,
                cache_read: 100
            }
        );
        let p = prices()
            .price("claude-sonnet-4-5-20250929")
            .copied()
            .unwrap();
        let want =
            (15.0 * p.input + 10.0 * p.output + 100.0 * p.cache_write + 100.0 * p.cache_read) / 1e6;
        assert!((u.cost_usd.unwrap() - want).abs() < 1e-12);
        assert!(u.unpriced.is_empty());
        assert_eq!(compact(&u), format!("215 in · 10 out · ${want:.2}"));
    }

    #[test]
    fn the_short_figure_counts_every_token_and_fits_a_column() {
        let u = |input, cache_read, output, cost| Usage {
            total: Tokens {
                input,
                output,
                cache_write: 0,
                cache_read,
            },
            cost_usd: cost,
            ..Default::default()
        };
        assert_eq!(short(&u(10, 0, 9, Some(0.000028))), "19 $0.00");
        assert_eq!(short(&u(1_200, 5_000, 340, Some(0.31))), "6.5k $0.31");
        assert_eq!(short(&u(12_000, 0, 400, None)), "12k");
        assert_eq!(short(&u(3_000_000, 0, 0, Some(42.5))), "3.0M $42.5");
        assert_eq!(short(&u(2_000_000_000, 0, 0, Some(9_999.0))), "2.0G $9999");
        assert!(short(&u(9_999_999_999, 0, 0, Some(9_999.0))).len() <= 11);
    }

    #[test]
    fn a_tally_round_trips_and_keeps_each_branch_apart() {
        let text = r#"{"type":"assistant","gitBranch":"cctui/a","requestId":"r","message":{"id":"1","model":"m","usage":{"input_tokens":1,"output_tokens":1}}}
{"type":"assistant","gitBranch":"cctui/a","requestId":"r","message":{"id":"1","model":"m","usage":{"input_tokens":1,"output_tokens":5}}}
{"type":"assistant","gitBranch":"cctui/b","message":{"id":"2","model":"m","usage":{"input_tokens":2,"output_tokens":2}}}"#;
        let t = tally(text);
        assert_eq!(t.rows.len(), 2);
        let back: Tally = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
        assert_eq!(priced(&t, &prices(), Some("cctui/a")).total.output, 5);
        assert_eq!(priced(&t, &prices(), None).total.output, 7);
    }

    #[test]
    fn the_shipped_table_prices_the_models_claude_code_knows_by_their_own_entry() {
        let p = prices();
        let io = |m: &str| p.price(m).map(|p| (p.input, p.output, p.cache_read));
        assert_eq!(io("claude-opus-5-5"), Some((4.0, 20.0, 0.2)));
        assert_eq!(io("claude-opus-5-5-20260301"), Some((4.0, 20.0, 0.2)));
        assert_eq!(io("claude-opus-5"), Some((5.0, 25.0, 0.5)));
        assert_eq!(io("claude-opus-4-1-20250805"), Some((15.0, 75.0, 1.5)));
        assert_eq!(io("claude-opus-4-6"), Some((5.0, 25.0, 0.5)));
        assert_eq!(io("claude-sonnet-5-5"), Some((2.0, 10.0, 0.1)));
        assert_eq!(io("claude-sonnet-4-5-20250929"), Some((3.0, 15.0, 0.3)));
        assert_eq!(io("claude-haiku-5-5"), Some((0.1, 0.5, 0.01)));
        for known in [
            "claude-sonnet-5",
            "claude-haiku-4-5-20251001",
            "claude-3-5-haiku-20241022",
            "claude-fable-5-2",
            "claude-mythos-5-1",
        ] {
            assert!(p.price(known).is_some(), "{known}");
        }
        // The fake APIs of the tests and screenshots answer as these: no price, no cost.
        assert_eq!(io("claude-test"), None);
        assert_eq!(io("claude-demo"), None);
    }

    #[test]
    fn a_sessions_branch_picks_its_lines_out_of_the_projects_transcripts() {
        let text = r#"{"type":"assistant","gitBranch":"cctui/a","message":{"id":"1","model":"m","usage":{"input_tokens":1,"output_tokens":1}}}
{"type":"assistant","gitBranch":"cctui/b","message":{"id":"2","model":"m","usage":{"input_tokens":2,"output_tokens":2}}}"#;
        assert_eq!(
            from_transcripts(text, &prices(), Some("cctui/b"))
                .total
                .input,
            2
        );
        assert_eq!(from_transcripts(text, &prices(), None).total.input, 3);
    }

    #[test]
    fn an_unknown_model_has_tokens_but_no_cost_and_totals_say_so() {
        let text = r#"{"type":"assistant","message":{"id":"a","model":"gpt-9","usage":{"input_tokens":3,"output_tokens":4}}}"#;
        let u = from_transcripts(text, &prices(), None);
        assert_eq!(u.total.output, 4);
        assert_eq!(u.cost_usd, None);
        assert_eq!(u.unpriced, ["gpt-9"]);
        let t = total([
            &u,
            &Usage {
                cost_usd: Some(1.0),
                ..Default::default()
            },
        ]);
        assert_eq!(t.cost_usd, None);
        assert_eq!(t.total.input, 3);
    }

    #[test]
    fn the_users_table_overrides_the_shipped_one() {
        let dir = std::env::temp_dir().join(format!("cctui-prices-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("prices.toml"),
            "[models.\"gpt-9\"]\ninput = 1.0\noutput = 2.0\ncache_write = 0.0\ncache_read = 0.0\n",
        )
        .unwrap();
        let p = Prices::load(&dir).unwrap();
        assert_eq!(p.price("gpt-9-mini").unwrap().output, 2.0);
        std::fs::write(
            dir.join("prices.toml"),
            "[models.claude]\ninput = 1.0\noutput = 2.0\ncache_write = 0.0\ncache_read = 0.0\n",
        )
        .unwrap();
        let p = Prices::load(&dir).unwrap();
        assert_eq!(
            p.price("claude-opus-5-5").unwrap().output,
            2.0,
            "the user's shorter prefix wins over a shipped longer one"
        );
        assert!(
            p.price("claude-opus-4-1").is_some(),
            "the shipped ones stay"
        );
        std::fs::write(dir.join("prices.toml"), "[models.x]\ninptu = 1\n").unwrap();
        assert!(Prices::load(&dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
