//! `tgpipe report`: the analyses of a period (and of chosen chats), on Athena or a local lake,
//! written as one HTML page that opens anywhere with no network.

use std::path::PathBuf;

use anyhow::bail;
use chrono::NaiveDate;
use clap::Args;
use serde::Serialize;

use super::ExitStatus;
use super::args::{AwsArgs, Global, ScopeArgs, lake, zone};
use crate::lakes::Lake;
use crate::query::athena::Outcome;
use crate::report::{About, Answers, Report};
use crate::ui::{Output, Printer, Progress, human_bytes};

#[derive(Args)]
#[command(after_help = "Examples:
  tgpipe report --local tgpipe-demo -o demo.html
  tgpipe report --from 2024-05-01 --to 2024-05-31 -o may.html
  tgpipe report --chat-id -1001234567890 --timezone Europe/Lisbon")]
pub struct ReportArgs {
    /// Report on the lake in DIR (DIR/enriched/telegram/) with the embedded engine, not Athena.
    #[arg(long, value_name = "DIR")]
    pub local: Option<PathBuf>,
    /// Where to write the page ("-": standard output).
    #[arg(
        short = 'o',
        long = "out",
        default_value = "report.html",
        value_name = "PATH"
    )]
    pub out: PathBuf,
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// IANA time zone of hours and weekdays (default: the stack's; UTC with --local).
    #[arg(long)]
    pub timezone: Option<String>,
    /// `json`: what was written, as JSON on stdout.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// What `--output json` prints.
#[derive(Serialize)]
struct Written<'a> {
    path: String,
    bytes: usize,
    title: String,
    chats: &'a [crate::report::Chat],
    from: NaiveDate,
    to: NaiveDate,
    messages: i64,
    timezone: &'a str,
    source: &'a str,
    /// On Athena: the bytes the queries scanned, and what that cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    scanned_bytes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost_usd: Option<f64>,
}

pub async fn run(global: &Global, args: ReportArgs) -> anyhow::Result<ExitStatus> {
    let mut printer = Printer::new(args.output);
    let to_stdout = args.out.as_os_str() == "-";
    if to_stdout && printer.is_json() {
        bail!(
            "--out - and --output json both write to standard output: give the page a file (-o report.html)"
        );
    }
    if to_stdout {
        printer = printer.result_owns_stdout();
    }
    let scope = args.scope.scope()?;
    let zone = zone(args.timezone.as_deref())?;
    let lake = lake(global, args.local.as_deref(), &args.aws).await?;
    let zone = lake.zone(zone).await?;
    let Some((answers, scanned)) = answers(printer, &lake, &scope, zone).await? else {
        return Ok(ExitStatus::Interrupted);
    };
    let source = lake.source();
    let about = About::now(&scope, zone, source, query_command(&args, zone));
    let report = report_of(&answers, about, &scope)?;
    let page = crate::report::html::render(&report);
    if to_stdout {
        printer.result(page.as_bytes())?;
    } else {
        crate::report::write_atomically(&args.out, page.as_bytes())?;
    }
    let title = report.title();
    let cost = scanned.map(crate::query::athena::cost_usd);
    let shown_path = if to_stdout {
        "standard output".to_owned()
    } else {
        args.out.display().to_string()
    };
    printer.line(format_args!(
        "Wrote {shown_path} ({}): {} messages of {title} from {} to {}.",
        human_bytes(page.len() as i64),
        crate::report::html::count(report.messages()),
        report.first_day,
        report.last_day
    ));
    if let (Some(scanned), Some(cost)) = (scanned, cost) {
        printer.line(format_args!(
            "Athena scanned {} for it (${cost:.6}).",
            human_bytes(scanned)
        ));
    }
    if !to_stdout {
        printer.line("Open it in a browser; it needs no network.");
    }
    printer.json(&Written {
        path: shown_path,
        bytes: page.len(),
        title,
        chats: &report.chats,
        from: report.first_day,
        to: report.last_day,
        messages: report.messages(),
        timezone: &report.about.zone,
        source: &report.about.source,
        scanned_bytes: scanned,
        cost_usd: cost,
    })?;
    Ok(ExitStatus::Success)
}

/// Each analysis's answer and what Athena scanned for them (nothing on a local lake); `None`
/// when the user stopped the queries.
async fn answers(
    printer: Printer,
    lake: &Lake,
    scope: &crate::query::Scope,
    zone: lake::day::TimeZone,
) -> anyhow::Result<Option<(Answers, Option<i64>)>> {
    let progress = Progress::start(printer);
    let outcome = crate::report::answers(lake, scope, zone, &|s| progress.step(s)).await;
    progress.done();
    match outcome? {
        Outcome::Finished(found) => Ok(Some(found)),
        Outcome::Cancelled(ids) => {
            printer.note(format_args!(
                "stopped: the queries {ids} were cancelled on Athena"
            ));
            Ok(None)
        }
    }
}

/// The report of the answers; an empty period of chosen chats says which chats.
fn report_of(
    answers: &Answers,
    about: About,
    scope: &crate::query::Scope,
) -> anyhow::Result<Report> {
    Report::from_answers(answers, about).map_err(|e| match e {
        crate::report::ReportError::Empty(period) if !scope.chats.is_empty() => anyhow::anyhow!(
            "there are no messages {period} in chat {}: nothing to report (see `tgpipe chats` for the chats' ids)",
            scope
                .chats
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        e => e.into(),
    })
}

/// `tgpipe query NAME` with the flags that give a chart's figures (the page's footer says it).
fn query_command(args: &ReportArgs, zone: lake::day::TimeZone) -> String {
    let mut command = "tgpipe query NAME".to_owned();
    if let Some(dir) = &args.local {
        command.push_str(&format!(" --local {}", dir.display()));
    }
    if let Some(from) = args.scope.from {
        command.push_str(&format!(" --from {from}"));
    }
    if let Some(to) = args.scope.to {
        command.push_str(&format!(" --to {to}"));
    }
    for chat in &args.scope.chat_ids {
        command.push_str(&format!(" --chat-id {chat}"));
    }
    if args.timezone.is_some() || args.local.is_some() {
        command.push_str(&format!(" --timezone {}", zone.name()));
    }
    command
}
