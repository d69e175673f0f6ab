//! Writes the project's sample updates (`lake::sample`) as a raw lake, for the benchmarks and
//! the README's examples:
//!
//!     gen-updates OUT [--updates 100000] [--days 1] [--start 2024-05-01] [--seed 7] [--jsonl FILE]
//!
//! `OUT/raw/telegram/context_date=D/{update_id}.json`, each update as Telegram sends it, under its
//! day in UTC; with `--jsonl`, every update also one per line in delivery order.

use std::path::PathBuf;

const USAGE: &str = "usage: gen-updates OUT [--updates N] [--days D] [--start YYYY-MM-DD] [--seed S] [--jsonl FILE]";

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}\n{USAGE}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut out, mut jsonl) = (None::<PathBuf>, None::<PathBuf>);
    let (mut updates, mut days, mut start, mut seed) =
        (100_000usize, 1usize, "2024-05-01".to_owned(), 7u64);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--updates" => {
                updates = value("--updates")?
                    .parse()
                    .map_err(|e| format!("--updates: {e}"))?
            }
            "--days" => {
                days = value("--days")?
                    .parse()
                    .map_err(|e| format!("--days: {e}"))?
            }
            "--start" => start = value("--start")?,
            "--seed" => {
                seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?
            }
            "--jsonl" => jsonl = Some(value("--jsonl")?.into()),
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}")),
            dir => out = Some(dir.into()),
        }
    }
    let out = out.ok_or("say where: OUT")?;
    if lake::layout::parse_day(&start).is_none() {
        return Err(format!("--start {start:?} is not a day like 2024-05-01"));
    }
    let written = testkit::gen_lake(&out, updates, days, &start, seed);
    if let Some(path) = jsonl {
        let mut text = written.join("\n");
        text.push('\n');
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
