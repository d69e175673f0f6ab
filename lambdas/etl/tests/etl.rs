//! The ETL end to end: generated lakes and hand-made edge cases on a local directory, and the
//! real `bootstrap` binary on S3 (moto). Expected rows are computed here, independently of the
//! lake library, straight from the raw JSON.

use std::collections::BTreeMap;
use std::path::Path;

use arrow_array::{Array, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow_schema::DataType;
use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use etl::{Config, Request};
use lake::Storage;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value, json};

/// One expected row, computed from raw updates by this test's own reading of the README's
/// "What the ETL Lambda does".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Expected {
    chat_id: i64,
    message_id: i64,
    update_id: i64,
    user_id: Option<i64>,
    user_is_bot: Option<bool>,
    user_first_name: Option<String>,
    text: Option<String>,
    caption: Option<String>,
    date: i64,
    edit_date: Option<i64>,
    message_type: String,
    reply_to_message_id: Option<i64>,
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn expected_of(update_id: i64, m: &Value) -> Expected {
    let from = m.get("from");
    // An animation also carries a document, a venue a location: they come first.
    let kinds = [
        "text",
        "animation",
        "photo",
        "video_note",
        "video",
        "voice",
        "audio",
        "document",
        "sticker",
        "venue",
        "location",
        "contact",
        "poll",
        "dice",
    ];
    let service = [
        "new_chat_members",
        "left_chat_member",
        "pinned_message",
        "new_chat_title",
    ];
    let message_type = kinds
        .iter()
        .find(|k| m.get(**k).is_some())
        .map(|k| k.to_string())
        .unwrap_or_else(|| {
            if service.iter().any(|f| m.get(*f).is_some()) {
                "service".into()
            } else {
                "other".into()
            }
        });
    Expected {
        chat_id: m["chat"]["id"].as_i64().unwrap(),
        message_id: m["message_id"].as_i64().unwrap(),
        update_id,
        user_id: from.and_then(|f| f["id"].as_i64()),
        user_is_bot: from.and_then(|f| f["is_bot"].as_bool()),
        user_first_name: from.and_then(|f| str_of(f, "first_name")),
        text: str_of(m, "text"),
        caption: str_of(m, "caption"),
        date: m["date"].as_i64().unwrap(),
        edit_date: m.get("edit_date").and_then(Value::as_i64),
        message_type,
        reply_to_message_id: m
            .get("reply_to_message")
            .and_then(|r| r["message_id"].as_i64()),
    }
}

/// One row per (chat, message): the lowest update_id of the originals, then the latest edit's text.
fn expected_day(raw_day: &Path) -> Vec<Expected> {
    let mut originals: BTreeMap<(i64, i64), Expected> = BTreeMap::new();
    let mut edits: BTreeMap<(i64, i64), Expected> = BTreeMap::new();
    for entry in std::fs::read_dir(raw_day).unwrap() {
        let Ok(update) =
            serde_json::from_slice::<Value>(&std::fs::read(entry.unwrap().path()).unwrap())
        else {
            continue;
        };
        let Some(update_id) = update.get("update_id").and_then(Value::as_i64) else {
            continue;
        };
        for (kind, is_edit) in [
            ("message", false),
            ("channel_post", false),
            ("edited_message", true),
            ("edited_channel_post", true),
        ] {
            let Some(m) = update.get(kind) else { continue };
            let e = expected_of(update_id, m);
            let key = (e.chat_id, e.message_id);
            if is_edit {
                if edits
                    .get(&key)
                    .is_none_or(|old| (e.edit_date, e.update_id) > (old.edit_date, old.update_id))
                {
                    edits.insert(key, e);
                }
            } else if originals
                .get(&key)
                .is_none_or(|old| e.update_id < old.update_id)
            {
                originals.insert(key, e);
            }
        }
    }
    let mut rows = Vec::new();
    for (key, edit) in &edits {
        match originals.get_mut(key) {
            Some(o) => {
                o.text.clone_from(&edit.text);
                o.caption.clone_from(&edit.caption);
                o.edit_date = edit.edit_date;
            }
            None => rows.push(edit.clone()),
        }
    }
    rows.extend(originals.into_values());
    rows.sort();
    rows
}

fn read_parquet(bytes: Bytes) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(bytes)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn rows_of(batches: &[RecordBatch]) -> Vec<Expected> {
    let mut rows = Vec::new();
    for b in batches {
        let int = |name: &str| {
            b.column_by_name(name)
                .unwrap()
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .clone()
        };
        let text = |name: &str| {
            b.column_by_name(name)
                .unwrap()
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .clone()
        };
        let opt_i = |a: &Int64Array, i: usize| a.is_valid(i).then(|| a.value(i));
        let opt_s = |a: &StringArray, i: usize| a.is_valid(i).then(|| a.value(i).to_owned());
        let bots = b
            .column_by_name("user_is_bot")
            .unwrap()
            .as_any()
            .downcast_ref::<BooleanArray>()
            .unwrap();
        let (chat, mid, uid, user, date, edit, reply) = (
            int("chat_id"),
            int("message_id"),
            int("update_id"),
            int("user_id"),
            int("date"),
            int("edit_date"),
            int("reply_to_message_id"),
        );
        let (first, txt, cap, ty) = (
            text("user_first_name"),
            text("text"),
            text("caption"),
            text("message_type"),
        );
        for i in 0..b.num_rows() {
            rows.push(Expected {
                chat_id: chat.value(i),
                message_id: mid.value(i),
                update_id: uid.value(i),
                user_id: opt_i(&user, i),
                user_is_bot: bots.is_valid(i).then(|| bots.value(i)),
                user_first_name: opt_s(&first, i),
                text: opt_s(&txt, i),
                caption: opt_s(&cap, i),
                date: date.value(i),
                edit_date: opt_i(&edit, i),
                message_type: ty.value(i).to_owned(),
                reply_to_message_id: opt_i(&reply, i),
            });
        }
    }
    rows.sort();
    rows
}

struct Lake {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    config: Config,
}

impl Lake {
    fn new() -> Lake {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let config = Config {
            raw: Storage::local(root.join("raw")).unwrap(),
            enriched: Storage::local(root.join("enriched")).unwrap(),
            tz: chrono_tz::UTC,
        };
        Lake {
            _dir: dir,
            root,
            config,
        }
    }
    fn raw_day(&self, day: &str) -> std::path::PathBuf {
        self.root.join(format!("raw/telegram/context_date={day}"))
    }
    fn part(&self, day: &str) -> std::path::PathBuf {
        self.root.join(format!(
            "enriched/telegram/context_date={day}/part-00000.parquet"
        ))
    }
    fn write_raw(&self, day: &str, name: &str, body: &str) {
        std::fs::create_dir_all(self.raw_day(day)).unwrap();
        std::fs::write(self.raw_day(day).join(name), body).unwrap();
    }
    fn rows(&self, day: &str) -> Vec<Expected> {
        rows_of(&read_parquet(std::fs::read(self.part(day)).unwrap().into()))
    }
}

fn day(s: &str) -> NaiveDate {
    lake::layout::parse_day(s).unwrap()
}

fn dates(days: &[&str]) -> Request {
    Request::Dates(days.iter().map(|d| day(d)).collect())
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().into()
}

#[tokio::test]
async fn generated_lake_becomes_one_row_per_message_with_edits_applied() {
    let lake = Lake::new();
    testkit::gen_lake(&lake.root, 5000, 2, "2024-05-01", 11);
    let summary = etl::run(
        &lake.config,
        dates(&["2024-05-01", "2024-05-02"]),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(summary.days.len(), 2);
    for report in &summary.days {
        let d = report.date.to_string();
        let expected = expected_day(&lake.raw_day(&d));
        let files = std::fs::read_dir(lake.raw_day(&d)).unwrap().count();
        assert!(files > 1000, "a day of more than 1,000 objects");
        assert_eq!(report.objects_read, files);
        assert_eq!(report.objects_skipped, 0);
        assert_eq!(report.rows_written, expected.len());
        assert!(
            expected.iter().any(|e| e.edit_date.is_some()),
            "the fixture has edits"
        );
        assert!(
            expected.iter().any(|e| e.user_id.is_none()),
            "the fixture has channel posts"
        );
        assert_eq!(lake.rows(&d), expected);
    }
}

#[tokio::test]
async fn running_twice_gives_identical_output() {
    let lake = Lake::new();
    testkit::gen_lake(&lake.root, 1500, 1, "2024-05-01", 3);
    etl::run(&lake.config, dates(&["2024-05-01"]), Utc::now())
        .await
        .unwrap();
    let first = std::fs::read(lake.part("2024-05-01")).unwrap();
    etl::run(&lake.config, dates(&["2024-05-01"]), Utc::now())
        .await
        .unwrap();
    assert_eq!(std::fs::read(lake.part("2024-05-01")).unwrap(), first);
}

#[tokio::test]
async fn an_edit_arriving_after_the_day_was_processed_is_applied_by_the_next_scheduled_run() {
    let lake = Lake::new();
    let original = json!({"update_id": 1, "message": {"message_id": 10, "from": {"id": 5, "is_bot": false, "first_name": "Ana"},
        "chat": {"id": -100, "type": "group"}, "date": 1714564800, "text": "first"}});
    lake.write_raw("2024-05-01", "1.json", &original.to_string());
    lake.write_raw(
        "2024-04-30",
        "0.json",
        &json!({"update_id": 0, "message": {"message_id": 9,
        "chat": {"id": -100, "type": "group"}, "date": 1714478400, "text": "older day"}})
        .to_string(),
    );
    let scheduled = || Request::Scheduled(Some(at("2024-05-02T00:30:00Z")));
    // Objects of the very clock tick a run starts in count as stale (a rebuild too many at
    // worst): the run starts a tick later.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let summary = etl::run(&lake.config, scheduled(), Utc::now())
        .await
        .unwrap();
    let rebuilt: Vec<String> = summary.days.iter().map(|d| d.date.to_string()).collect();
    assert_eq!(rebuilt, vec!["2024-04-30", "2024-05-01"]);
    assert_eq!(lake.rows("2024-05-01")[0].text.as_deref(), Some("first"));

    // Nothing changed: nothing is stale.
    let summary = etl::run(&lake.config, scheduled(), Utc::now())
        .await
        .unwrap();
    assert!(summary.days.is_empty(), "{summary:?}");

    // Two edits arrive late, the newer one first; only their day is rebuilt, the latest wins.
    std::thread::sleep(std::time::Duration::from_millis(20));
    for (id, edit_date, text) in [(3, 1714600000, "third"), (2, 1714590000, "second")] {
        let edit = json!({"update_id": id, "edited_message": {"message_id": 10, "chat": {"id": -100, "type": "group"},
            "date": 1714564800, "edit_date": edit_date, "text": text}});
        lake.write_raw("2024-05-01", &format!("{id}.json"), &edit.to_string());
    }
    let summary = etl::run(&lake.config, scheduled(), Utc::now())
        .await
        .unwrap();
    let rebuilt: Vec<String> = summary.days.iter().map(|d| d.date.to_string()).collect();
    assert_eq!(rebuilt, vec!["2024-05-01"]);
    let rows = lake.rows("2024-05-01");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].text.as_deref(), rows[0].edit_date),
        (Some("third"), Some(1714600000))
    );
    assert_eq!(rows[0].user_first_name.as_deref(), Some("Ana"));

    // A week later the day is out of the scheduled window: no run scans the history for it...
    lake.write_raw(
        "2024-05-01",
        "4.json",
        &json!({"update_id": 4, "message": {"message_id": 11,
        "chat": {"id": -100, "type": "group"}, "date": 1714564900, "text": "late"}})
        .to_string(),
    );
    let week_later = || Request::Scheduled(Some(at("2024-05-09T00:30:00Z")));
    let summary = etl::run(&lake.config, week_later(), Utc::now())
        .await
        .unwrap();
    assert!(summary.days.is_empty(), "{summary:?}");
    // ...but the ingest side marks a day it changes late, and the next run rebuilds just that
    // day, then clears the mark.
    let mark = lake.root.join("raw/changed/context_date=2024-05-01/4");
    std::fs::create_dir_all(mark.parent().unwrap()).unwrap();
    std::fs::write(&mark, "").unwrap();
    let summary = etl::run(&lake.config, week_later(), Utc::now())
        .await
        .unwrap();
    let rebuilt: Vec<String> = summary.days.iter().map(|d| d.date.to_string()).collect();
    assert_eq!(rebuilt, vec!["2024-05-01"]);
    assert_eq!(lake.rows("2024-05-01").len(), 2);
    assert!(!mark.exists(), "the mark of a rebuilt day is cleared");
    let summary = etl::run(&lake.config, week_later(), Utc::now())
        .await
        .unwrap();
    assert!(summary.days.is_empty(), "{summary:?}");
}

#[tokio::test]
async fn an_object_stored_while_a_run_listed_makes_the_day_stale_again() {
    let lake = Lake::new();
    let msg = |id: i64, text: &str| {
        json!({"update_id": id, "message": {"message_id": id, "chat": {"id": -100, "type": "group"},
            "date": 1714564800, "text": text}})
        .to_string()
    };
    lake.write_raw("2024-05-01", "1.json", &msg(1, "first"));
    etl::run(&lake.config, dates(&["2024-05-01"]), Utc::now())
        .await
        .unwrap();
    let listing_started = etl::built(&lake.config, day("2024-05-01"))
        .await
        .unwrap()
        .expect("the day's output is recorded");
    // An update stored while the run was listing: after the listing started, before the Parquet
    // was written, and not in the listing. Its time is older than the part's.
    lake.write_raw("2024-05-01", "2.json", &msg(2, "during the run"));
    let file = std::fs::File::options()
        .write(true)
        .open(lake.raw_day("2024-05-01").join("2.json"))
        .unwrap();
    file.set_modified(listing_started.into()).unwrap();
    let part_time = std::fs::metadata(lake.part("2024-05-01"))
        .unwrap()
        .modified()
        .unwrap();
    assert!(std::time::SystemTime::from(listing_started) <= part_time);

    let summary = etl::run(
        &lake.config,
        Request::Scheduled(Some(at("2024-05-02T00:30:00Z"))),
        Utc::now(),
    )
    .await
    .unwrap();
    let rebuilt: Vec<String> = summary.days.iter().map(|d| d.date.to_string()).collect();
    assert_eq!(rebuilt, vec!["2024-05-01"]);
    assert_eq!(lake.rows("2024-05-01").len(), 2);
}

#[tokio::test]
async fn runs_never_overlap_a_live_lease_and_take_over_a_dead_one() {
    let lake = Lake::new();
    lake.write_raw(
        "2024-05-01",
        "1.json",
        &json!({"update_id": 1, "message": {"message_id": 1, "chat": {"id": -1, "type": "group"}, "date": 1714564800}})
            .to_string(),
    );
    let lease = lake.root.join("enriched/etl/lease.json");
    std::fs::create_dir_all(lease.parent().unwrap()).unwrap();
    let now = Utc::now();
    let live = json!({"taken": now.to_rfc3339(), "until": (now + chrono::TimeDelta::minutes(10)).to_rfc3339()});
    std::fs::write(&lease, live.to_string()).unwrap();
    let err = etl::run(&lake.config, dates(&["2024-05-01"]), now)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "tgpipe.etl.RunInProgress", "{err}");
    assert!(!lake.part("2024-05-01").exists(), "nothing was written");
    assert!(lease.exists(), "another run's lease is left alone");
    // Errors reach Lambda under that name, not a Rust type's.
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "tgpipe.etl.RunInProgress");

    // A lease whose run died (past its time) is taken over, and released at the end.
    let dead = json!({"taken": (now - chrono::TimeDelta::hours(2)).to_rfc3339(), "until": (now - chrono::TimeDelta::hours(1)).to_rfc3339()});
    std::fs::write(&lease, dead.to_string()).unwrap();
    etl::run(&lake.config, dates(&["2024-05-01"]), now)
        .await
        .unwrap();
    assert!(lake.part("2024-05-01").exists());
    assert!(!lease.exists(), "the lease is released");
}

#[tokio::test]
async fn unreadable_objects_are_skipped_named_and_counted() {
    let lake = Lake::new();
    testkit::gen_lake(&lake.root, 300, 1, "2024-05-01", 5);
    let expected = expected_day(&lake.raw_day("2024-05-01"));
    lake.write_raw(
        "2024-05-01",
        "999999998.json",
        "{\"update_id\": 1, \"message\": {trunc",
    );
    lake.write_raw(
        "2024-05-01",
        "999999999.json",
        "{\"message\": {\"message_id\": 1}}",
    );
    let summary = etl::run(&lake.config, dates(&["2024-05-01"]), Utc::now())
        .await
        .unwrap();
    let report = &summary.days[0];
    assert_eq!(report.objects_skipped, 2);
    assert_eq!(
        report.skipped_keys,
        vec![
            "telegram/context_date=2024-05-01/999999998.json".to_owned(),
            "telegram/context_date=2024-05-01/999999999.json".to_owned()
        ]
    );
    assert!(report.error.is_none());
    assert_eq!(lake.rows("2024-05-01"), expected);
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["days"][0]["objects_read"], 302);
    assert_eq!(json["days"][0]["objects_skipped"], 2);
    assert_eq!(json["days"][0]["rows_written"], expected.len());
}

#[tokio::test]
async fn an_empty_day_is_not_an_error_and_replaces_stale_output() {
    let lake = Lake::new();
    let stale = lake.part("2024-01-01");
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::write(&stale, b"old output").unwrap();
    let summary = etl::run(&lake.config, dates(&["2024-01-01"]), Utc::now())
        .await
        .unwrap()
        .into_result()
        .unwrap();
    let report = &summary.days[0];
    assert_eq!(
        (report.objects_read, report.rows_written, report.parts),
        (0, 0, 0)
    );
    assert!(!stale.exists());
}

#[tokio::test]
async fn parquet_has_the_contract_columns_and_other_tools_read_it() {
    let lake = Lake::new();
    testkit::gen_lake(&lake.root, 400, 1, "2024-05-01", 9);
    etl::run(&lake.config, dates(&["2024-05-01"]), Utc::now())
        .await
        .unwrap();
    let batches = read_parquet(std::fs::read(lake.part("2024-05-01")).unwrap().into());
    let schema = batches[0].schema();
    let columns: Vec<(&str, &DataType)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type()))
        .collect();
    use DataType::{Boolean as B, Int64 as I, Utf8 as S};
    assert_eq!(
        columns,
        vec![
            ("message_id", &I),
            ("user_id", &I),
            ("user_is_bot", &B),
            ("user_first_name", &S),
            ("chat_id", &I),
            ("chat_type", &S),
            ("text", &S),
            ("date", &I),
            ("update_id", &I),
            ("message_type", &S),
            ("user_last_name", &S),
            ("user_username", &S),
            ("chat_title", &S),
            ("caption", &S),
            ("reply_to_message_id", &I),
            ("edit_date", &I),
        ]
    );
    let types: std::collections::BTreeSet<String> = rows_of(&batches)
        .into_iter()
        .map(|r| r.message_type)
        .collect();
    assert!(
        types.contains("text") && types.contains("photo") && types.contains("service"),
        "{types:?}"
    );

    // pyarrow, from the test venv, reads the same file with the same row count.
    let python = testkit::workspace_root().join(".venv/bin/python");
    let out = std::process::Command::new(&python)
        .args(["-c", "import sys, pyarrow.parquet as pq; t = pq.read_table(sys.argv[1]); print(t.num_rows, t.schema.field('user_is_bot').type, t.schema.field('date').type)"])
        .arg(lake.part("2024-05-01"))
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (run the README's test command)", python.display()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{rows} bool int64")
    );
}

#[test]
fn events_are_recognised_or_refused_clearly() {
    let scheduled: Value = serde_json::from_str(
        &include_str!("fixtures/eventbridge-scheduled.json")
            .replace("TIME", "2024-05-02T00:30:00Z"),
    )
    .unwrap();
    assert_eq!(
        Request::from_event(&scheduled).unwrap(),
        Request::Scheduled(Some(at("2024-05-02T00:30:00Z")))
    );
    assert_eq!(
        Request::from_event(&json!({"dates": ["2024-05-02", "2024-05-01", "2024-05-02"]})).unwrap(),
        dates(&["2024-05-01", "2024-05-02"])
    );
    for bad in [
        json!({"dates": ["2024-13-01"]}),
        json!({"dates": "2024-05-01"}),
        json!({"hello": 1}),
        json!(null),
    ] {
        let err = Request::from_event(&bad).unwrap_err().to_string();
        assert!(err.contains("dates"), "{err}");
    }
    // The event is shown cut at 200 bytes, never inside a character (this once panicked).
    let cut = json!({"unexpected": format!("{}😀", "ü".repeat(199))});
    let err = Request::from_event(&cut).unwrap_err().to_string();
    assert!(err.contains("unexpected"), "{err}");
}

/// The real `bootstrap` against S3 (moto): a scheduled event over a day of more than 1,000
/// objects (so listing takes several pages), then a `dates` event.
#[test]
fn the_bootstrap_binary_rebuilds_days_in_s3() {
    let local = Lake::new();
    let today = Utc::now().date_naive();
    let start = today.pred_opt().unwrap().to_string();
    testkit::gen_lake(&local.root, 2400, 2, &start, 21);

    let moto = testkit::Moto::start();
    moto.create_bucket("raw");
    moto.create_bucket("enriched");
    let options = moto.s3_options();
    let opts = || options.iter().map(|(k, v)| (*k, v.as_str()));
    let raw = Storage::open_with("s3://raw", opts()).unwrap();
    let enriched = Storage::open_with("s3://enriched", opts()).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut per_day = BTreeMap::new();
    rt.block_on(async {
        let keys = local.config.raw.list_keys("telegram/").await.unwrap();
        let uploads = keys.iter().map(|key| {
            let (raw, local) = (&raw, &local.config.raw);
            async move { raw.put(key, local.get(key).await.unwrap()).await.unwrap() }
        });
        futures_join_all(uploads, 32).await;
        for key in &keys {
            *per_day
                .entry(lake::layout::day_of_key(key).unwrap())
                .or_insert(0usize) += 1;
        }
    });
    assert!(per_day.values().any(|n| *n > 1000), "{per_day:?}");

    let mut env = moto.env();
    env.extend([
        ("TGPIPE_RAW_BUCKET".to_owned(), "s3://raw".to_owned()),
        ("TGPIPE_ENRICHED_BUCKET".to_owned(), "enriched".to_owned()),
    ]);
    let scheduled: Value = serde_json::from_str(
        &include_str!("fixtures/eventbridge-scheduled.json")
            .replace("TIME", &Utc::now().to_rfc3339()),
    )
    .unwrap();
    let (answers, stdout) = testkit::invoke_bootstrap_logged(
        Path::new(env!("CARGO_BIN_EXE_etl")),
        &env,
        vec![
            scheduled,
            json!({"dates": [today.to_string()]}),
            json!({"nonsense": true}),
        ],
    );
    let testkit::Invocation::Response(summary) = &answers[0] else {
        panic!("{answers:?}")
    };
    let days = summary["days"].as_array().unwrap();
    assert_eq!(days.len(), per_day.len(), "{summary}");
    for (report, (d, n)) in days.iter().zip(&per_day) {
        assert_eq!(report["date"], d.to_string());
        assert_eq!(report["objects_read"], *n);
        let bytes = rt
            .block_on(enriched.get(&lake::layout::enriched_part_key(*d, 0)))
            .unwrap();
        let expected = expected_day(&local.raw_day(&d.to_string()));
        assert_eq!(report["rows_written"], expected.len());
        assert_eq!(rows_of(&read_parquet(bytes)), expected);
    }
    let testkit::Invocation::Response(second) = &answers[1] else {
        panic!("{answers:?}")
    };
    assert_eq!(second["days"][0]["date"], today.to_string());
    assert!(
        matches!(&answers[2], testkit::Invocation::Error(e) if e.to_string().contains("dates")),
        "{:?}",
        answers[2]
    );
    // Each run that ends leaves its figures in the log, in the embedded metric format
    // CloudWatch reads: what the stack's alarms watch.
    let metrics = testkit::metric_lines(&stdout);
    assert_eq!(metrics.len(), 2, "{stdout:?}");
    assert_eq!(
        metrics[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "tgpipe"
    );
    assert_eq!(metrics[0]["Function"], "test");
    assert_eq!(metrics[0]["DaysRebuilt"], per_day.len() as f64);
    assert_eq!(metrics[0]["DaysFailed"], 0.0);
    assert_eq!(metrics[0]["DaysRemaining"], 0.0);
    assert_eq!(metrics[0]["RunsSucceeded"], 1.0);
}

async fn futures_join_all<F: std::future::Future<Output = ()>>(
    futures: impl IntoIterator<Item = F>,
    limit: usize,
) {
    use futures::StreamExt;
    futures::stream::iter(futures)
        .buffer_unordered(limit)
        .collect::<Vec<()>>()
        .await;
}

#[tokio::test]
async fn a_backlog_of_400_unbuilt_days_drains_oldest_first_over_runs_that_run_out_of_time() {
    let lake = Lake::new();
    // 400 days of history and no Parquet at all: an ETL that failed for months, or an import
    // without its ETL. Every one is older than the scheduled run's week.
    let first = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
    let days: Vec<NaiveDate> = first.iter_days().take(400).collect();
    for (n, day) in days.iter().enumerate() {
        let date = day.and_hms_opt(12, 0, 0).unwrap().and_utc().timestamp();
        let update = json!({"update_id": n, "message": {"message_id": n, "chat": {"id": -100, "type": "group"},
            "date": date, "text": "hi"}});
        lake.write_raw(&day.to_string(), &format!("{n}.json"), &update.to_string());
    }
    let scheduled = || Request::Scheduled(Some(at("2024-06-01T00:30:00Z")));
    let run = |deadline| etl::run_until(&lake.config, scheduled(), Utc::now(), Some(deadline));
    let secs = chrono::TimeDelta::seconds;

    // Less than the minute a run keeps in hand: no day is started, all are left, none lost.
    let summary = run(Utc::now() + secs(59)).await.unwrap();
    assert!(summary.days.is_empty(), "{summary:?}");
    assert_eq!(summary.remaining, days);

    let mut rebuilt: Vec<NaiveDate> = Vec::new();
    let mut runs = 0;
    loop {
        runs += 1;
        assert!(runs <= 450, "the backlog does not drain: {rebuilt:?}");
        // 0.3 s beyond the minute a run keeps in hand: a part of the backlog (a day takes a few
        // milliseconds here).
        let deadline = Utc::now() + secs(60) + chrono::TimeDelta::milliseconds(300);
        let summary = run(deadline).await.unwrap();
        assert!(
            summary.days.iter().all(|d| d.error.is_none()),
            "{summary:?}"
        );
        // A run does the oldest days left and leaves exactly the ones after them, in order.
        let done: Vec<NaiveDate> = summary.days.iter().map(|d| d.date).collect();
        let mut all = rebuilt.clone();
        all.extend(&done);
        all.extend(&summary.remaining);
        assert_eq!(all, days, "run {runs}");
        rebuilt.extend(done);
        if summary.remaining.is_empty() {
            break;
        }
    }
    // Oldest first, each day once, none skipped; then nothing is left.
    assert_eq!(rebuilt, days);
    assert!(runs > 1, "one run did all 400 days in 0.3 s");
    for day in [days[0], days[399]] {
        assert_eq!(lake.rows(&day.to_string()).len(), 1);
    }
    let summary = etl::run(&lake.config, scheduled(), Utc::now())
        .await
        .unwrap();
    assert!(summary.days.is_empty(), "{summary:?}");
}

#[test]
fn a_day_starts_only_with_a_minute_and_twice_the_longest_day_in_hand() {
    let now = at("2024-06-01T00:00:00Z");
    let secs = chrono::TimeDelta::seconds;
    assert!(etl::time_for_a_day(now, now + secs(60), secs(0)));
    assert!(!etl::time_for_a_day(now, now + secs(59), secs(0)));
    assert!(!etl::time_for_a_day(now, now + secs(100), secs(51)));
    assert!(etl::time_for_a_day(now, now + secs(102), secs(51)));
}
