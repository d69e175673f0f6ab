//! An import with other settings (a corrected zone, a migration) than an earlier import of the
//! same export: what the earlier one filed elsewhere is removed once the new one is stored.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use bytes::Bytes;
use chrono::NaiveDate;
use futures::StreamExt;

use super::pipeline::{CONCURRENT_PUTS, Checkpoint, Resume, Source, Target};
use super::{map, read_export};

/// The objects an import of `source`'s export with `settings` makes, with their days.
fn objects_of(
    path: &std::path::Path,
    file: &str,
    settings: &Checkpoint,
) -> anyhow::Result<BTreeSet<(String, NaiveDate)>> {
    let tz = lake::day::parse_time_zone(&settings.timezone)?;
    let export_zone = settings
        .export_timezone
        .as_deref()
        .map(lake::day::parse_time_zone)
        .transpose()?;
    let migrated: BTreeMap<i64, i64> = settings.migrated.iter().copied().collect();
    let kept: BTreeSet<i64> = settings.chats.iter().copied().collect();
    let reader = std::fs::File::open(path).with_context(|| format!("cannot open {file}"))?;
    let mut objects = BTreeSet::new();
    read_export(file, reader, &mut |chat, m| {
        if kept.contains(&chat.id)
            && let Ok((key, day, _)) = map(chat, m, tz, export_zone, &migrated)
        {
            objects.insert((key, day));
        }
        Ok(())
    })?;
    Ok(objects)
}

/// Removes what an earlier import of the same export with other settings stored and this one
/// did not store again (a message re-filed under another day by a corrected zone), once this
/// one is stored whole; returns the days they were under, to rebuild.
pub async fn remove_superseded(
    source: &Source<'_>,
    target: &Target,
    resume: &Resume,
) -> anyhow::Result<BTreeSet<NaiveDate>> {
    let Some(old) = resume.superseded.clone() else {
        return Ok(BTreeSet::new());
    };
    let (path, file, new) = (
        source.path.to_owned(),
        source.file.to_owned(),
        resume.checkpoint.clone(),
    );
    let gone = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let kept = objects_of(&path, &file, &new)?;
        Ok(objects_of(&path, &file, &old)?
            .into_iter()
            .filter(|o| !kept.contains(o))
            .collect::<Vec<_>>())
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
        supersedes: None,
        ..resume.checkpoint.clone()
    };
    target
        .put(&resume.key, Bytes::from(serde_json::to_vec(&done)?))
        .await?;
    Ok(gone.into_iter().map(|(_, day)| day).collect())
}
