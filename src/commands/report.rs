//! `tgpipe report`: the analyses of a period (and of chosen chats), on Athena or a local lake,
//! written as one HTML page that opens anywhere with no network.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::Args;
use serde::Serialize;

use super::ExitStatus;
use super::context::{AwsArgs, connect};
use super::query::ScopeArgs;
use super::ui::{Output, Progress, human_bytes};
use crate::cli::Global;
use crate::query::Scope;
use crate::query::output::Answer;
use crate::report::{About, Report};

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
    let output = args.output.select();
    let to_stdout = args.out.as_os_str() == "-";
    if to_stdout && output == Output::Json {
        bail!(
            "--out - and --output json both write to standard output: give the page a file (-o report.html)"
        );
    }
    if to_stdout {
        super::ui::stdout_is_the_result();
    }
    let scope = args.scope.scope()?;
    let zone = args
        .timezone
        .as_deref()
        .map(lake::day::parse_time_zone)
        .transpose()?;
    let (answers, zone, source, scanned) = match &args.local {
        Some(dir) => {
            let zone = zone.unwrap_or(chrono_tz::UTC);
            let answers = on_lake(dir, &scope, zone).await?;
            (
                answers,
                zone,
                format!("the lake in {}", dir.display()),
                None,
            )
        }
        None => {
            let ctx = connect(global, &args.aws).await?;
            let zone = match zone {
                Some(zone) => zone,
                None => ctx.time_zone().await?,
            };
            let progress = Progress::start();
            let sqls = statements(&scope, zone)?;
            let outcome = crate::query::athena::run_all(&ctx.aws.athena, &ctx.stack, &sqls, &|s| {
                progress.step(s)
            })
            .await;
            progress.done();
            let done = match outcome? {
                crate::query::athena::Outcome::Finished(done) => done,
                crate::query::athena::Outcome::Cancelled(ids) => {
                    eprintln!("stopped: the queries {ids} were cancelled on Athena");
                    return Ok(ExitStatus::Interrupted);
                }
            };
            let scanned: i64 = done.iter().map(|d| d.scanned_bytes).sum();
            let answers = crate::report::ANALYSES
                .iter()
                .copied()
                .zip(done.into_iter().map(|d| d.answer))
                .collect();
            let source = format!(
                "Athena (stack {}, {} in account {})",
                ctx.stack.name, ctx.stack.region, ctx.stack.account
            );
            (answers, zone, source, Some(scanned))
        }
    };
    let about = About::now(&scope, zone, source, query_command(&args, zone));
    let report = Report::from_answers(&answers, about).map_err(|e| match e {
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
    })?;
    let page = crate::report::html::render(&report);
    if to_stdout {
        let mut out = std::io::stdout().lock();
        out.write_all(page.as_bytes())
            .and_then(|()| out.flush())
            .context("cannot write the report to standard output")?;
    } else {
        write_atomically(&args.out, page.as_bytes())?;
    }
    let title = report.title();
    let cost = scanned.map(crate::query::athena::cost_usd);
    let shown_path = if to_stdout {
        "standard output".to_owned()
    } else {
        args.out.display().to_string()
    };
    crate::say!(
        "Wrote {shown_path} ({}): {} messages of {title} from {} to {}.",
        human_bytes(page.len() as i64),
        crate::report::html::count(report.messages()),
        report.first_day,
        report.last_day
    );
    if let (Some(scanned), Some(cost)) = (scanned, cost) {
        crate::say!(
            "Athena scanned {} for it (${cost:.6}).",
            human_bytes(scanned)
        );
    }
    if !to_stdout {
        crate::say!("Open it in a browser; it needs no network.");
    }
    output.json(&Written {
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

/// The report's analyses, bound to the zone and read through the scope, in their order.
fn statements(scope: &Scope, zone: lake::day::TimeZone) -> anyhow::Result<Vec<String>> {
    crate::report::ANALYSES
        .iter()
        .map(|name| {
            let analysis = crate::query::find(name).map_err(anyhow::Error::msg)?;
            Ok(scope.apply(&crate::query::bind(analysis.sql, zone)))
        })
        .collect()
}

/// The report's answers from a local lake.
pub async fn on_lake(
    dir: &Path,
    scope: &Scope,
    zone: lake::day::TimeZone,
) -> anyhow::Result<BTreeMap<&'static str, Answer>> {
    let ctx = crate::query::local::open(dir).await?;
    let mut answers = BTreeMap::new();
    for (name, sql) in crate::report::ANALYSES
        .iter()
        .copied()
        .zip(statements(scope, zone)?)
    {
        let answer = crate::query::local::run(&ctx, &sql)
            .await
            .with_context(|| format!("the analysis {name}"))?;
        answers.insert(name, answer);
    }
    Ok(answers)
}

/// Writes the whole file or nothing: a report being rewritten is never seen half-written. The
/// page names the group's members, so it is the owner's only (0600), as local mode's files are.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(format!(".partial-{}", std::process::id()));
    let partial = PathBuf::from(partial);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(&partial)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&partial, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&partial);
        })
        .with_context(|| format!("cannot write the report to {}", path.display()))
}
