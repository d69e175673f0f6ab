//! `tgpipe query`: an analysis of `sql/` (or the user's SQL) on Athena, or on a local lake with
//! the embedded engine.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

use super::ExitStatus;
use super::context::{AwsArgs, connect};
use super::ui::{Progress, human_bytes, rows};
use crate::cli::Global;
use crate::query::output::{Answer, Format};

#[derive(Args)]
#[command(after_help = "Examples:
  tgpipe query --list
  tgpipe query messages_per_day --format csv > days.csv
  tgpipe query top_words --local tgpipe-demo")]
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
    /// IANA time zone of hours and weekdays (default: the stack's; UTC with --local).
    #[arg(long)]
    pub timezone: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// The built-in analyses' names: checked when parsing, offered by the shell completions.
fn analysis_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(crate::query::ANALYSES.iter().map(|a| a.name))
}

pub async fn run(global: &Global, args: QueryArgs) -> anyhow::Result<ExitStatus> {
    if args.list {
        list();
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
    let zone = args
        .timezone
        .as_deref()
        .map(lake::day::parse_time_zone)
        .transpose()?;
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Csv
    });
    match &args.local {
        Some(dir) => {
            let sql = crate::query::bind(&sql, zone.unwrap_or(chrono_tz::UTC));
            // Timed from opening the lake to the answer in memory, as DuckDB's `.timer` would.
            let started = std::time::Instant::now();
            let ctx = crate::query::local::open(dir).await?;
            let answer = crate::query::local::run(&ctx, &sql).await?;
            let took = started.elapsed();
            print(&answer, format)?;
            eprintln!("{} in {:.3} s", rows(answer.rows.len()), took.as_secs_f64());
            Ok(ExitStatus::Success)
        }
        None => on_athena(global, &args, &sql, zone, format).await,
    }
}

fn list() {
    let width = crate::query::ANALYSES
        .iter()
        .map(|a| a.name.len())
        .max()
        .unwrap_or(0);
    for a in crate::query::ANALYSES {
        println!("{:<width$}  {}", a.name, a.summary());
    }
}

fn print(answer: &Answer, format: Format) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(answer.render(format).as_bytes())
        .and_then(|_| out.flush())
        .context("cannot write the results to standard output")
}

async fn on_athena(
    global: &Global,
    args: &QueryArgs,
    sql: &str,
    zone: Option<lake::day::TimeZone>,
    format: Format,
) -> anyhow::Result<ExitStatus> {
    let ctx = connect(global, &args.aws).await?;
    let zone = match zone {
        Some(zone) => zone,
        None => ctx.time_zone().await?,
    };
    let sql = crate::query::bind(sql, zone);
    let progress = Progress::start();
    let outcome =
        crate::query::athena::run(&ctx.aws.athena, &ctx.stack, &sql, &|s| progress.step(s)).await?;
    progress.done();
    match outcome {
        crate::query::athena::Outcome::Cancelled(id) => {
            eprintln!("stopped: the query {id} was cancelled on Athena");
            Ok(ExitStatus::Interrupted)
        }
        crate::query::athena::Outcome::Finished(done) => {
            print(&done.answer, format)?;
            eprintln!(
                "{} · scanned {} · cost ${:.6} at ${}/TB (query {})",
                rows(done.answer.rows.len()),
                human_bytes(done.scanned_bytes),
                crate::query::athena::cost_usd(done.scanned_bytes),
                crate::query::athena::USD_PER_TB,
                done.execution_id
            );
            Ok(ExitStatus::Success)
        }
    }
}
