//! Exports as each Telegram Desktop version wrote them: before mid-2021 (numeric ids, local times
//! only, `edited` of 1970 for "never"), and a whole account's of today with what cannot be
//! imported (an `unsupported` message, the `replies` dialog, a chat with no type). What cannot be
//! mapped is skipped and counted, never fatal; a second import changes nothing; an edit only the
//! export knows beats the webhook's older copy.

use crate::import::{fixture, tgpipe};

fn rows(dir: &str, sql: &str) -> Vec<serde_json::Value> {
    let (code, json, err) = tgpipe(&["query", "--local", dir, "--output", "json", "--sql", sql]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&json).unwrap()
}

#[test]
fn an_export_from_2020_imports_with_its_zone_back_to_2013() {
    let lake = tempfile::tempdir().unwrap();
    let dir = lake.path().to_str().unwrap();
    let export = fixture("desktop_2020.json");
    let export = export.to_str().unwrap();
    // Local times only: read in the lake's zone (UTC here), and said.
    let (code, out, err) = tgpipe(&["import", export, "--local", dir, "--no-etl"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("local times only") && out.contains("--export-timezone"),
        "{out}"
    );
    let args = [
        "import",
        export,
        "--local",
        dir,
        "--export-timezone",
        "UTC",
        "--restart",
        "--output",
        "json",
    ];
    let (code, json, err) = tgpipe(&args);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["stored"], 4, "{report}");
    assert_eq!(report["chats"][0]["skipped"]["unsupported"], 1, "{report}");
    let (code, text, _) = tgpipe(&["import", export, "--local", dir, "--export-timezone", "UTC"]);
    assert_eq!(code, 0);
    assert!(
        text.contains("4 messages over 2 days; skipped 1 not exported by Telegram Desktop"),
        "{text}"
    );
    assert!(
        text.contains("stored all 4 messages"),
        "a second import stores nothing: {text}"
    );

    let got = rows(
        dir,
        "SELECT message_id, user_id, user_is_bot, text, message_type, reply_to_message_id, edit_date, \"date\", CAST(context_date AS VARCHAR) AS day FROM telegram ORDER BY message_id",
    );
    assert_eq!(got.len(), 4, "{got:?}");
    // Telegram's first years are in the table.
    assert_eq!(got[0]["day"], "2013-09-01");
    assert_eq!(got[0]["user_id"], 22222222);
    assert_eq!(got[0]["user_is_bot"], false);
    assert_eq!(
        got[0]["edit_date"],
        serde_json::Value::Null,
        "1970 is never"
    );
    assert_eq!(got[1]["text"], "see https://example.com");
    assert_eq!(got[1]["reply_to_message_id"], 1);
    assert_eq!(got[1]["edit_date"], 1583056800 + 300);
    assert_eq!(got[2]["message_type"], "service");
    assert_eq!(got[2]["user_id"], 22222222);
    assert_eq!(got[3]["day"], "2020-03-01");

    // The export was made in São Paulo after all: 22:30 there is 01:30 UTC the next day. The
    // import re-files it, and what it had filed under the wrong day goes: one row, one object.
    let args = [
        "import",
        export,
        "--local",
        dir,
        "--export-timezone",
        "America/Sao_Paulo",
    ];
    let (code, out, err) = tgpipe(&args);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("removed what an earlier import"), "{out}");
    let night = rows(
        dir,
        "SELECT CAST(context_date AS VARCHAR) AS day FROM telegram WHERE message_id = 5",
    );
    assert_eq!(night, [serde_json::json!({"day": "2020-03-02"})]);
    let objects = testkit::files(&lake.path().join("raw/telegram"));
    let fives: Vec<&String> = objects
        .iter()
        .map(|(k, _)| k)
        .filter(|k| k.ends_with("_5.json"))
        .collect();
    assert_eq!(fives.len(), 1, "{fives:?}");
}

#[test]
fn an_account_export_skips_what_it_cannot_import_and_its_edit_wins() {
    let lake = tempfile::tempdir().unwrap();
    let dir = lake.path().to_str().unwrap();
    const STUDY: &str = "-1002222222222";
    // The webhook's copy of message 12, before its edit (the edit came while it was down).
    let received = serde_json::json!({"update_id": 700, "message": {"message_id": 12, "date": 1767348060,
        "chat": {"id": -1002222222222i64, "type": "supergroup", "title": "Study group"},
        "from": {"id": 1001, "is_bot": false, "first_name": "Ana", "username": "ana"},
        "text": "before the edit"}});
    let day = lake.path().join("raw/telegram/context_date=2026-01-02");
    std::fs::create_dir_all(&day).unwrap();
    std::fs::write(day.join("700.json"), received.to_string()).unwrap();

    let account = fixture("account_2026.json");
    let account = account.to_str().unwrap();
    let (code, out, err) = tgpipe(&["import", account, "--local", dir, "--chat-id", STUDY]);
    assert_eq!(code, 0, "{out}\n{err}");
    for line in [
        "Replies (replies, 1 messages): no chat of the Bot API has this type",
        " (no type, 0 messages)",
        "2 messages over 1 days; skipped 1 not exported by Telegram Desktop",
    ] {
        assert!(out.contains(line), "{line}:\n{out}");
    }
    let (code, json, _) = tgpipe(&[
        "import",
        account,
        "--local",
        dir,
        "--chat-id",
        STUDY,
        "--output",
        "json",
    ]);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        report["stored"], 0,
        "a second import stores nothing: {report}"
    );
    assert_eq!(report["skipped_chats"].as_array().unwrap().len(), 2);

    let got = rows(
        dir,
        "SELECT message_id, text, edit_date, user_username FROM telegram ORDER BY message_id",
    );
    assert_eq!(got.len(), 2, "one row per message: {got:?}");
    // The edit only the export knows wins; the rest is the webhook's copy.
    assert_eq!(got[1]["text"], "edited while the webhook was down");
    assert_eq!(got[1]["edit_date"], 1767351600);
    assert_eq!(got[1]["user_username"], "ana");

    // A supergroup the account has left is in the export too (`left_chats`), and imports.
    let (code, out, err) = tgpipe(&[
        "import",
        account,
        "--local",
        dir,
        "--chat-id",
        "-1002222222223",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("(Old study group): 1 messages over 1 days"),
        "{out}"
    );
}

/// A supergroup made from a basic group: Telegram Desktop exports the group's messages inside
/// the supergroup's chat with ids shifted by −1,000,000,000. They go back under the basic group's
/// id with their real ids (as the webhook stored them then), from `--migrated-from` or the
/// migrations the stack noted; without either they are skipped and counted, never misfiled.
#[test]
fn a_supergroups_history_from_its_basic_group_is_one_row_per_message_under_the_group() {
    const GROUP: i64 = -4005005;
    const SUPER: i64 = -1003333333333;
    let export = fixture("migrated.json");
    let export = export.to_str().unwrap();

    // Nothing says which group it was: its messages are counted, not stored.
    let lake = tempfile::tempdir().unwrap();
    let dir = lake.path().to_str().unwrap();
    let (code, out, err) = tgpipe(&["import", export, "--local", dir]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("2 messages over 1 days; skipped 4 sent in the basic group"),
        "{out}"
    );

    // The webhook's copy of the group's second message, from before the migration.
    let received = serde_json::json!({"update_id": 800, "message": {"message_id": 2, "date": 1711962300,
        "chat": {"id": GROUP, "type": "group", "title": "Grown club"},
        "from": {"id": 1001, "is_bot": false, "first_name": "Ana", "username": "ana"},
        "text": "hello small group"}});
    let day = lake.path().join("raw/telegram/context_date=2024-04-01");
    std::fs::create_dir_all(&day).unwrap();
    std::fs::write(day.join("800.json"), received.to_string()).unwrap();
    let gid = GROUP.to_string();
    let (code, out, err) = tgpipe(&["import", export, "--local", dir, "--migrated-from", &gid]);
    assert_eq!(code, 0, "{out}\n{err}");
    let got = rows(
        dir,
        "SELECT chat_id, message_id, reply_to_message_id, update_id FROM telegram ORDER BY chat_id DESC, message_id",
    );
    let got: Vec<(i64, i64, Option<i64>, i64)> = got
        .iter()
        .map(|r| {
            (
                r["chat_id"].as_i64().unwrap(),
                r["message_id"].as_i64().unwrap(),
                r["reply_to_message_id"].as_i64(),
                r["update_id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (GROUP, 1, None, 0),
            (GROUP, 2, None, 800),
            (GROUP, 3, Some(2), 0),
            (GROUP, 4, None, 0),
            (SUPER, 1, None, 0),
            (SUPER, 2, Some(1), 0),
        ],
        "one row per message, under the chat it was sent in"
    );

    // The same from the migration the stack noted, without the flag.
    let noted = tempfile::tempdir().unwrap();
    let note = noted
        .path()
        .join("raw")
        .join(lake::layout::migrated_key(GROUP, SUPER));
    std::fs::create_dir_all(note.parent().unwrap()).unwrap();
    std::fs::write(&note, b"{}").unwrap();
    let ndir = noted.path().to_str().unwrap();
    let (code, _, err) = tgpipe(&["import", export, "--local", ndir]);
    assert_eq!(code, 0, "{err}");
    let n = rows(
        ndir,
        "SELECT count(*) AS n FROM telegram WHERE chat_id = -4005005",
    );
    assert_eq!(n, [serde_json::json!({"n": 4})]);
    // Another group than the stack noted is refused, not mixed in.
    let (code, _, err) = tgpipe(&[
        "import",
        export,
        "--local",
        ndir,
        "--migrated-from",
        "-1001",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("the stack noted"), "{err}");
    // A supergroup's id is no basic group's.
    let (code, _, err) = tgpipe(&[
        "import",
        export,
        "--local",
        ndir,
        "--migrated-from",
        "-1009999999999",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("not a basic group's id"), "{err}");
}

/// An import by a tgpipe before the mapping's versions filed a supergroup's inherited messages
/// under the supergroup with their shifted ids: importing again files them under the basic group
/// and removes those, so that each message is one row.
#[test]
fn an_import_by_an_earlier_tgpipe_is_refiled_not_doubled() {
    use sha2::Digest;
    const SUPER: i64 = -1003333333333;
    let export = fixture("migrated.json");
    let lake = tempfile::tempdir().unwrap();
    let dir = lake.path().to_str().unwrap();
    let raw = lake.path().join("raw");
    let sha: String = sha2::Sha256::digest(std::fs::read(&export).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // What it left: its checkpoint (no mapping version) and an object under a shifted id.
    let legacy = raw.join(lake::layout::import_checkpoint_key(&sha));
    std::fs::create_dir_all(legacy.parent().unwrap()).unwrap();
    let checkpoint = serde_json::json!({"export_sha256": sha, "chats": [SUPER], "timezone": "UTC",
        "stored": 6, "done": true});
    std::fs::write(&legacy, checkpoint.to_string()).unwrap();
    let old_key = raw
        .join("telegram/context_date=2024-04-01")
        .join(format!("import_{SUPER}_-999999998.json"));
    std::fs::create_dir_all(old_key.parent().unwrap()).unwrap();
    let old = serde_json::json!({"update_id": 0, "tgpipe_imported": true, "message": {"message_id": -999999998,
        "date": 1711962300, "chat": {"id": SUPER, "type": "supergroup", "title": "Grown club"}, "text": "hello small group"}});
    std::fs::write(&old_key, old.to_string()).unwrap();

    let (code, out, err) = tgpipe(&[
        "import",
        export.to_str().unwrap(),
        "--local",
        dir,
        "--migrated-from",
        "-4005005",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!old_key.exists(), "the shifted copy is gone: {out}");
    let got = rows(
        dir,
        "SELECT count(*) AS n FROM telegram WHERE message_id < 0",
    );
    assert_eq!(got, [serde_json::json!({"n": 0})]);
    let got = rows(dir, "SELECT count(*) AS n FROM telegram");
    assert_eq!(got, [serde_json::json!({"n": 6})]);
}

/// A checkpoint written by a newer tgpipe names objects this one cannot recompute: it stops
/// rather than overwrite it (and forget what it had yet to re-file), unless --restart.
#[test]
fn an_import_by_a_newer_tgpipe_is_not_overwritten_without_restart() {
    use sha2::Digest;
    let export = fixture("migrated.json");
    let lake = tempfile::tempdir().unwrap();
    let dir = lake.path().to_str().unwrap();
    let sha: String = sha2::Sha256::digest(std::fs::read(&export).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let key = lake
        .path()
        .join("raw")
        .join(lake::layout::import_checkpoint_key(&sha));
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    let newer = serde_json::json!({"export_sha256": sha, "chats": [-1003333333333i64],
        "timezone": "UTC", "mapping": 99, "stored": 2, "done": true});
    std::fs::write(&key, newer.to_string()).unwrap();
    let export = export.to_str().unwrap();
    let (code, _, err) = tgpipe(&["import", export, "--local", dir]);
    assert_eq!(code, 1);
    assert!(
        err.contains("newer tgpipe") && err.contains("--restart"),
        "{err}"
    );
    let (code, _, err) = tgpipe(&["import", export, "--local", dir, "--restart"]);
    assert_eq!(code, 0, "{err}");
}
