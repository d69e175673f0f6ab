//! An export into the raw store: the first pass that checks every message and hashes the file,
//! the chats chosen, the checkpoint of how far an import got, and the second pass that stores
//! the messages many at once, resuming where an interrupted import stopped.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, bail};
use bytes::Bytes;
use chrono::NaiveDate;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::{ExportChat, ImportError, Skip, SkippedChat, Unmapped, map, read_export};

/// Objects stored at once.
pub(super) const CONCURRENT_PUTS: usize = 16;

/// How far an import of one export got: the first `stored` messages of the chosen chats, in the
/// export's order, are stored. Kept in the raw store (`imports/{sha256}.json`); valid only for
/// the same chats, zones, migrations and mapping, since those decide which messages there are
/// and their keys. One made with other settings is superseded: its objects that the new import
/// does not make again are removed (a changed zone re-files messages under other days).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub export_sha256: String,
    pub chats: Vec<i64>,
    pub timezone: String,
    /// `--export-timezone`, for exports without unix times.
    #[serde(default)]
    pub export_timezone: Option<String>,
    /// Supergroup → the basic group it was made from.
    #[serde(default)]
    pub migrated: Vec<(i64, i64)>,
    /// [`MAPPING_VERSION`] of the tgpipe that made it (0: before versions were recorded).
    #[serde(default)]
    pub mapping: u32,
    pub stored: usize,
    pub done: bool,
    /// Earlier imports of the export with other settings, whose objects this one re-files: kept
    /// here until they are removed, so that an interrupted import (or the next one with yet other
    /// settings) still removes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supersedes: Vec<Checkpoint>,
}

/// The version of how messages map to objects (keys, days): a checkpoint of another cannot be
/// continued, nor its objects recomputed.
pub const MAPPING_VERSION: u32 = 3;

impl Checkpoint {
    /// Whether an import with `other`'s settings makes the same objects.
    fn same_objects(&self, other: &Checkpoint) -> bool {
        (
            &self.export_sha256,
            &self.chats,
            &self.timezone,
            &self.export_timezone,
            &self.migrated,
            self.mapping,
        ) == (
            &other.export_sha256,
            &other.chats,
            &other.timezone,
            &other.export_timezone,
            &other.migrated,
            other.mapping,
        )
    }
}

/// How often a long import records how far it got.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Where the objects go: a local lake's raw store or the stack's raw bucket, through the same
/// storage type as the ingest Lambda's.
pub type Target = lake::Storage;

/// One chat of the export as checked: its messages that map, the days they fall on, and those
/// skipped, by why.
#[derive(Debug, Clone)]
pub struct CheckedChat {
    pub chat: ExportChat,
    pub messages: usize,
    pub days: BTreeSet<NaiveDate>,
    pub skipped: BTreeMap<Skip, usize>,
}

/// The export as checked: each chat, and the chats that cannot be imported.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    pub chats: Vec<CheckedChat>,
    pub skipped: Vec<SkippedChat>,
    /// Messages dated in local time only (an export without `date_unixtime`).
    pub local_times: usize,
}

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
pub fn check(
    path: &std::path::Path,
    file: &str,
    tz: lake::TimeZone,
    export_zone: Option<lake::TimeZone>,
    migrated: &BTreeMap<i64, i64>,
) -> anyhow::Result<(Checked, String)> {
    let reader = std::fs::File::open(path).with_context(|| format!("cannot open {file}"))?;
    let mut reader = Hashing {
        inner: reader,
        sha: <sha2::Sha256 as sha2::Digest>::new(),
    };
    /// A chat's messages that map, their days, and those skipped by why.
    type Tally = (usize, BTreeSet<NaiveDate>, BTreeMap<Skip, usize>);
    let mut per_chat: BTreeMap<i64, Tally> = BTreeMap::new();
    let mut local_times = 0;
    let export = read_export(file, &mut reader, &mut |chat, m| {
        let entry = per_chat.entry(chat.id).or_default();
        let local_date = m.date_unixtime.is_none() && m.date.is_some();
        let local_edit = m.edited_unixtime.is_none() && m.edited.is_some();
        if local_date || local_edit {
            local_times += 1;
        }
        let id = m.id;
        match map(chat, m, tz, export_zone, migrated) {
            Ok((_, day, _)) => {
                entry.0 += 1;
                entry.1.insert(day);
            }
            Err(Unmapped::Skip(why)) => *entry.2.entry(why).or_default() += 1,
            Err(Unmapped::Stop(why)) => {
                return Err(ImportError::BadMessage {
                    file: file.to_owned(),
                    chat: chat.id,
                    message_id: id,
                    why,
                });
            }
        }
        Ok(())
    })?;
    // The parser stops at the root's end: what follows counts for the file's identity too.
    std::io::copy(&mut reader, &mut std::io::sink())
        .with_context(|| format!("cannot read {file}"))?;
    let sha = sha2::Digest::finalize(reader.sha);
    let hex: String = sha.iter().map(|b| format!("{b:02x}")).collect();
    let chats = export
        .chats
        .into_iter()
        .map(|chat| {
            let (messages, days, skipped) = per_chat.remove(&chat.id).unwrap_or_default();
            CheckedChat {
                chat,
                messages,
                days,
                skipped,
            }
        })
        .collect();
    Ok((
        Checked {
            chats,
            skipped: export.skipped,
            local_times,
        },
        hex,
    ))
}

/// The chats to import: those asked for (or kept), which must be in the export.
pub fn chosen_chats(
    checked: &Checked,
    asked: Vec<i64>,
    local: bool,
) -> anyhow::Result<BTreeSet<i64>> {
    if asked.is_empty() && local {
        // A one-chat export is imported whole; of a whole account's, the user says which.
        return match checked.chats.as_slice() {
            [one] => Ok(BTreeSet::from([one.chat.id])),
            _ => bail!(
                "the export holds {} chats: say which to import with --chat-id (the ids are the Bot API's, e.g. -100…)",
                checked.chats.len()
            ),
        };
    }
    let asked: BTreeSet<i64> = asked.into_iter().collect();
    if !checked.chats.iter().any(|c| asked.contains(&c.chat.id)) {
        let found: Vec<String> = checked
            .chats
            .iter()
            .map(|c| format!("{} ({})", c.chat.id, c.chat.name))
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
pub struct Source<'a> {
    pub path: &'a std::path::Path,
    pub file: &'a str,
    pub tz: lake::TimeZone,
    pub export_zone: Option<lake::TimeZone>,
    pub kept: &'a BTreeSet<i64>,
    /// Supergroup → the basic group it was made from.
    pub migrated: &'a BTreeMap<i64, i64>,
    /// Whether the export has messages in local time only (then `export_zone` decides days).
    pub local_times: bool,
}

/// Where the import records how far it got, and where it starts.
pub struct Resume {
    pub key: String,
    pub checkpoint: Checkpoint,
    /// The messages (of the chosen chats, in the export's order) already stored.
    pub from: usize,
    pub total: usize,
    /// Earlier imports of the same export with other settings (zone, migrations), whose
    /// objects this one re-files.
    pub superseded: Vec<Checkpoint>,
}

impl Source<'_> {
    /// The checkpoint an import of this source starts from.
    fn checkpoint(&self, sha256: &str) -> Checkpoint {
        Checkpoint {
            export_sha256: sha256.to_owned(),
            chats: self.kept.iter().copied().collect(),
            timezone: self.tz.name().to_owned(),
            // Only the settings that decide this export's objects: a zone for local times if it
            // has them, the migrations of the chats it imports.
            export_timezone: self
                .export_zone
                .filter(|_| self.local_times)
                .map(|z| z.name().to_owned()),
            migrated: self
                .migrated
                .iter()
                .filter(|(to, _)| self.kept.contains(to))
                .map(|(to, from)| (*to, *from))
                .collect(),
            mapping: MAPPING_VERSION,
            stored: 0,
            done: false,
            supersedes: Vec::new(),
        }
    }
}

impl Resume {
    /// Where an earlier import of the same export and settings stopped, read from `target`;
    /// from the start with `restart`, or when no earlier import matches. An earlier import of
    /// the same export with other settings is superseded.
    pub async fn find(
        target: &Target,
        source: &Source<'_>,
        sha256: &str,
        total: usize,
        restart: bool,
    ) -> anyhow::Result<Resume> {
        let key = lake::layout::import_checkpoint_key(sha256);
        let mut checkpoint = source.checkpoint(sha256);
        let earlier = match target.get_opt(&key).await? {
            Some(bytes) => serde_json::from_slice::<Checkpoint>(&bytes).ok(),
            None => None,
        };
        let (from, superseded) = match earlier {
            // The same import again (or continued): what it superseded, if not yet removed.
            Some(e) if e.same_objects(&checkpoint) => {
                (if restart { 0 } else { e.stored.min(total) }, e.supersedes)
            }
            // Another's objects, and those it had yet to remove.
            Some(mut e) if e.mapping <= MAPPING_VERSION => {
                let mut all = std::mem::take(&mut e.supersedes);
                all.push(e);
                all.retain(|c| !c.same_objects(&checkpoint));
                (0, all)
            }
            // A later tgpipe's mapping: this one cannot say which objects it made.
            Some(e) if !restart => bail!(
                "this export was imported by a newer tgpipe (its mapping {}, this one's {MAPPING_VERSION}): import it with that tgpipe, or pass --restart to store it again with this one",
                e.mapping
            ),
            _ => (0, Vec::new()),
        };
        checkpoint.supersedes = superseded.clone();
        Ok(Resume {
            key,
            checkpoint,
            from,
            total,
            superseded,
        })
    }

    async fn record(&self, target: &Target, stored: usize, done: bool) -> anyhow::Result<()> {
        let checkpoint = Checkpoint {
            stored,
            done,
            ..self.checkpoint.clone()
        };
        Ok(target
            .put(&self.key, Bytes::from(serde_json::to_vec(&checkpoint)?))
            .await?)
    }
}

/// A message to store: its index among the kept chats' messages, its key and its update.
type Object = (usize, String, Bytes);

/// Reads the export on a thread of its own (it blocks on the file), handing each message of the
/// kept chats after the first `skip` over the bounded channel as an object to store: memory stays
/// a few dozen messages whatever the export's size. Stops when the channel closes.
fn read_objects(
    source: &Source<'_>,
    skip: usize,
    tx: tokio::sync::mpsc::Sender<Object>,
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    let (path, file_name, kept_ids) = (
        source.path.to_owned(),
        source.file.to_owned(),
        source.kept.clone(),
    );
    let (tz, export_zone) = (source.tz, source.export_zone);
    let migrated = source.migrated.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let f = std::fs::File::open(&path).with_context(|| format!("cannot open {file_name}"))?;
        let mut index = 0usize;
        read_export(&file_name, f, &mut |chat, m| {
            if !kept_ids.contains(&chat.id) {
                return Ok(());
            }
            // As the check counted them: skipped messages are not among the stored.
            let (key, _, update) = match map(chat, m, tz, export_zone, &migrated) {
                Ok(mapped) => mapped,
                Err(Unmapped::Skip(_)) => return Ok(()),
                Err(Unmapped::Stop(why)) => return Err(ImportError::Stopped(why)),
            };
            index += 1;
            if index <= skip {
                return Ok(());
            }
            let body = Bytes::from(update.to_string());
            tx.blocking_send((index - 1, key, body))
                .map_err(|_| ImportError::Stopped("storing stopped".to_owned()))
        })?;
        Ok(())
    })
}

/// Stores every message of the kept chats from `resume.from` on; returns how many it stored.
/// `at` hears how many are stored, counting from the export's first.
pub async fn store(
    source: &Source<'_>,
    target: &Target,
    resume: &Resume,
    at: &dyn Fn(usize),
) -> anyhow::Result<usize> {
    if resume.from >= resume.total {
        return Ok(0);
    }
    // Recorded before the first object: an import cut short at once is still known (what it
    // stored, what it supersedes) to the next.
    if resume.from == 0 {
        resume.record(target, 0, false).await?;
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Object>(CONCURRENT_PUTS * 4);
    let reader = read_objects(source, resume.from, tx);
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    // Boxed, not pinned on the stack: dropping it must drop the channel's receiver.
    let mut puts = Box::pin(
        stream
            .map(|(index, key, body)| async move { target.put(&key, body).await.map(|()| index) })
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
        return Err(anyhow::Error::from(e).context(format!(
            "stored {stored_up_to} of {} messages; run the same import again to continue from there",
            resume.total
        )));
    }
    read?;
    resume.record(target, resume.total, true).await?;
    Ok(stored)
}
