//! `tgpipe import EXPORT`: a group's history from a Telegram Desktop export into the raw lake
//! (locally or the stack's raw bucket), then the days it touched rebuilt.
//!
//! The export is read twice, as a stream: first to check all of it (a truncated or foreign file
//! writes nothing), then to store each message of a kept chat under a key that is the same on
//! every import, so importing twice changes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::bail;
use chrono::NaiveDate;
use clap::Args;
use serde::Serialize;

use super::ExitStatus;
use super::args::{AwsArgs, Global, lake, zone};
use crate::import::pipeline::{Resume, Source, check, chosen_chats, store};
use crate::import::supersede::remove_superseded;
use crate::lakes::Lake;
use crate::ui::{Output, Printer, Progress, print_etl, status_line};

#[derive(Args)]
#[command(after_help = "Examples:
  tgpipe import ~/Downloads/ChatExport_2024-05-10/result.json           # into the stack's chats
  tgpipe import result.json --local tgpipe-data --chat-id -1001234567890")]
pub struct ImportArgs {
    /// The export's result.json (Telegram Desktop: Export chat history, format JSON).
    pub export: PathBuf,
    /// Import into the lake at DIR instead of the stack's raw bucket.
    #[arg(long, value_name = "DIR")]
    pub local: Option<PathBuf>,
    /// A chat of the export to import (repeatable); default: the chats the stack keeps (with
    /// --local: the export's one chat).
    #[arg(long = "chat-id", allow_hyphen_values = true)]
    pub chat_ids: Vec<i64>,
    /// The time zone of the computer that made the export, for exports without date_unixtime
    /// (Telegram Desktop before 2021); default: the stack's zone (`--timezone` with --local).
    #[arg(long, value_name = "TZ")]
    pub export_timezone: Option<String>,
    /// The Bot API id (e.g. -4001234) of the basic group the exported supergroup was made from:
    /// its messages (exported with negative ids) go back under it. Without it, the migrations
    /// the stack has seen say.
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub migrated_from: Option<i64>,
    /// With --local: the zone days are filed by (as `local poll --timezone`), default UTC. The
    /// stack's days are filed in its own zone.
    #[arg(long, value_name = "TZ", requires = "local")]
    pub timezone: Option<String>,
    /// Only store the messages: leave the days to a later `tgpipe etl` (after several imports).
    #[arg(long)]
    pub no_etl: bool,
    /// Store every message again, even those an earlier import of this export already stored.
    #[arg(long)]
    pub restart: bool,
    /// `json`: what was stored and rebuilt, as one JSON document on stdout.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `import --output json`.
#[derive(Serialize)]
struct Imported<'a> {
    chats: &'a [ChatImport],
    /// Chats of a type the Bot API has none of (a `replies` dialog, no type): not imported.
    skipped_chats: &'a [crate::import::SkippedChat],
    /// Messages stored by this run.
    stored: usize,
    /// Messages an earlier, interrupted import of the same export had stored.
    already_stored: usize,
    /// The zone an export with local times only was read in (null when it has unix times).
    local_times_read_in: Option<String>,
    /// Each rebuilt day's summary; null when nothing was rebuilt.
    days: Option<&'a [etl::DayReport]>,
}

/// What one chat of the export came to.
#[derive(Serialize, Debug, Default, Clone)]
struct ChatImport {
    id: i64,
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    messages: usize,
    kept: bool,
    days: usize,
    /// Messages left out, by why (`unsupported`, `no_date`, `bad_date`, `before_telegram`).
    skipped: std::collections::BTreeMap<crate::import::Skip, usize>,
}

impl ChatImport {
    /// "; skipped: 2 not exported by …, 1 without a date", or nothing.
    fn skipped_text(&self) -> String {
        if self.skipped.is_empty() {
            return String::new();
        }
        let each: Vec<String> = self
            .skipped
            .iter()
            .map(|(why, n)| format!("{n} {why}"))
            .collect();
        format!("; skipped {}", each.join(", "))
    }
}

pub async fn run(global: &Global, args: ImportArgs) -> anyhow::Result<ExitStatus> {
    let printer = Printer::new(args.output);
    let file = args.export.display().to_string();
    let explicit_zone = args
        .export_timezone
        .as_deref()
        .map(lake::day::parse_time_zone)
        .transpose()?;
    let (lake, tz, kept) = destination(global, &args).await?;
    // An export with local times only is read in the stack's zone unless told otherwise; a
    // later import with the right zone re-files what differs.
    let export_zone = Some(explicit_zone.unwrap_or(tz));
    let target = lake.raw()?;
    let mut migrated: BTreeMap<i64, i64> = crate::health::migrations(&target)
        .await?
        .into_iter()
        .map(|m| (m.to, m.from))
        .collect();

    // First pass: every message must map, or nothing is written.
    let (checked, sha256) = check(&args.export, &file, tz, export_zone, &migrated)?;
    let kept = chosen_chats(&checked, kept, args.local.is_some())?;
    if explicit_zone.is_none() && checked.local_times > 0 {
        printer.line(format_args!(
            "  this export has local times only (Telegram Desktop before 2021): read in {tz}; if the computer that made it was in another zone, import it again with --export-timezone ZONE (what that files under other days is moved)"
        ));
    }
    let (checked, sha256) = if migrated_from(args.migrated_from, &checked, &kept, &mut migrated)? {
        check(&args.export, &file, tz, export_zone, &migrated)?
    } else {
        (checked, sha256)
    };
    let report = chat_report(printer, &checked, &kept);
    let days: BTreeSet<NaiveDate> = checked
        .chats
        .iter()
        .filter(|c| kept.contains(&c.chat.id))
        .flat_map(|c| c.days.iter().copied())
        .collect();
    let total: usize = report.iter().filter(|c| c.kept).map(|c| c.messages).sum();

    let source = Source {
        path: &args.export,
        file: &file,
        tz,
        export_zone,
        kept: &kept,
        migrated: &migrated,
        local_times: checked.local_times > 0,
    };
    let (stored, resume_from, refiled) =
        store_all(printer, &target, &source, &sha256, total, args.restart).await?;
    let days: BTreeSet<NaiveDate> = days.into_iter().chain(refiled).collect();
    say_stored(printer, &report, stored, days.len(), args.no_etl);
    let summary = if args.no_etl || days.is_empty() {
        None
    } else {
        lake.rebuild(
            &days,
            &|line| printer.note(format_args!("  … {line}")),
            &|batch| print_etl(printer, batch),
        )
        .await?
    };
    printer.json(&Imported {
        chats: &report,
        skipped_chats: &checked.skipped,
        local_times_read_in: (checked.local_times > 0)
            .then(|| export_zone.map(|z| z.name().to_owned()))
            .flatten(),
        stored,
        already_stored: resume_from,
        days: summary.as_ref().map(|s| s.days.as_slice()),
    })?;
    if let Some(s) = summary {
        s.into_result()?;
    }
    Ok(ExitStatus::Success)
}

/// The second pass: from where an earlier import of the same export and settings stopped, every
/// message stored, many at once; then what an earlier import with other settings filed elsewhere
/// removed. Returns the messages stored, those stored before, and the days of those removed.
async fn store_all(
    printer: Printer,
    target: &lake::Storage,
    source: &Source<'_>,
    sha256: &str,
    total: usize,
    restart: bool,
) -> anyhow::Result<(usize, usize, BTreeSet<NaiveDate>)> {
    let resume = Resume::find(target, source, sha256, total, restart).await?;
    say_resumed(printer, resume.from, total);
    let progress = Progress::counted(printer, total as u64, "storing messages");
    progress.set_position(resume.from as u64);
    let stored = store(source, target, &resume, &|n| {
        progress.set_position(n as u64)
    })
    .await?;
    progress.done();
    let refiled = remove_superseded(source, target, &resume).await?;
    if !refiled.is_empty() {
        printer.line(format_args!(
            "  removed what an earlier import of this export with other settings filed elsewhere ({} days)",
            refiled.len()
        ));
    }
    Ok((stored, resume.from, refiled))
}

/// Each kept chat's line, and what was stored and what comes next.
fn say_stored(printer: Printer, report: &[ChatImport], stored: usize, days: usize, no_etl: bool) {
    for c in report.iter().filter(|c| c.kept) {
        printer.line(status_line(
            "imported",
            "telegram chat",
            format_args!(
                "{} ({}): {} messages over {} days{}",
                c.id,
                c.name,
                c.messages,
                c.days,
                c.skipped_text()
            ),
        ));
    }
    if no_etl {
        printer.line(format_args!(
            "Stored {stored} messages over {days} days; `tgpipe etl` rebuilds them."
        ));
    } else {
        printer.line(format_args!(
            "Stored {stored} messages; rebuilding the {days} days the export touched."
        ));
    }
}

/// What each chat of the export comes to; a line for each chat left out, and how to take it.
fn chat_report(
    printer: Printer,
    checked: &crate::import::pipeline::Checked,
    kept: &BTreeSet<i64>,
) -> Vec<ChatImport> {
    let report: Vec<ChatImport> = checked
        .chats
        .iter()
        .map(|c| ChatImport {
            id: c.chat.id,
            name: c.chat.name.clone(),
            kind: c.chat.kind,
            messages: c.messages,
            kept: kept.contains(&c.chat.id),
            days: c.days.len(),
            skipped: c.skipped.clone(),
        })
        .collect();
    for c in &checked.skipped {
        printer.line(status_line(
            "skipped",
            "telegram chat",
            format_args!(
                "{} ({}, {} messages): no chat of the Bot API has this type",
                c.name,
                c.kind.as_deref().unwrap_or("no type"),
                c.messages
            ),
        ));
    }
    for c in report.iter().filter(|c| !c.kept) {
        printer.line(status_line(
            "skipped",
            "telegram chat",
            format_args!(
                "{} ({}, {} messages): not kept; --chat-id {} imports it",
                c.id, c.name, c.messages, c.id
            ),
        ));
    }
    report
}

/// `--migrated-from`: the basic group the one supergroup imported was made from, added to the
/// migrations known; whether it was given (the export is then checked again with it).
fn migrated_from(
    from: Option<i64>,
    checked: &crate::import::pipeline::Checked,
    kept: &BTreeSet<i64>,
    migrated: &mut BTreeMap<i64, i64>,
) -> anyhow::Result<bool> {
    let Some(from) = from else {
        return Ok(false);
    };
    if !(-999_999_999_999..0).contains(&from) {
        bail!(
            "--migrated-from {from} is not a basic group's id: the Bot API's ids of basic groups are negative and not -100… (those are supergroups)"
        );
    }
    let supergroups: Vec<i64> = checked
        .chats
        .iter()
        .filter(|c| kept.contains(&c.chat.id) && c.chat.kind == "supergroup")
        .map(|c| c.chat.id)
        .collect();
    match supergroups.as_slice() {
        [one] => match migrated.insert(*one, from) {
            Some(noted) if noted != from => bail!(
                "--migrated-from {from}: the stack noted that {one} was made from {noted}; leave --migrated-from out"
            ),
            _ => Ok(true),
        },
        [] => bail!(
            "--migrated-from names the group a supergroup was made from, and no supergroup is imported"
        ),
        _ => bail!(
            "--migrated-from names one group, and {} supergroups are imported: import one at a time with --chat-id",
            supergroups.len()
        ),
    }
}

/// Says where an earlier import of the same export left off, if one did.
fn say_resumed(printer: Printer, from: usize, total: usize) {
    if from == total && total > 0 {
        printer.line(format_args!(
            "  an earlier import of this export stored all {total} messages; nothing to store (--restart stores them again)"
        ));
    } else if from > 0 {
        printer.line(format_args!(
            "  continuing an earlier import of this export: {from} of {total} messages were stored"
        ));
    }
}

/// Where the messages go, in which zone their days are, and which chats are kept: a local lake
/// (`--local`, UTC unless `--timezone`), or the stack's raw bucket with its zone and chats.
async fn destination(
    global: &Global,
    args: &ImportArgs,
) -> anyhow::Result<(Lake, lake::TimeZone, Vec<i64>)> {
    let zone = zone(args.timezone.as_deref())?;
    let lake = lake(global, args.local.as_deref(), &args.aws).await?;
    let tz = lake.zone(zone).await?;
    let kept = match &lake {
        Lake::Local(_) => args.chat_ids.clone(),
        Lake::Stack(ctx) => match (args.chat_ids.is_empty(), ctx.deployed_chats().await?) {
            (false, _) => args.chat_ids.clone(),
            (true, Some(chats)) => chats,
            (true, None) => bail!(
                "stack {} is not deployed: run `tgpipe up` first, or import into a local lake with --local DIR",
                ctx.stack.name
            ),
        },
    };
    Ok((lake, tz, kept))
}
