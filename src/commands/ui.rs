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

/// Set once a command answers in JSON: stdout then carries the JSON document alone, and the
/// lines for people (what `say!` prints) go to stderr.
static LINES_TO_STDERR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl Output {
    /// Makes this the command's output: with JSON, `say!` writes to stderr from now on.
    pub fn select(self) -> Output {
        if self == Output::Json {
            stdout_is_the_result();
        }
        self
    }

    /// Prints the command's JSON document on stdout, when it answers in JSON.
    pub fn json<T: serde::Serialize>(self, report: &T) -> anyhow::Result<()> {
        if self == Output::Json {
            println!("{}", serde_json::to_string_pretty(report)?);
        }
        Ok(())
    }
}

/// Sends `say!` lines to stderr from now on: the command's result (a page, a file) owns stdout.
pub fn stdout_is_the_result() {
    LINES_TO_STDERR.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Which stack a JSON answer is about: its name, account and region.
#[derive(serde::Serialize)]
pub struct StackId<'a> {
    pub stack: &'a str,
    pub account: &'a str,
    pub region: &'a str,
}

impl<'a> From<&'a crate::stack::Stack> for StackId<'a> {
    fn from(s: &'a crate::stack::Stack) -> StackId<'a> {
        StackId {
            stack: s.name.as_str(),
            account: &s.account,
            region: &s.region,
        }
    }
}

/// Whether lines for people go to stderr (a JSON answer owns stdout).
pub fn lines_to_stderr() -> bool {
    LINES_TO_STDERR.load(std::sync::atomic::Ordering::Relaxed)
}

/// A line for people: on stdout, or on stderr when the command answers in JSON.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        if $crate::commands::ui::lines_to_stderr() {
            eprintln!($($arg)*)
        } else {
            println!($($arg)*)
        }
    };
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

    /// A bar counting to `total` on a terminal (nothing otherwise): `what` then `12/340`, the
    /// rate and the time left.
    pub fn counted(total: u64, what: &str) -> Progress {
        use std::io::IsTerminal;
        Progress(std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            // The template is a constant: it parses, or the plain bar stays.
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{msg} {wide_bar} {human_pos}/{human_len} ({per_sec}, {eta} left)",
            ) {
                bar.set_style(style);
            }
            bar.set_message(what.to_owned());
            bar.enable_steady_tick(std::time::Duration::from_millis(250));
            bar
        }))
    }

    /// How far a counted bar is.
    pub fn set_position(&self, done: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(done);
        }
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

    /// A line that stays (a resource done): above the spinner on a terminal, on stdout (stderr
    /// when the command answers in JSON).
    pub fn line(&self, line: String) {
        match &self.0 {
            Some(bar) => bar.suspend(|| crate::say!("{line}")),
            None => crate::say!("{line}"),
        }
    }

    /// Runs `f` (which prints) with the spinner out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.0 {
            Some(bar) => bar.suspend(f),
            None => f(),
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

/// Each resource with what `up --dry-run` would do to it.
pub fn print_plan(resources: &[Resource]) {
    for r in resources {
        crate::say!("{}", plan_line(r, true, None));
    }
}

/// A resource with what `up` did (with `dry_run`, would do) to it, and how long it took when
/// that is worth saying.
pub fn plan_line(r: &Resource, dry_run: bool, took: Option<std::time::Duration>) -> String {
    let (word, details) = match Action::from(&r.state) {
        Action::Create => (if dry_run { "create" } else { "created" }, String::new()),
        Action::Update(what) => (
            if dry_run { "update" } else { "updated" },
            format!(" ({})", what.join("; ")),
        ),
        Action::Unchanged => ("unchanged", String::new()),
    };
    format!(
        "  {word:<9} {:<17} {}{details}{}",
        r.kind,
        r.name,
        elapsed(took)
    )
}

/// Only what was slow says how long it took: `  (41 s)`.
pub fn elapsed(took: Option<std::time::Duration>) -> String {
    match took {
        Some(t) if t >= std::time::Duration::from_secs(2) => format!("  ({} s)", t.as_secs()),
        _ => String::new(),
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
            None => crate::say!("  {:<9} {:<17} {}", "ok", "telegram chat", c.label()),
            Some(problem) => {
                crate::say!("  {:<9} {:<17} {}", "WARNING", "telegram chat", c.label());
                crate::say!("            {problem}");
            }
        }
    }
    Ok(checks)
}

/// One line a day: what the ETL read and wrote, or why the day failed.
pub fn print_etl(summary: &etl::Summary) {
    for day in &summary.days {
        match &day.error {
            None => crate::say!(
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
            Some(error) => crate::say!("{}  failed: {error}", day.date),
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
