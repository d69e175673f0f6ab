//! Everything tgpipe prints goes through here: the [`Printer`] each command writes with (lines
//! for people, notes, its result or its one JSON document), resource lines in one column layout,
//! progress, questions, and `--verbose`'s trace. The crate denies `print!` and friends elsewhere.

use std::io::Write as _;

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

/// The one channel a command writes through (as uv's `Printer` and cargo's `Shell`): lines for
/// people, notes, and the command's result or its one JSON document. Nothing else in the crate
/// prints: `clippy::print_stdout` and `print_stderr` are denied outside this module.
///
/// Stdout carries the command's answer: its lines for people, or, once the answer is a JSON
/// document or a file's bytes (`report -o -`), that alone, and the lines go to stderr.
#[derive(Clone, Copy, Debug)]
pub struct Printer {
    json: bool,
    lines_to_stderr: bool,
}

impl Printer {
    /// The printer of a command answering as `output` says.
    pub fn new(output: Output) -> Printer {
        let json = output == Output::Json;
        Printer {
            json,
            lines_to_stderr: json,
        }
    }

    /// The same, with stdout kept for the command's result (a page, a file): lines go to stderr.
    pub fn result_owns_stdout(self) -> Printer {
        Printer {
            lines_to_stderr: true,
            ..self
        }
    }

    /// Whether the command answers with one JSON document.
    pub fn is_json(self) -> bool {
        self.json
    }

    /// A line for people: on stdout, or on stderr when stdout carries the result. A reader
    /// gone (`| head`) is not an error of the command.
    pub fn line(self, line: impl std::fmt::Display) {
        if self.lines_to_stderr {
            eprintln!("{line}");
        } else {
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        }
    }

    /// A line about the run rather than its answer (what is being done, a warning): stderr.
    pub fn note(self, line: impl std::fmt::Display) {
        eprintln!("{line}");
    }

    /// The command's JSON document on stdout, when it answers in JSON.
    pub fn json<T: serde::Serialize>(self, document: &T) -> anyhow::Result<()> {
        if self.json {
            let mut text = serde_json::to_string_pretty(document)?;
            text.push('\n');
            self.result(text.as_bytes())?;
        }
        Ok(())
    }

    /// A command's whole answer: its JSON document, or its lines for people.
    pub fn answer<T: serde::Serialize + Render>(self, answer: &T) -> anyhow::Result<()> {
        if self.json {
            self.json(answer)
        } else {
            answer.render(self);
            Ok(())
        }
    }

    /// The command's result as it is (a table, CSV, a page) on stdout.
    pub fn result(self, bytes: &[u8]) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)
            .and_then(|()| out.flush())
            .context("cannot write the result to standard output")
    }
}

/// A command's answer for people; its JSON is its `Serialize`.
pub trait Render {
    fn render(&self, printer: Printer);
}

/// How wide the word of a resource line is: the longest, "already gone", fits.
const WORD_WIDTH: usize = 12;

/// A resource's line, as `up`, `down`, `status` and the chat checks print it: what happened (or
/// how it is), its kind and its name, in columns.
pub fn status_line(
    word: &str,
    kind: impl std::fmt::Display,
    name: impl std::fmt::Display,
) -> String {
    // An empty name leaves no trailing blanks.
    format!("  {word:<WORD_WIDTH$} {kind:<17} {name}")
        .trim_end()
        .to_owned()
}

/// A line under a resource line, below its kind.
pub fn detail_line(text: impl std::fmt::Display) -> String {
    format!("  {:WORD_WIDTH$} {text}", "")
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

/// `--verbose`'s trace of a call (AWS, Telegram): stderr, whatever the command answers.
pub fn trace(line: impl std::fmt::Display) {
    eprintln!("{line}");
}

/// The one line of an error that stopped the command (`main`).
pub fn error(e: &anyhow::Error) {
    // `{:#}` keeps the causes on the line.
    eprintln!("error: {e:#}");
}

/// Progress of `up` and `query`: a spinner naming the current step on a terminal, plain lines
/// otherwise; lines that stay go through the command's [`Printer`].
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    printer: Printer,
}

impl Progress {
    pub fn start(printer: Printer) -> Progress {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Progress { bar, printer }
    }

    /// A bar counting to `total` on a terminal (nothing otherwise): `what` then `12/340`, the
    /// rate and the time left.
    pub fn counted(printer: Printer, total: u64, what: &str) -> Progress {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
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
        });
        Progress { bar, printer }
    }

    /// How far a counted bar is.
    pub fn set_position(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    /// The step now under way.
    pub fn step(&self, what: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(what.to_owned()),
            None => eprintln!("  … {what}"),
        }
    }

    /// Something worth keeping on screen (a wait, a retry).
    pub fn note(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.println(format!("  … {line}")),
            None => eprintln!("  … {line}"),
        }
    }

    /// A line that stays (a resource done): above the spinner on a terminal, through the
    /// printer.
    pub fn line(&self, line: String) {
        self.suspend(|| self.printer.line(line));
    }

    /// Runs `f` (which prints) with the spinner out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    pub fn done(&self) {
        if let Some(bar) = &self.bar {
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
pub fn print_plan(printer: Printer, resources: &[Resource]) {
    for r in resources {
        printer.line(plan_line(r, true, None));
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
        Action::Delete => (if dry_run { "delete" } else { "deleted" }, String::new()),
        Action::Unchanged => ("unchanged", String::new()),
    };
    status_line(
        word,
        r.kind,
        format_args!("{}{details}{}", r.name, elapsed(took)),
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
    use std::io::BufRead;
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
    printer: Printer,
    bot: &Telegram,
    chats: &[i64],
) -> anyhow::Result<Vec<crate::webhook::ChatCheck>> {
    let me = bot.me().await?;
    let checks = crate::webhook::check_chats(bot, &me, chats).await?;
    for c in &checks {
        match &c.problem {
            None => printer.line(status_line("ok", "telegram chat", c.label())),
            Some(problem) => {
                printer.line(status_line("WARNING", "telegram chat", c.label()));
                printer.line(detail_line(problem));
            }
        }
    }
    Ok(checks)
}

/// One line a day: what the ETL read and wrote, or why the day failed.
pub fn print_etl(printer: Printer, summary: &etl::Summary) {
    for day in &summary.days {
        match &day.error {
            None => printer.line(format_args!(
                "{}  {} updates → {} rows{}",
                day.date,
                day.objects_read,
                day.rows_written,
                if day.objects_skipped > 0 {
                    format!(" ({} unreadable updates skipped)", day.objects_skipped)
                } else {
                    String::new()
                }
            )),
            Some(error) => printer.line(format_args!("{}  failed: {error}", day.date)),
        }
    }
    if let (Some(first), Some(last)) = (summary.remaining.first(), summary.remaining.last()) {
        printer.line(format_args!(
            "{} days not rebuilt yet ({first} to {last}): the next run takes them",
            summary.remaining.len()
        ));
    }
}

/// The local ETL's answer (`etl --local`, `local etl`): each day's line and the JSON document,
/// or that nothing was stale; an error when a day failed.
pub fn etl_answer(
    printer: Printer,
    summary: Option<etl::Summary>,
) -> anyhow::Result<crate::commands::ExitStatus> {
    let summary = summary.unwrap_or_else(|| {
        printer.note("Nothing to do: every day's Parquet is newer than its raw updates.");
        etl::Summary::default()
    });
    print_etl(printer, &summary);
    printer.json(&summary)?;
    summary.into_result()?;
    Ok(crate::commands::ExitStatus::Success)
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
