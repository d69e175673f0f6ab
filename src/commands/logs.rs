//! `tgpipe logs`: the functions' log lines from CloudWatch Logs (as `sam logs` does), so that
//! "what happened last night?" needs no console. The webhook secret and anything shaped like a bot
//! token are withheld from what it prints.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use clap::{Args, ValueEnum};
use serde::Serialize;

use super::ExitStatus;
use super::args::{AwsArgs, Global};
use crate::aws::{FindExt, aws_error};
use crate::connection::Ctx;
use crate::stack::Function;
use crate::ui::{Output, Printer};

/// How often `--follow` asks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);
/// How far back of the newest line each ask of `--follow` starts: CloudWatch Logs may make a line
/// searchable seconds after a newer one (each function's stream arrives on its own).
const LATE_LINES: TimeDelta = TimeDelta::seconds(30);

#[derive(Args)]
#[command(after_help = "Examples:
  tgpipe logs                          # both functions, the last hour
  tgpipe logs etl --since 2d           # what the nightly runs said
  tgpipe logs ingest --filter ERROR --follow
  tgpipe logs --output json | jq -r .message")]
pub struct LogsArgs {
    /// One function's lines (default: both, merged by time).
    #[arg(value_enum)]
    pub function: Option<Which>,
    /// How far back: a number and s, m, h or d (30m, 6h, 2d).
    #[arg(long, default_value = "1h", value_parser = parse_since)]
    pub since: TimeDelta,
    /// Keep printing new lines as they come, until Ctrl-C.
    #[arg(long)]
    pub follow: bool,
    /// Only lines that match this CloudWatch Logs filter pattern (plain words: lines holding
    /// them all; "ERROR" or "day failed").
    #[arg(long)]
    pub filter: Option<String>,
    /// `json`: one JSON object a line (function, time, stream, message).
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Which {
    Ingest,
    Etl,
}

impl From<Which> for Function {
    fn from(w: Which) -> Function {
        match w {
            Which::Ingest => Function::Ingest,
            Which::Etl => Function::Etl,
        }
    }
}

/// `30m`, `6h`, `2d`, `90s`.
pub fn parse_since(text: &str) -> Result<TimeDelta, String> {
    let bad =
        || format!("{text:?} is not a duration: write a number and s, m, h or d (30m, 6h, 2d)");
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = text.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let delta = match unit {
        "s" => TimeDelta::try_seconds(n),
        "m" => TimeDelta::try_minutes(n),
        "h" => TimeDelta::try_hours(n),
        "d" => TimeDelta::try_days(n),
        _ => None,
    };
    delta.filter(|d| *d > TimeDelta::zero()).ok_or_else(bad)
}

/// One log line.
#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    pub function: &'static str,
    pub time: DateTime<Utc>,
    pub stream: String,
    pub message: String,
    #[serde(skip)]
    id: String,
}

pub async fn run(global: &Global, args: LogsArgs) -> anyhow::Result<ExitStatus> {
    let printer = Printer::new(args.output);
    let ctx = args.aws.connect(global).await?;
    let functions: Vec<Function> = match args.function {
        Some(one) => vec![one.into()],
        None => Function::ALL.to_vec(),
    };
    let withheld = Withheld::new(&ctx).await?;
    let start = Utc::now() - args.since;
    let mut newest = start;
    // Each ask starts a while before the newest line, so that a line made searchable late is not
    // missed; the lines of that while already printed (by id) are not printed again.
    let mut printed: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut any = false;
    loop {
        let from = start.max(newest - LATE_LINES);
        let lines = read(&ctx, &functions, from, args.filter.as_deref()).await?;
        for line in lines {
            if printed.contains_key(&line.id) {
                continue;
            }
            newest = newest.max(line.time);
            printed.insert(line.id.clone(), line.time);
            any = true;
            print(printer, &withheld, line)?;
        }
        printed.retain(|_, time| *time >= newest - LATE_LINES);
        if !args.follow {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(FOLLOW_EVERY) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    if !any && !args.follow {
        printer.note(format_args!(
            "No log lines in the last {}{}.",
            args.since,
            args.filter
                .as_deref()
                .map(|f| format!(" matching {f:?}"))
                .unwrap_or_default()
        ));
    }
    Ok(ExitStatus::Success)
}

/// Each function's lines since `from` (every page), merged by time; a function without a log
/// group (it never ran, or the stack is not up) has none.
async fn read(
    ctx: &Ctx,
    functions: &[Function],
    from: DateTime<Utc>,
    filter: Option<&str>,
) -> anyhow::Result<Vec<LogLine>> {
    let each = functions.iter().map(|f| read_one(ctx, *f, from, filter));
    let mut lines: Vec<LogLine> = futures::future::try_join_all(each)
        .await?
        .into_iter()
        .flatten()
        .collect();
    lines.sort_by_key(|l| l.time);
    Ok(lines)
}

async fn read_one(
    ctx: &Ctx,
    function: Function,
    from: DateTime<Utc>,
    filter: Option<&str>,
) -> anyhow::Result<Vec<LogLine>> {
    let group = ctx.stack.log_group(function);
    let mut lines = Vec::new();
    let mut token = None;
    loop {
        let page = ctx
            .aws
            .logs
            .filter_log_events()
            .log_group_name(&group)
            .start_time(from.timestamp_millis())
            .set_filter_pattern(filter.map(str::to_owned))
            .set_next_token(token)
            .send()
            .await
            .found()
            .map_err(|e| aws_error(format!("cannot read the log group {group}"), e))?;
        let Some(page) = page else {
            return Ok(lines);
        };
        for event in page.events() {
            let time = event
                .timestamp()
                .and_then(DateTime::from_timestamp_millis)
                .context("CloudWatch Logs returned a line without a time")?;
            lines.push(LogLine {
                function: function.suffix(),
                time,
                stream: event.log_stream_name().unwrap_or_default().to_owned(),
                message: event.message().unwrap_or_default().trim_end().to_owned(),
                id: event.event_id().unwrap_or_default().to_owned(),
            });
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(lines);
        }
    }
}

fn print(printer: Printer, withheld: &Withheld, mut line: LogLine) -> anyhow::Result<()> {
    line.message = withheld.redact(&line.message);
    if printer.is_json() {
        let mut text = serde_json::to_string(&line)?;
        text.push('\n');
        printer.result(text.as_bytes())
    } else {
        printer.line(format_args!(
            "{}  {:<6}  {}",
            line.time.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            line.function,
            line.message
        ));
        Ok(())
    }
}

/// What never leaves in a printed line: the stack's webhook secrets (as the ingest function
/// holds them) and anything shaped like a bot token (see [`crate::withheld`]).
struct Withheld {
    secrets: Vec<String>,
}

impl Withheld {
    async fn new(ctx: &Ctx) -> anyhow::Result<Withheld> {
        let secrets = ctx
            .variable(Function::Ingest, lake::env::WEBHOOK_SECRET)
            .await?
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Withheld { secrets })
    }

    fn redact(&self, message: &str) -> String {
        crate::withheld::withhold_these(message, &self.secrets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_number_and_a_unit() {
        assert_eq!(parse_since("30m"), Ok(TimeDelta::minutes(30)));
        assert_eq!(parse_since("2d"), Ok(TimeDelta::days(2)));
        for bad in ["", "h", "5", "5 weeks", "0h", "-1h", "99999999999999d"] {
            let err = parse_since(bad).unwrap_err();
            assert!(err.contains("30m, 6h, 2d"), "{bad}: {err}");
        }
    }
}
