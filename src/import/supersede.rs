//! An import with other settings (a corrected zone, a migration) than an earlier import of the
//! same export: what the earlier one filed elsewhere is removed once the new one is stored.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use bytes::Bytes;
use chrono::NaiveDate;
use futures::StreamExt;

use super::pipeline::{CONCURRENT_PUTS, Checkpoint, Resume, Source, Target};
use super::{map, read_export, to_update};

/// Each message (its export chat and id) an import of the export with `settings` stored, with
/// its key and day, for the chats of `only` (those the new import keeps: another chat's history
/// is not re-filed, so not removed). A checkpoint of before the mapping's versions (0) stored a
/// supergroup's inherited messages under the supergroup with their shifted ids: those are its
/// objects too.
fn objects_of(
    path: &std::path::Path,
    file: &str,
    settings: &Checkpoint,
    only: &BTreeSet<i64>,
) -> anyhow::Result<BTreeMap<(i64, i64), (String, NaiveDate)>> {
    let zone = |name: &str| {
        lake::day::parse_time_zone(name)
            .with_context(|| format!("the checkpoint of an earlier import names the zone {name}"))
    };
    let tz = zone(&settings.timezone)?;
    let export_zone = settings.export_timezone.as_deref().map(zone).transpose()?;
    let migrated: BTreeMap<i64, i64> = settings.migrated.iter().copied().collect();
    let kept: BTreeSet<i64> = settings
        .chats
        .iter()
        .copied()
        .filter(|c| only.contains(c))
        .collect();
    let legacy = settings.mapping == 0;
    let reader = std::fs::File::open(path).with_context(|| format!("cannot open {file}"))?;
    let mut objects = BTreeMap::new();
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
            objects.insert((chat.id, id), object);
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
    let only: BTreeSet<i64> = new.chats.iter().copied().collect();
    let chats = only.clone();
    let gone = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let now = objects_of(&path, &file, &new, &chats)?;
        let kept: BTreeSet<&String> = now.values().map(|(key, _)| key).collect();
        let mut gone = BTreeSet::new();
        for earlier in &old {
            // Only a message this import filed under another key: one it cannot map now (a
            // migration no longer known) keeps what the earlier import stored.
            for (message, (key, day)) in objects_of(&path, &file, earlier, &chats)? {
                let moved = now.get(&message).is_some_and(|(k, _)| *k != key);
                if moved && !kept.contains(&key) {
                    gone.insert((key, day));
                }
            }
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
    // What earlier imports stored of chats this one does not import stays theirs to re-file.
    let rest = resume
        .superseded
        .iter()
        .map(|c| Checkpoint {
            chats: c
                .chats
                .iter()
                .copied()
                .filter(|c| !only.contains(c))
                .collect(),
            ..c.clone()
        })
        .filter(|c| !c.chats.is_empty())
        .collect();
    let done = Checkpoint {
        stored: resume.total,
        done: true,
        supersedes: rest,
        ..resume.checkpoint.clone()
    };
    target
        .put(&resume.key, Bytes::from(serde_json::to_vec(&done)?))
        .await?;
    Ok(gone.into_iter().map(|(_, day)| day).collect())
}
