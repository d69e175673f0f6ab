//! `tgpipe query`: an analysis of `sql/` (or the user's SQL) on Athena, or on a local lake with
//! the embedded engine.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

use super::ExitStatus;
use super::args::{AwsArgs, Global, ScopeArgs, lake, zone};
use crate::query::athena::Outcome;
use crate::query::output::{Answer, Fit, Format};
use crate::ui::{Output, Printer, Progress, human_bytes, rows};

#[derive(Args)]
#[command(after_help = "Examples:
  tgpipe query --list
  tgpipe query messages_per_day --format csv > days.csv
  tgpipe query top_words --local tgpipe-demo --max-rows 0
  tgpipe query user_share --from 2024-05-01 --to 2024-05-31 --chat-id -1001234567890")]
#[command(group(clap::ArgGroup::new("what").required(true).args(["analysis", "file", "sql", "list"])))]
pub struct QueryArgs {
    /// An analysis by name (see --list), e.g. messages_per_day.
    #[arg(value_parser = analysis_names())]
    pub analysis: Option<String>,
    /// Run the SQL in this file.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Run this SQL.
    #[arg(long, value_name = "SQL")]
    pub sql: Option<String>,
    /// List the analyses and what each answers.
    #[arg(long)]
    pub list: bool,
    /// Query the lake in DIR (DIR/enriched/telegram/) with the embedded engine, not Athena.
    #[arg(long, value_name = "DIR")]
    pub local: Option<PathBuf>,
    /// How to print the rows (default: table on a terminal, csv otherwise; csv defuses formulas).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// `json`: the rows (or --list) as JSON, as every command's --output json; same as
    /// --format json.
    #[arg(long, value_enum, conflicts_with = "format")]
    pub output: Option<Output>,
    /// A table shows this many rows at most, the first and the last (0: all of them).
    #[arg(long, default_value_t = 40, value_name = "N")]
    pub max_rows: usize,
    /// IANA time zone of hours and weekdays (default: the stack's; UTC with --local).
    #[arg(long)]
    pub timezone: Option<String>,
    #[command(flatten)]
    pub scope: ScopeArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// The built-in analyses' names: checked when parsing, offered by the shell completions.
fn analysis_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(crate::query::ANALYSES.iter().map(|a| a.name))
}

pub async fn run(global: &Global, args: QueryArgs) -> anyhow::Result<ExitStatus> {
    // The rows are the result: stdout is theirs, whatever the format.
    let printer = Printer::new(args.output.unwrap_or(Output::Text));
    if args.list {
        list(printer)?;
        return Ok(ExitStatus::Success);
    }
    let sql = match (&args.analysis, &args.file, &args.sql) {
        (Some(name), _, _) => crate::query::find(name)
            .map_err(anyhow::Error::msg)?
            .sql
            .to_owned(),
        (_, Some(path), _) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the SQL file {}", path.display()))?,
        (_, _, Some(sql)) => sql.clone(),
        _ => bail!("say what to run: an analysis name, --file PATH, --sql \"…\" or --list"),
    };
    let sql = args.scope.scope()?.apply(&sql);
    let zone = zone(args.timezone.as_deref())?;
    let format = match (args.format, args.output) {
        (Some(format), _) => format,
        (None, Some(Output::Json)) => Format::Json,
        _ if std::io::stdout().is_terminal() => Format::Table,
        _ => Format::Csv,
    };
    let shown = Shown {
        format,
        max_rows: (args.max_rows > 0).then_some(args.max_rows),
    };
    let lake = lake(global, args.local.as_deref(), &args.aws).await?;
    let sql = crate::query::bind(&sql, lake.zone(zone).await?);
    // Timed from opening the lake to the answer in memory, as DuckDB's `.timer` would.
    let started = std::time::Instant::now();
    let progress = Progress::start(printer);
    let outcome = lake.run(&[sql], &|s| progress.step(s)).await;
    progress.done();
    let ran = match outcome? {
        Outcome::Cancelled(id) => {
            printer.note(format_args!(
                "stopped: the query {id} was cancelled on Athena"
            ));
            return Ok(ExitStatus::Interrupted);
        }
        Outcome::Finished(ran) => ran,
    };
    let took = started.elapsed();
    let answer = ran.answers.first().context("the query gave no answer")?;
    print(printer, answer, shown)?;
    match (ran.scanned_total(), ran.ids.first()) {
        (Some(scanned), Some(id)) => printer.note(format_args!(
            "{} · scanned {} · cost ${:.6} at ${}/TB (query {id})",
            rows(answer.rows.len()),
            human_bytes(scanned),
            crate::query::athena::cost_usd(scanned),
            crate::query::athena::USD_PER_TB,
        )),
        _ => printer.note(format_args!(
            "{} in {:.3} s",
            rows(answer.rows.len()),
            took.as_secs_f64()
        )),
    }
    Ok(ExitStatus::Success)
}

/// An analysis as `--list --output json` names it.
#[derive(serde::Serialize)]
struct Listed {
    name: &'static str,
    summary: &'static str,
}

fn list(printer: Printer) -> anyhow::Result<()> {
    if printer.is_json() {
        let list: Vec<Listed> = crate::query::ANALYSES
            .iter()
            .map(|a| Listed {
                name: a.name,
                summary: a.summary(),
            })
            .collect();
        return printer.json(&list);
    }
    let width = crate::query::ANALYSES
        .iter()
        .map(|a| a.name.len())
        .max()
        .unwrap_or(0);
    for a in crate::query::ANALYSES {
        printer.line(format_args!("{:<width$}  {}", a.name, a.summary()));
    }
    Ok(())
}

/// How the answer is printed: its format and, for a table, how many rows.
#[derive(Clone, Copy)]
struct Shown {
    format: Format,
    max_rows: Option<usize>,
}

fn print(printer: Printer, answer: &Answer, shown: Shown) -> anyhow::Result<()> {
    let text = match shown.format {
        // A table on a terminal fits its width; elsewhere nothing is cut but the rows.
        Format::Table => answer.table(Fit {
            width: std::io::stdout()
                .is_terminal()
                .then(|| console::Term::stdout().size_checked())
                .flatten()
                .map(|(_, columns)| usize::from(columns)),
            max_rows: shown.max_rows,
        }),
        format => answer.render(format),
    };
    printer.result(text.as_bytes())
}
