//! `tgpipe import EXPORT`: a group's history from a Telegram Desktop export into the raw lake
//! (locally or the stack's raw bucket), then the days it touched rebuilt.
//!
//! The export is read twice, as a stream: first to check all of it (a truncated or foreign file
//! writes nothing), then to store each message of a kept chat under a key that is the same on
//! every import, so importing twice changes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{Context, bail};
use bytes::Bytes;
use chrono::NaiveDate;
use clap::Args;
use futures::StreamExt;
use serde::Serialize;

use super::ExitStatus;
use super::context::{AwsArgs, connect};
use super::ui::{Output, Progress, print_etl};
use crate::cli::Global;
use crate::import::{ExportChat, ImportError, read_export, to_update};

/// Objects stored at once.
const CONCURRENT_PUTS: usize = 16;

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
    /// The time zone of the computer that made the export, for exports without date_unixtime.
    #[arg(long, value_name = "TZ")]
    pub export_timezone: Option<String>,
    /// With --local: the zone days are filed by (as `local poll --timezone`), default UTC.
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,
    /// Only store the messages: leave the days to a later `tgpipe etl` (after several imports).
    #[arg(long)]
    pub no_etl: bool,
    /// Store every message again, even those an earlier import of this export already stored.
    #[arg(long)]
    pub restart: bool,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(flatten)]
    pub aws: AwsArgs,
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
}

/// How far an import of one export got: the first `stored` messages of the chosen chats, in the
/// export's order, are stored. Kept in the raw store (`imports/{sha256}.json`); valid only for
/// the same chats and zone, since those decide which messages there are and their keys.
#[derive(Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
struct Checkpoint {
    export_sha256: String,
    chats: Vec<i64>,
    timezone: String,
    stored: usize,
    done: bool,
}

/// How often a long import records how far it got.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Where the objects go.
enum Target {
    Local(lake::Storage),
    Bucket(aws_sdk_s3::Client, String),
}

impl Target {
    /// An object's bytes, or `None` when there is none.
    async fn get(&self, key: &str) -> anyhow::Result<Option<Bytes>> {
        match self {
            Target::Local(storage) => storage
                .get_opt(key)
                .await
                .with_context(|| format!("cannot read {key}")),
            Target::Bucket(s3, bucket) => {
                match s3.get_object().bucket(bucket).key(key).send().await {
                    Ok(out) => Ok(Some(
                        out.body
                            .collect()
                            .await
                            .with_context(|| format!("cannot read s3://{bucket}/{key}"))?
                            .into_bytes(),
                    )),
                    Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
                    Err(e) => Err(crate::aws::aws_error(
                        format!("S3 GetObject {bucket}/{key}"),
                        e,
                    )),
                }
            }
        }
    }

    async fn put(&self, key: String, body: Bytes) -> anyhow::Result<()> {
        match self {
            Target::Local(storage) => storage
                .put(&key, body)
                .await
                .with_context(|| format!("cannot store {key}")),
            Target::Bucket(s3, bucket) => s3
                .put_object()
                .bucket(bucket)
                .key(&key)
                .content_type("application/json")
                .body(body.into())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| crate::aws::aws_error(format!("S3 PutObject {bucket}/{key}"), e)),
        }
    }
}

pub async fn run(global: &Global, args: ImportArgs) -> anyhow::Result<ExitStatus> {
    let output = args.output.select();
    let file = args.export.display().to_string();
    let export_zone = args
        .export_timezone
        .as_deref()
        .map(lake::day::parse_time_zone)
        .transpose()?;
    // Where, in which zone, and which chats.
    let (target, tz, kept, ctx) = match &args.local {
        Some(dir) => {
            let tz = lake::day::parse_time_zone(args.timezone.as_deref().unwrap_or("UTC"))?;
            let (raw, _) = crate::local::stores(dir)?;
            (Target::Local(raw), tz, args.chat_ids.clone(), None)
        }
        None => {
            let ctx = connect(global, &args.aws).await?;
            let tz = ctx.time_zone().await?;
            let kept = match (args.chat_ids.is_empty(), ctx.deployed_chats().await?) {
                (false, _) => args.chat_ids.clone(),
                (true, Some(chats)) => chats,
                (true, None) => bail!(
                    "stack {} is not deployed: run `tgpipe up` first, or import into a local lake with --local DIR",
                    ctx.stack.name
                ),
            };
            let target = Target::Bucket(ctx.aws.s3.clone(), ctx.stack.raw_bucket());
            (target, tz, kept, Some(ctx))
        }
    };

    // First pass: every message must map, or nothing is written.
    let (checked, sha256) = check(&args.export, &file, tz, export_zone)?;
    let kept = chosen_chats(&checked, kept, args.local.is_some())?;
    let mut report: Vec<ChatImport> = checked
        .iter()
        .map(|(c, n, days)| ChatImport {
            id: c.id,
            name: c.name.clone(),
            kind: c.kind,
            messages: *n,
            kept: kept.contains(&c.id),
            days: days.len(),
        })
        .collect();
    for c in report.iter().filter(|c| !c.kept) {
        crate::say!(
            "  skipped   chat {} ({}, {} messages): not kept; --chat-id {} imports it",
            c.id,
            c.name,
            c.messages,
            c.id
        );
    }
    let days: BTreeSet<NaiveDate> = checked
        .iter()
        .filter(|(c, _, _)| kept.contains(&c.id))
        .flat_map(|(_, _, d)| d.iter().copied())
        .collect();
    let total: usize = report.iter().filter(|c| c.kept).map(|c| c.messages).sum();

    // Where an earlier import of the same export, chats and zone stopped.
    let checkpoint_key = lake::layout::import_checkpoint_key(&sha256);
    let fresh = Checkpoint {
        export_sha256: sha256.clone(),
        chats: kept.iter().copied().collect(),
        timezone: tz.name().to_owned(),
        stored: 0,
        done: false,
    };
    let earlier =
        match target.get(&checkpoint_key).await? {
            Some(bytes) if !args.restart => serde_json::from_slice::<Checkpoint>(&bytes)
                .ok()
                .filter(|c| {
                    (&c.export_sha256, &c.chats, &c.timezone)
                        == (&fresh.export_sha256, &fresh.chats, &fresh.timezone)
                }),
            _ => None,
        };
    let resume_from = earlier.as_ref().map_or(0, |c| c.stored.min(total));
    if resume_from == total && total > 0 {
        crate::say!(
            "  an earlier import of this export stored all {total} messages; nothing to store (--restart stores them again)"
        );
    } else if resume_from > 0 {
        crate::say!(
            "  continuing an earlier import of this export: {resume_from} of {total} messages were stored"
        );
    }

    // Second pass: store, many at once.
    let progress = Progress::counted(total as u64, "storing messages");
    progress.set_position(resume_from as u64);
    let stored = store(
        Source {
            path: &args.export,
            file: &file,
            tz,
            export_zone,
            kept: &kept,
        },
        &target,
        Resume {
            key: &checkpoint_key,
            checkpoint: fresh,
            from: resume_from,
            total,
        },
        &|n| progress.set_position(n as u64),
    )
    .await?;
    progress.done();
    for c in report.iter_mut().filter(|c| c.kept) {
        crate::say!(
            "  imported  chat {} ({}): {} messages over {} days",
            c.id,
            c.name,
            c.messages,
            c.days
        );
    }
    if args.no_etl {
        crate::say!(
            "Stored {stored} messages over {} days; `tgpipe etl` rebuilds them.",
            days.len()
        );
    } else {
        crate::say!(
            "Stored {stored} messages; rebuilding the {} days the export touched.",
            days.len()
        );
    }

    // The days touched, rebuilt.
    let summary = match (&ctx, &args.local) {
        _ if args.no_etl => None,
        (_, Some(dir)) if !days.is_empty() => {
            let dates: Vec<NaiveDate> = days.iter().copied().collect();
            crate::local::etl(dir, &dates).await?
        }
        (Some(ctx), None) if !days.is_empty() => Some(
            crate::stack::lambda::run_etl(
                &ctx.aws.lambda,
                &ctx.stack,
                &days,
                &|line| eprintln!("  … {line}"),
                &|batch| print_etl(batch),
            )
            .await?,
        ),
        _ => None,
    };
    if let (Some(s), Some(_)) = (&summary, &args.local) {
        print_etl(s);
    }
    output.json(&serde_json::json!({
        "chats": report,
        "stored": stored,
        "already_stored": resume_from,
        "days": summary.as_ref().map(|s| &s.days),
    }))?;
    if let Some(s) = summary {
        s.into_result()?;
    }
    Ok(ExitStatus::Success)
}

/// Each chat of the export with its message count and the days its messages fall on.
type Checked = Vec<(ExportChat, usize, BTreeSet<NaiveDate>)>;

/// A reader that hashes what passes through it: the export's SHA-256 names its checkpoint.
struct Hashing<R> {
    inner: R,
    sha: sha2::Sha256,
}

impl<R: std::io::Read> std::io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        sha2::Digest::update(&mut self.sha, &buf[..n]);
        Ok(n)
    }
}

/// The first pass: each chat's messages and days, and the export's SHA-256 (hex).
fn check(
    path: &std::path::Path,
    file: &str,
    tz: lake::TimeZone,
    export_zone: Option<lake::TimeZone>,
) -> anyhow::Result<(Checked, String)> {
    let reader = std::fs::File::open(path).with_context(|| format!("cannot open {file}"))?;
    let mut reader = Hashing {
        inner: reader,
        sha: <sha2::Sha256 as sha2::Digest>::new(),
    };
    let mut per_chat: BTreeMap<i64, (usize, BTreeSet<NaiveDate>)> = BTreeMap::new();
    let chats = read_export(file, &mut reader, &mut |chat, m| {
        let (day, _) =
            to_update(chat, &m, tz, export_zone).map_err(|why| ImportError::BadMessage {
                file: file.to_owned(),
                chat: chat.id,
                message_id: m.id,
                why,
            })?;
        let entry = per_chat.entry(chat.id).or_default();
        entry.0 += 1;
        entry.1.insert(day);
        Ok(())
    })?;
    // The parser stops at the root's end: what follows counts for the file's identity too.
    std::io::copy(&mut reader, &mut std::io::sink())
        .with_context(|| format!("cannot read {file}"))?;
    let sha = sha2::Digest::finalize(reader.sha);
    let hex: String = sha.iter().map(|b| format!("{b:02x}")).collect();
    let checked = chats
        .into_iter()
        .map(|c| {
            let (n, days) = per_chat.remove(&c.id).unwrap_or_default();
            (c, n, days)
        })
        .collect();
    Ok((checked, hex))
}

/// The chats to import: those asked for (or kept), which must be in the export.
fn chosen_chats(checked: &Checked, asked: Vec<i64>, local: bool) -> anyhow::Result<BTreeSet<i64>> {
    if asked.is_empty() && local {
        // A one-chat export is imported whole; of a whole account's, the user says which.
        return match checked.as_slice() {
            [(chat, _, _)] => Ok(BTreeSet::from([chat.id])),
            _ => bail!(
                "the export holds {} chats: say which to import with --chat-id (the ids are the Bot API's, e.g. -100…)",
                checked.len()
            ),
        };
    }
    let asked: BTreeSet<i64> = asked.into_iter().collect();
    if !checked.iter().any(|(c, _, _)| asked.contains(&c.id)) {
        let found: Vec<String> = checked
            .iter()
            .map(|(c, _, _)| format!("{} ({})", c.id, c.name))
            .collect();
        bail!(
            "the export holds none of the chats to import ({}); it holds {}: pass --chat-id to choose",
            asked
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            found.join(", ")
        );
    }
    Ok(asked)
}

/// The export and what of it is imported.
struct Source<'a> {
    path: &'a std::path::Path,
    file: &'a str,
    tz: lake::TimeZone,
    export_zone: Option<lake::TimeZone>,
    kept: &'a BTreeSet<i64>,
}

/// Where the import records how far it got, and where it starts.
struct Resume<'a> {
    key: &'a str,
    checkpoint: Checkpoint,
    /// The messages (of the chosen chats, in the export's order) already stored.
    from: usize,
    total: usize,
}

impl Resume<'_> {
    async fn record(&self, target: &Target, stored: usize, done: bool) -> anyhow::Result<()> {
        let checkpoint = Checkpoint {
            stored,
            done,
            ..self.checkpoint.clone()
        };
        target
            .put(
                self.key.to_owned(),
                Bytes::from(serde_json::to_vec(&checkpoint)?),
            )
            .await
    }
}

/// Stores every message of the kept chats from `resume.from` on; returns how many it stored.
/// `at` hears how many are stored, counting from the export's first.
async fn store(
    source: Source<'_>,
    target: &Target,
    resume: Resume<'_>,
    at: &dyn Fn(usize),
) -> anyhow::Result<usize> {
    if resume.from >= resume.total {
        return Ok(0);
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<(usize, String, Bytes)>(CONCURRENT_PUTS * 4);
    let (path, file_name, kept_ids) = (
        source.path.to_owned(),
        source.file.to_owned(),
        source.kept.clone(),
    );
    let (tz, export_zone, skip) = (source.tz, source.export_zone, resume.from);
    // The reader blocks on the file: on its own thread, handing objects over a bounded channel
    // (memory stays a few dozen messages whatever the export's size).
    let reader = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let f = std::fs::File::open(&path).with_context(|| format!("cannot open {file_name}"))?;
        let mut index = 0usize;
        read_export(&file_name, f, &mut |chat, m| {
            if !kept_ids.contains(&chat.id) {
                return Ok(());
            }
            index += 1;
            if index <= skip {
                return Ok(());
            }
            let (day, update) =
                to_update(chat, &m, tz, export_zone).map_err(ImportError::Stopped)?;
            let key = lake::layout::imported_key(day, chat.id, m.id);
            let body = Bytes::from(update.to_string());
            tx.blocking_send((index - 1, key, body))
                .map_err(|_| ImportError::Stopped("storing stopped".to_owned()))
        })?;
        Ok(())
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    // Boxed, not pinned on the stack: dropping it must drop the channel's receiver.
    let mut puts = Box::pin(
        stream
            .map(|(index, key, body)| async move { target.put(key, body).await.map(|()| index) })
            .buffer_unordered(CONCURRENT_PUTS),
    );
    // Puts end in any order: the checkpoint is the first message not yet stored.
    let mut stored_up_to = resume.from;
    let mut ahead = BTreeSet::new();
    let mut stored = 0;
    let mut recorded = std::time::Instant::now();
    let mut failed = None;
    while let Some(put) = puts.next().await {
        match put {
            Ok(index) => {
                stored += 1;
                ahead.insert(index);
                while ahead.remove(&stored_up_to) {
                    stored_up_to += 1;
                }
                at(stored_up_to);
                if recorded.elapsed() >= CHECKPOINT_EVERY {
                    resume.record(target, stored_up_to, false).await?;
                    recorded = std::time::Instant::now();
                }
            }
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    // Dropping the puts closes the channel, which stops the reader.
    drop(puts);
    let read = reader.await.context("the export reader stopped")?;
    if let Some(e) = failed {
        // Recorded as well as it can be: the failure is what the user must see.
        let _ = resume.record(target, stored_up_to, false).await;
        return Err(e.context(format!(
            "stored {stored_up_to} of {} messages; run the same import again to continue from there",
            resume.total
        )));
    }
    read?;
    resume.record(target, resume.total, true).await?;
    Ok(stored)
}
