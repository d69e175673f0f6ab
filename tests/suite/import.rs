//! `tgpipe import`: a Telegram Desktop export (fixtures written in the real format's fields)
//! into a local lake and into the stack's raw bucket, then the days rebuilt and queried.

use std::path::{Path, PathBuf};

use crate::common;

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/export")
        .join(name)
}

pub(crate) fn tgpipe(args: &[&str]) -> (i32, String, String) {
    common::run(common::tgpipe(args))
}

/// Every file under `dir`, with its bytes.
/// The objects under `dir`: an in-flight file (`#` in its name) that an import stopped by an
/// error left behind is no object, as the lake's listings skip it.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    if dir.exists() {
        testkit::files(dir)
            .into_iter()
            .filter(|(name, _)| !name.contains('#'))
            .collect()
    } else {
        Vec::new()
    }
}

const CLUB: i64 = -1001234567890;

#[test]
fn an_export_imports_into_a_local_lake_once_and_reads_right() {
    let lake = tempfile::tempdir().unwrap();
    let dir = lake.path().to_str().unwrap();
    let export = fixture("result.json");
    let (code, out, err) = tgpipe(&["import", export.to_str().unwrap(), "--local", dir]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(&tgpipe::ui::status_line(
            "imported",
            "telegram chat",
            format!("{CLUB} (Data club): 12 messages over 2 days")
        )),
        "{out}"
    );
    let raw = files(&lake.path().join("raw/telegram"));
    assert_eq!(raw.len(), 12);
    assert!(
        raw.iter()
            .all(|(k, _)| k.contains("/import_-1001234567890_")),
        "{raw:?}"
    );

    // Importing again changes nothing, and knows it has nothing to store.
    let (code, out, err) = tgpipe(&["import", export.to_str().unwrap(), "--local", dir]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(files(&lake.path().join("raw/telegram")), raw);
    assert!(
        out.contains("an earlier import of this export stored all 12 messages"),
        "{out}"
    );

    let (code, json, err) = tgpipe(&[
        "query",
        "--local",
        dir,
        "--output",
        "json",
        "--sql",
        "SELECT message_id, chat_id, chat_type, user_id, user_first_name, text, caption, message_type, reply_to_message_id, edit_date, \"date\" FROM telegram ORDER BY message_id",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(rows.len(), 12, "{json}");
    let row = |id: i64| rows.iter().find(|r| r["message_id"] == id).unwrap();
    // The Bot API's id of a supergroup, whatever the export wrote.
    assert!(
        rows.iter()
            .all(|r| r["chat_id"] == CLUB && r["chat_type"] == "supergroup")
    );
    assert_eq!(row(1)["message_type"], "service");
    assert_eq!(row(2)["text"], "Bom dia! 🚀");
    assert_eq!(row(2)["user_id"], 1001);
    // Entities are concatenated; the edit and the reply come through.
    assert_eq!(row(3)["text"], "See https://example.com/q2 and 𝕏 growth");
    assert_eq!(row(3)["edit_date"], 1714554720);
    assert_eq!(row(3)["reply_to_message_id"], 2);
    // A deleted account still has its id.
    assert_eq!(row(4)["user_id"], 1003);
    assert_eq!(row(4)["user_first_name"], "Deleted Account");
    assert_eq!(
        (row(5)["message_type"].as_str(), row(5)["caption"].as_str()),
        (Some("photo"), Some("our board"))
    );
    assert_eq!(row(6)["message_type"], "sticker");
    assert_eq!(row(7)["message_type"], "poll");
    assert_eq!(row(8)["message_type"], "service");
    // Sent as the group itself: the webhook's sender, the group's anonymous administrator.
    assert_eq!(row(9)["user_id"], 1087968824);
    // date_unixtime is UTC: 23:59:59 and 00:00:01 are on two days.
    assert_eq!(row(10)["date"], 1714607999);
    assert_eq!(row(11)["message_type"], "voice");
    assert_eq!(row(12)["message_type"], "service");
    let (_, days, _) = tgpipe(&[
        "query",
        "messages_per_day",
        "--local",
        dir,
        "--format",
        "csv",
    ]);
    assert!(
        days.contains("2024-05-01,") && days.contains("2024-05-02,"),
        "{days}"
    );
}

#[test]
fn the_webhooks_copy_of_an_imported_message_wins() {
    let lake = tempfile::tempdir().unwrap();
    let dir = lake.path().to_str().unwrap();
    let export = fixture("result.json");
    let received = serde_json::json!({"update_id": 500, "message": {"message_id": 2, "date": 1714554300,
        "chat": {"id": CLUB, "type": "supergroup", "title": "Data club"},
        "from": {"id": 1001, "is_bot": false, "first_name": "Ana", "username": "ana"},
        "text": "Bom dia! 🚀"}});
    let day = lake.path().join("raw/telegram/context_date=2024-05-01");
    std::fs::create_dir_all(&day).unwrap();
    std::fs::write(day.join("500.json"), received.to_string()).unwrap();
    let (code, _, err) = tgpipe(&["import", export.to_str().unwrap(), "--local", dir]);
    assert_eq!(code, 0, "{err}");
    let (_, json, _) = tgpipe(&[
        "query",
        "--local",
        dir,
        "--output",
        "json",
        "--sql",
        "SELECT update_id, user_username FROM telegram WHERE message_id = 2",
    ]);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        rows,
        serde_json::json!([{"update_id": 500, "user_username": "ana"}])
    );
}

#[test]
fn a_whole_account_export_imports_the_chosen_group_and_bad_files_write_nothing() {
    let lake = tempfile::tempdir().unwrap();
    let dir = lake.path().to_str().unwrap();
    let account = fixture("account.json");
    let account = account.to_str().unwrap();
    // Several chats: which one must be said.
    let (code, _, err) = tgpipe(&["import", account, "--local", dir]);
    assert_eq!(code, 1);
    assert!(err.contains("holds 2 chats"), "{err}");
    // A basic group's Bot API id is minus the export's.
    let (code, out, err) = tgpipe(&["import", account, "--local", dir, "--chat-id", "-4001234"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&tgpipe::ui::status_line(
            "skipped",
            "telegram chat",
            "1002 (Bruno Reis"
        )),
        "{out}"
    );
    let raw = files(&lake.path().join("raw/telegram"));
    assert_eq!(raw.len(), 2, "{raw:?}");
    assert!(raw.iter().all(|(k, _)| k.contains("import_-4001234_")));

    // Truncated, HTML, not an export: one line, nothing written.
    let bad = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("result.json")).unwrap();
    let cases = [
        (
            "truncated.json",
            text[..text.len() / 2].to_owned(),
            "truncated",
        ),
        (
            "messages.html",
            "<!DOCTYPE html>\n<html><body>chat</body></html>".to_owned(),
            "not a Telegram Desktop JSON export",
        ),
        (
            "other.json",
            "{\"rows\": [1, 2]}".to_owned(),
            "holds no chat",
        ),
    ];
    for (name, body, expected) in cases {
        let path = bad.path().join(name);
        std::fs::write(&path, body).unwrap();
        let empty = tempfile::tempdir().unwrap();
        let (code, _, err) = tgpipe(&[
            "import",
            path.to_str().unwrap(),
            "--local",
            empty.path().to_str().unwrap(),
        ]);
        assert_eq!(code, 1, "{name}: {err}");
        assert!(err.contains(expected), "{name}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{name}: {err}");
        assert!(files(&empty.path().join("raw")).is_empty(), "{name} wrote");
    }
}

/// The import's record of how far it got (`raw/imports/{sha256}.json`), and its path.
fn checkpoint(lake: &Path) -> (PathBuf, serde_json::Value) {
    let dir = lake.join("raw/imports");
    let entry = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .next()
        .expect("a checkpoint")
        .unwrap();
    let record = serde_json::from_slice(&std::fs::read(entry.path()).unwrap()).unwrap();
    (entry.path(), record)
}

#[test]
fn an_import_cut_short_continues_where_it_stopped() {
    let lake = tempfile::tempdir().unwrap();
    let dir = lake.path().to_str().unwrap();
    let export = fixture("result.json");
    let import = |extra: &[&str]| {
        let mut args = vec!["import", export.to_str().unwrap(), "--local", dir];
        args.extend(["--output", "json", "--no-etl"]);
        args.extend(extra);
        let (code, out, err) = tgpipe(&args);
        let answer = serde_json::from_str(&out).unwrap_or(serde_json::Value::Null);
        (code, answer, err)
    };

    // The second day cannot be written (a file stands where its directory goes): the import
    // stops, says how far it got, and records it.
    let telegram = lake.path().join("raw/telegram");
    std::fs::create_dir_all(&telegram).unwrap();
    let blocker = telegram.join("context_date=2024-05-02");
    std::fs::write(&blocker, "not a directory").unwrap();
    let (code, _, err) = import(&[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("run the same import again to continue from there"),
        "{err}"
    );
    let (_, record) = checkpoint(lake.path());
    let recorded = record["stored"].as_u64().unwrap() as usize;
    assert_eq!(record["done"], false);
    let day_one = files(&telegram.join("context_date=2024-05-01")).len();
    assert!(recorded <= day_one, "{record} with {day_one} stored");

    // Run again: it continues from the record, and ends with every message stored.
    std::fs::remove_file(&blocker).unwrap();
    let (code, answer, err) = import(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(answer["already_stored"], recorded, "{answer}");
    assert_eq!(answer["stored"], 12 - recorded, "{answer}");
    assert_eq!(files(&telegram).len(), 12);
    let (path, record) = checkpoint(lake.path());
    assert_eq!(
        (record["stored"].as_u64(), record["done"].as_bool()),
        (Some(12), Some(true))
    );

    // What is skipped is what the record says was stored: with 5 recorded and nothing on disk,
    // exactly the other 7 are written.
    std::fs::remove_dir_all(&telegram).unwrap();
    let mut five = record.clone();
    five["stored"] = 5.into();
    five["done"] = false.into();
    std::fs::write(&path, five.to_string()).unwrap();
    let (code, answer, err) = import(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        (answer["already_stored"].as_u64(), answer["stored"].as_u64()),
        (Some(5), Some(7))
    );
    assert_eq!(files(&telegram).len(), 7);

    // A record of other chats or another zone is not this import's; --restart ignores any.
    let mut other = record.clone();
    other["timezone"] = "Europe/Lisbon".into();
    std::fs::write(&path, other.to_string()).unwrap();
    let (_, answer, _) = import(&[]);
    assert_eq!(
        (answer["already_stored"].as_u64(), answer["stored"].as_u64()),
        (Some(0), Some(12))
    );
    let (_, answer, _) = import(&["--restart"]);
    assert_eq!(
        (answer["already_stored"].as_u64(), answer["stored"].as_u64()),
        (Some(0), Some(12))
    );
}

#[test]
fn a_failure_in_a_large_import_stops_it_instead_of_hanging() {
    // More messages after the failure than the reader may hold in flight: the reader must be
    // told to stop, not left waiting on a full channel.
    let lake = tempfile::tempdir().unwrap();
    let dir = lake.path().to_str().unwrap();
    let messages: Vec<serde_json::Value> = (1..=600)
        .map(|i| {
            // 2024-05-01 00:00 UTC, then a message every 5 minutes: 288 a day over three days.
            let at = 1_714_521_600 + i * 300;
            serde_json::json!({"id": i, "type": "message", "date": "2024-05-01T00:00:00",
                "date_unixtime": at.to_string(), "from": "Ana", "from_id": "user1001",
                "text": format!("message {i}"), "text_entities": []})
        })
        .collect();
    let export = lake.path().join("result.json");
    // The chat's fields first, as Telegram Desktop writes them (the reader streams).
    let body = format!(
        "{{\"name\": \"Data club\", \"type\": \"private_supergroup\", \"id\": 1234567890, \"messages\": {}}}",
        serde_json::Value::from(messages)
    );
    std::fs::write(&export, body).unwrap();
    let telegram = lake.path().join("raw/telegram");
    std::fs::create_dir_all(&telegram).unwrap();
    std::fs::write(telegram.join("context_date=2024-05-02"), "not a directory").unwrap();
    let mut cmd = common::tgpipe(&["import", export.to_str().unwrap(), "--local", dir]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the import hangs after a failed write");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (code, _, err) = common::outcome(child.wait_with_output().unwrap());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("continue from there"), "{err}");
}
