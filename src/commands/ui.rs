//! What commands print besides their results: progress, plans, questions, chat checks.

use anyhow::Context;
use clap::ValueEnum;

use crate::plan::{Action, Resource};
use crate::telegram::Telegram;

/// How a command answers: words for people, or JSON for scripts (`--output json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// Progress of `up` and `query`: a spinner naming the current step on a terminal, plain lines otherwise.
pub struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    pub fn start() -> Progress {
        use std::io::IsTerminal;
        Progress(std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        }))
    }

    /// The step now under way.
    pub fn step(&self, what: &str) {
        match &self.0 {
            Some(bar) => bar.set_message(what.to_owned()),
            None => eprintln!("  … {what}"),
        }
    }

    /// Something worth keeping on screen (a wait, a retry).
    pub fn note(&self, line: String) {
        match &self.0 {
            Some(bar) => bar.println(format!("  … {line}")),
            None => eprintln!("  … {line}"),
        }
    }

    pub fn done(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    // An error ends `up` early: the spinner goes before the error line is printed.
    fn drop(&mut self) {
        self.done();
    }
}

/// Each resource with what `up` did (or, with `--dry-run`, would do) to it.
pub fn print_plan(resources: &[Resource], dry_run: bool) {
    for r in resources {
        let (word, details) = match Action::from(&r.state) {
            Action::Create => (if dry_run { "create" } else { "created" }, String::new()),
            Action::Update(what) => (
                if dry_run { "update" } else { "updated" },
                format!(" ({})", what.join("; ")),
            ),
            Action::Unchanged => ("unchanged", String::new()),
        };
        println!("  {word:<9} {:<17} {}{details}", r.kind, r.name);
    }
}

/// Asks a yes/no question on a terminal; `false` (without asking) anywhere else.
pub fn confirm(question: &str) -> anyhow::Result<bool> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    let answer = ask(&format!("{question} [y/N]"))?;
    Ok(matches!(answer.as_str(), "y" | "Y" | "yes"))
}

/// Asks on stderr and reads one line of stdin, trimmed.
pub fn ask(question: &str) -> anyhow::Result<String> {
    use std::io::{BufRead, Write};
    eprint!("{question} ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(answer.trim().to_owned())
}

/// Checks that the bot can read each kept chat; prints one line a chat (`up`, `set-webhook`).
pub async fn print_chat_checks(
    bot: &Telegram,
    chats: &[i64],
) -> anyhow::Result<Vec<crate::webhook::ChatCheck>> {
    let me = bot.me().await?;
    let checks = crate::webhook::check_chats(bot, &me, chats).await?;
    for c in &checks {
        match &c.problem {
            None => println!("  {:<9} {:<17} {}", "ok", "telegram chat", c.label()),
            Some(problem) => {
                println!("  {:<9} {:<17} {}", "WARNING", "telegram chat", c.label());
                println!("            {problem}");
            }
        }
    }
    Ok(checks)
}

/// One line a day: what the ETL read and wrote, or why the day failed.
pub fn print_etl(summary: &etl::Summary) {
    for day in &summary.days {
        match &day.error {
            None => println!(
                "{}  {} updates → {} rows{}",
                day.date,
                day.objects_read,
                day.rows_written,
                if day.objects_skipped > 0 {
                    format!(" ({} unreadable updates skipped)", day.objects_skipped)
                } else {
                    String::new()
                }
            ),
            Some(error) => println!("{}  failed: {error}", day.date),
        }
    }
}

/// A size in bytes for people: 1.5 GB.
pub fn human_bytes(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes.max(0) as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// "1 row", "2 rows".
pub fn rows(n: usize) -> String {
    if n == 1 {
        "1 row".to_owned()
    } else {
        format!("{n} rows")
    }
}
