//! `tgpipe etl`: rebuild chosen days' Parquet, on the stack (by invoking the ETL function, a
//! batch of days per invocation) or in a local lake (`--local DIR`, as `tgpipe local etl`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::bail;
use chrono::NaiveDate;
use clap::Args;

use super::ExitStatus;
use super::args::{AwsArgs, Global, lake, parse_date};
use crate::lakes::Lake;
use crate::ui::{Output, Printer, Progress, print_etl};

/// The longest range one `tgpipe etl` takes: ten years of days.
const MAX_DAYS: i64 = 3660;

#[derive(Args)]
#[command(after_help = "Examples:
  tgpipe etl --date 2024-05-01                   # rebuild one day on the stack
  tgpipe etl --from 2024-04-01 --to 2024-04-30   # a month: a week of days per invocation
  tgpipe etl --local tgpipe-demo                 # every stale day of a local lake")]
#[command(group(clap::ArgGroup::new("days").args(["dates", "from"])))]
pub struct EtlArgs {
    /// Rebuild this day (YYYY-MM-DD, repeatable).
    #[arg(long = "date", value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub dates: Vec<NaiveDate>,
    /// Rebuild every day from this one to --to, both included.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date, requires = "to")]
    pub from: Option<NaiveDate>,
    /// The last day of --from's range.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date, requires = "from")]
    pub to: Option<NaiveDate>,
    /// Rebuild in the lake at DIR (DIR/raw → DIR/enriched) instead of on the stack; without
    /// days, every day whose Parquet is older than its raw updates.
    #[arg(long, value_name = "DIR")]
    pub local: Option<PathBuf>,
    /// `json`: each day's summary as JSON on stdout (as the ETL function answers).
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// The days asked for: the --date ones, or every day of --from..--to.
fn days(args: &EtlArgs) -> anyhow::Result<BTreeSet<NaiveDate>> {
    let (Some(from), Some(to)) = (args.from, args.to) else {
        return Ok(args.dates.iter().copied().collect());
    };
    if from > to {
        bail!("--from {from} is after --to {to}: give the first day, then the last");
    }
    let span = (to - from).num_days() + 1;
    if span > MAX_DAYS {
        bail!("--from {from} --to {to} is {span} days; rebuild at most {MAX_DAYS} at a time");
    }
    Ok(from.iter_days().take_while(|d| *d <= to).collect())
}

pub async fn run(global: &Global, args: EtlArgs) -> anyhow::Result<ExitStatus> {
    let printer = Printer::new(args.output);
    let days = days(&args)?;
    if days.is_empty() && args.local.is_none() {
        bail!(
            "say which days to rebuild: --date YYYY-MM-DD (repeatable) or --from D --to D (the schedule rebuilds stale days by itself)"
        );
    }
    let lake = lake(global, args.local.as_deref(), &args.aws).await?;
    if let Lake::Stack(ctx) = &lake {
        printer.note(format_args!(
            "Rebuilding {} day{} with {} ({} a run)",
            days.len(),
            if days.len() == 1 { "" } else { "s" },
            ctx.stack.function(crate::stack::Function::Etl),
            crate::stack::lambda::DAYS_PER_INVOCATION
        ));
    }
    let progress = Progress::start(printer);
    progress.step("rebuilding");
    let summary = lake
        .rebuild(&days, &|line| progress.note(line), &|batch| {
            progress.suspend(|| print_etl(printer, batch))
        })
        .await;
    progress.done();
    let summary = summary?.unwrap_or_else(|| {
        printer.note("Nothing to do: every day's Parquet is newer than its raw updates.");
        etl::Summary::default()
    });
    printer.json(&summary)?;
    summary.into_result()?;
    Ok(ExitStatus::Success)
}
