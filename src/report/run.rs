//! Running a report's analyses on a local lake, and writing its page.

use std::collections::BTreeMap;
use std::io::Write as _;

use anyhow::Context as _;
use std::path::Path;

use super::ANALYSES;
use crate::query::athena::Outcome;
use crate::query::output::Answer;

/// The report's analyses, bound to the zone and read through the scope, in their order.
pub fn statements(
    scope: &crate::query::Scope,
    zone: lake::day::TimeZone,
) -> anyhow::Result<Vec<String>> {
    ANALYSES
        .iter()
        .map(|name| {
            let analysis = crate::query::find(name).map_err(anyhow::Error::msg)?;
            Ok(scope.apply(&crate::query::bind(analysis.sql, zone)))
        })
        .collect()
}

/// Each analysis's answer, by name.
pub type Answers = BTreeMap<&'static str, Answer>;

/// The report's answers from a lake, and what Athena scanned for them (nothing on a local
/// lake); `step` hears what is under way.
pub async fn answers(
    lake: &crate::lakes::Lake,
    scope: &crate::query::Scope,
    zone: lake::day::TimeZone,
    step: &dyn Fn(&str),
) -> anyhow::Result<Outcome<(Answers, Option<i64>)>> {
    let sqls = statements(scope, zone)?;
    Ok(match lake.run(&sqls, step).await? {
        Outcome::Cancelled(ids) => Outcome::Cancelled(ids),
        Outcome::Finished(ran) => {
            let scanned = ran.scanned_total();
            let answers = ANALYSES.iter().copied().zip(ran.answers).collect();
            Outcome::Finished((answers, scanned))
        }
    })
}

/// Writes the whole file or nothing: a report being rewritten is never seen half-written. The
/// page names the group's members, so it is the owner's only (0600), as local mode's files are.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(format!(".partial-{}", std::process::id()));
    let partial = std::path::PathBuf::from(partial);
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
