//! An import with other settings (a corrected zone, a migration) than an earlier import of the
//! same export: what the earlier one filed elsewhere is removed once the new one is stored.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use bytes::Bytes;
use chrono::NaiveDate;
use futures::StreamExt;

use super::pipeline::{CONCURRENT_PUTS, Checkpoint, Resume, Source, Target};
use super::{map, read_export, to_update};

/// The objects an import of the export with `settings` made, with their days, for the chats of
/// `only` (those the new import keeps: another chat's history is not re-filed, so not removed).
/// A checkpoint of before the mapping's versions (0) stored a supergroup's inherited messages
/// under the supergroup with their shifted ids: those are its objects too.
fn objects_of(
    path: &std::path::Path,
    file: &str,
    settings: &Checkpoint,
    only: &BTreeSet<i64>,
) -> anyhow::Result<BTreeSet<(String, NaiveDate)>> {
    let tz = lake::day::parse_time_zone(&settings.timezone)?;
    let export_zone = settings
        .export_timezone
        .as_deref()
        .map(lake::day::parse_time_zone)
        .transpose()?;
    let migrated: BTreeMap<i64, i64> = settings.migrated.iter().copied().collect();
    let kept: BTreeSet<i64> = settings
        .chats
        .iter()
        .copied()
        .filter(|c| only.contains(c))
        .collect();
    let legacy = settings.mapping == 0;
    let reader = std::fs::File::open(path).with_context(|| format!("cannot open {file}"))?;
    let mut objects = BTreeSet::new();
    read_export(file, reader, &mut |chat, m| {
        if !kept.contains(&chat.id) {
            return Ok(());
        }
        let id = m.id;
        let mapped = if legacy {
            to_update(chat, &m, tz, export_zone)
                .map(|(day, _)| (lake::layout::imported_key(day, chat.id, id), day))
        } else {
            map(chat, m, tz, export_zone, &migrated).map(|(key, day, _)| (key, day))
        };
        if let Ok(object) = mapped {
            objects.insert(object);
        }
        Ok(())
    })?;
    Ok(objects)
}

/// Removes what earlier imports of the same export with other settings stored and this one did
/// not store again (a message re-filed under another day by a corrected zone, a supergroup's
/// inherited message now under its basic group), once this one is stored whole; returns the days
/// they were under, to rebuild.
pub async fn remove_superseded(
    source: &Source<'_>,
    target: &Target,
    resume: &Resume,
) -> anyhow::Result<BTreeSet<NaiveDate>> {
    if resume.superseded.is_empty() {
        return Ok(BTreeSet::new());
    }
    let (path, file, new, old) = (
        source.path.to_owned(),
        source.file.to_owned(),
        resume.checkpoint.clone(),
        resume.superseded.clone(),
    );
    let gone = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let only: BTreeSet<i64> = new.chats.iter().copied().collect();
        let kept = objects_of(&path, &file, &new, &only)?;
        let mut gone = BTreeSet::new();
        for earlier in &old {
            gone.extend(
                objects_of(&path, &file, earlier, &only)?
                    .into_iter()
                    .filter(|o| !kept.contains(o)),
            );
        }
        Ok(gone)
    })
    .await
    .context("reading the export again stopped")??;
    futures::stream::iter(gone.iter().map(|(key, _)| target.delete(key)))
        .buffer_unordered(CONCURRENT_PUTS)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let done = Checkpoint {
        stored: resume.total,
        done: true,
        supersedes: Vec::new(),
        ..resume.checkpoint.clone()
    };
    target
        .put(&resume.key, Bytes::from(serde_json::to_vec(&done)?))
        .await?;
    Ok(gone.into_iter().map(|(_, day)| day).collect())
}
