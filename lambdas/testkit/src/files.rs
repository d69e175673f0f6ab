//! Files: the workspace, directory trees, and lakes of the project's sample updates.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The workspace root (where `.venv` and `Cargo.toml` are).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Every file under `dir`, by its `/`-separated path relative to `dir`, with its bytes, sorted
/// by path; none when `dir` does not exist (yet).
pub fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let key = path.strip_prefix(dir).expect("under dir");
                let key = key.to_string_lossy().replace('\\', "/");
                // A file written through a temporary name can be renamed between the listing and
                // the read (a test reading a lake while tgpipe writes it): it is read once renamed.
                let Ok(bytes) = std::fs::read(&path) else {
                    continue;
                };
                out.push((key, bytes));
            }
        }
    }
    out.sort();
    out
}

/// The project's sample updates (`lake::sample`), in delivery order, as Telegram sends them.
pub fn sample_updates(updates: usize, days: usize, start: &str, seed: u64) -> Vec<String> {
    lake::sample::updates(&lake::sample::Options {
        updates,
        days: days as u32,
        start: lake::layout::parse_day(start).expect("a start day like 2024-05-01"),
        seed,
    })
}

/// Writes the sample updates as a raw lake under `out` (`out/raw/telegram/context_date=D/
/// {update_id}.json`, every chat's, each under its day in UTC as the ingest Lambda files it) and
/// returns them in delivery order.
pub fn gen_lake(out: &Path, updates: usize, days: usize, start: &str, seed: u64) -> Vec<String> {
    let updates = sample_updates(updates, days, start, seed);
    write_lake(out, &updates);
    updates
}

/// Writes updates (JSON texts) as a raw lake under `out`, each under its day in UTC.
pub fn write_lake(out: &Path, updates: &[String]) {
    for update in updates {
        let value: Value = serde_json::from_str(update).expect("a sample update is JSON");
        let routing = lake::update::route(&value).expect("a sample update has an update_id");
        let day = routing
            .date
            .and_then(|d| lake::day_of(d, lake::day::parse_time_zone("UTC").expect("UTC")))
            .expect("a sample update has a date");
        let path = out
            .join("raw")
            .join(lake::layout::raw_key(day, routing.update_id));
        std::fs::create_dir_all(path.parent().expect("a key has a folder")).expect("mkdir");
        std::fs::write(&path, update).expect("write a raw object");
    }
}
