//! The ingest handler end to end on API Gateway HTTP API (payload 2.0) events, against a local
//! directory, and the real `bootstrap` binary against S3 (moto).

use std::collections::BTreeSet;
use std::path::Path;

use base64::Engine;
use chrono::{DateTime, Utc};
use ingest::{Config, Outcome, handle};
use lake::Storage;
use serde_json::{Value, json};
use testkit::files;

const SECRET: &str = "s3cr3t-Token_value";
const GROUP: i64 = -1001234567890;

fn event(body: &str, secret: Option<&str>) -> Value {
    let mut e: Value =
        serde_json::from_str(include_str!("fixtures/apigw-v2-webhook.json")).unwrap();
    e["body"] = json!(body);
    e["headers"]["content-length"] = json!(body.len().to_string());
    match secret {
        Some(s) => e["headers"]["x-telegram-bot-api-secret-token"] = json!(s),
        None => {
            e["headers"]
                .as_object_mut()
                .unwrap()
                .remove("x-telegram-bot-api-secret-token");
        }
    }
    e
}

fn config(dir: &Path, tz: &str) -> Config {
    Config::new(
        Storage::local(dir).unwrap(),
        BTreeSet::from([GROUP]),
        SECRET,
        lake::day::parse_time_zone(tz).unwrap(),
    )
    .unwrap()
}

/// Arrival on the messages' own day (no mark of a late change is needed).
fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-02T12:00:00Z")
        .unwrap()
        .into()
}

/// Arrival weeks after the messages' day.
fn late_now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-06-10T12:00:00Z")
        .unwrap()
        .into()
}

// 2024-05-02T01:30:00Z
const TS: i64 = 1_714_613_400;

fn message_update(update_id: i64, chat: i64) -> String {
    // Written by hand, with spacing and escapes serde would not produce, to prove byte-for-byte storage.
    format!(
        "{{\"update_id\": {update_id},\n \"message\": {{\"message_id\": 5, \"from\": {{\"id\": 7, \"is_bot\": false, \"first_name\": \"Jos\\u00e9\"}}, \"chat\": {{\"id\": {chat}, \"type\": \"supergroup\"}}, \"date\": {TS}, \"text\": \"ol\\u00e1 \u{1F680}\"}}}}"
    )
}

#[tokio::test]
async fn stores_the_body_byte_for_byte_at_its_day() {
    let dir = tempfile::tempdir().unwrap();
    let body = message_update(900, GROUP);
    let outcome = handle(
        &config(dir.path(), "UTC"),
        event(&body, Some(SECRET)),
        now(),
    )
    .await;
    assert_eq!(outcome.response().status_code, 200);
    assert_eq!(
        outcome.response().body,
        "",
        "a 200 body would be run as a Bot API call"
    );
    assert_eq!(
        files(dir.path()),
        vec![(
            "telegram/context_date=2024-05-02/900.json".to_owned(),
            body.into_bytes()
        )]
    );
}

#[tokio::test]
async fn the_day_is_in_the_stacks_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    let body = message_update(901, GROUP);
    handle(
        &config(dir.path(), "America/Sao_Paulo"),
        event(&body, Some(SECRET)),
        now(),
    )
    .await;
    let stored = files(dir.path());
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].0, "telegram/context_date=2024-05-01/901.json");
}

#[tokio::test]
async fn an_edit_is_filed_under_the_original_messages_day_and_others_on_arrival() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "UTC");
    let edit = json!({"update_id": 77, "edited_message": {"message_id": 5, "chat": {"id": GROUP, "type": "supergroup"},
        "date": TS, "edit_date": TS + 86400 * 3, "text": "fixed"}});
    let member = json!({"update_id": 78, "callback_query": {"id": "1", "from": {"id": 1, "is_bot": false, "first_name": "A"},
        "message": {"message_id": 1, "chat": {"id": GROUP, "type": "supergroup"}, "date": 1}, "data": "x"}});
    for body in [edit, member] {
        let outcome = handle(&cfg, event(&body.to_string(), Some(SECRET)), late_now()).await;
        assert!(matches!(outcome, Outcome::Stored { .. }), "{outcome:?}");
    }
    let keys: Vec<String> = files(dir.path()).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        vec![
            // The edit changed a day weeks old: marked for the scheduled ETL.
            "changed/context_date=2024-05-02/77".to_owned(),
            "telegram/context_date=2024-05-02/77.json".to_owned(),
            "telegram/context_date=2024-06-10/78.json".to_owned(),
        ]
    );
}

#[tokio::test]
async fn base64_bodies_are_decoded_before_storing() {
    let dir = tempfile::tempdir().unwrap();
    let body = message_update(902, GROUP);
    let mut e = event(
        &base64::engine::general_purpose::STANDARD.encode(&body),
        Some(SECRET),
    );
    e["isBase64Encoded"] = json!(true);
    let outcome = handle(&config(dir.path(), "UTC"), e, now()).await;
    assert_eq!(outcome.response().status_code, 200);
    assert_eq!(files(dir.path())[0].1, body.into_bytes());
}

#[tokio::test]
async fn a_wrong_or_missing_secret_is_401_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "UTC");
    let body = message_update(903, GROUP);
    let wrong_case = SECRET.to_uppercase();
    for secret in [
        None,
        Some(""),
        Some("nope"),
        Some(&SECRET[..SECRET.len() - 1]),
        Some(wrong_case.as_str()),
    ] {
        let outcome = handle(&cfg, event(&body, secret), now()).await;
        assert_eq!(outcome.response().status_code, 401, "{secret:?}");
    }
    assert!(files(dir.path()).is_empty());
}

#[tokio::test]
async fn bodies_that_passed_the_secret_but_are_not_updates_are_200_and_quarantined() {
    // Only Telegram knows the secret: a 4xx would make it retry the body for a day, and the body
    // would be lost. It is answered 200 and kept byte for byte, out of the table's way.
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "UTC");
    let huge = format!(
        "{{\"update_id\":1,\"message\":{{\"message_id\":1,\"chat\":{{\"id\":{GROUP},\"type\":\"group\"}},\"date\":1,\"text\":\"{}\"}}}}",
        "x".repeat(1024 * 1024)
    );
    let bodies = [
        "",
        "{not json",
        "[1,2]",
        "{\"message\":{}}",
        "{\"update_id\":\"12\"}",
        "{\"update_id\":1.5}",
        &huge,
    ];
    for body in bodies {
        let outcome = handle(&cfg, event(body, Some(SECRET)), now()).await;
        assert!(
            matches!(outcome, Outcome::Quarantined { .. }),
            "{}: {outcome:?}",
            &body[..body.len().min(40)]
        );
        assert_eq!(outcome.response().status_code, 200);
        assert_eq!(outcome.response().body, "");
    }
    let mut bad64 = event("%%%", Some(SECRET));
    bad64["isBase64Encoded"] = json!(true);
    let outcome = handle(&cfg, bad64, now()).await;
    assert_eq!(outcome.response().status_code, 200, "{outcome:?}");

    let mut expected: Vec<(String, Vec<u8>)> = bodies
        .iter()
        .map(|b| b.as_bytes().to_vec())
        .chain([b"%%%".to_vec()])
        .map(|bytes| {
            use sha2::Digest;
            let hex: String = sha2::Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            (format!("quarantine/received_date=2024-05-02/{hex}"), bytes)
        })
        .collect();
    expected.sort();
    assert_eq!(files(dir.path()), expected);

    // Not an HTTP call at all (it did not come through the API): refused, nothing kept.
    let outcome = handle(&cfg, json!("not an event"), now()).await;
    assert_eq!(outcome.response().status_code, 400);
    assert_eq!(files(dir.path()).len(), expected.len());
}

#[tokio::test]
async fn during_a_rotation_both_secrets_pass_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::new(
        Storage::local(dir.path()).unwrap(),
        BTreeSet::from([GROUP]),
        "new-secret,old-secret",
        chrono_tz::UTC,
    )
    .unwrap();
    for (secret, status) in [
        ("new-secret", 200),
        ("old-secret", 200),
        ("new-secret,old-secret", 401),
        (SECRET, 401),
    ] {
        let outcome = handle(&cfg, event(&message_update(7, GROUP), Some(secret)), now()).await;
        assert_eq!(outcome.response().status_code, status, "{secret}");
    }
}

#[tokio::test]
async fn an_old_day_changed_late_is_marked_for_the_scheduled_etl() {
    // Arrival 2024-06-10; the message is of 2024-05-02, long out of the ETL's weekly window.
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "UTC");
    let edit = json!({"update_id": 950, "edited_message": {"message_id": 5, "chat": {"id": GROUP, "type": "supergroup"},
        "date": TS, "edit_date": TS + 86400 * 39, "text": "fixed"}});
    handle(&cfg, event(&edit.to_string(), Some(SECRET)), late_now()).await;
    // Yesterday's and today's updates need no mark: the scheduled run looks at the last week.
    let yesterday = json!({"update_id": 951, "message": {"message_id": 6, "chat": {"id": GROUP, "type": "supergroup"},
        "date": 1_717_930_000, "text": "late but recent"}});
    handle(
        &cfg,
        event(&yesterday.to_string(), Some(SECRET)),
        late_now(),
    )
    .await;
    let keys: Vec<String> = files(dir.path()).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        vec![
            "changed/context_date=2024-05-02/950",
            "telegram/context_date=2024-05-02/950.json",
            "telegram/context_date=2024-06-09/951.json",
        ]
    );
}

#[tokio::test]
async fn a_kept_group_that_becomes_a_supergroup_is_kept_under_its_new_id() {
    const OLD: i64 = -4001;
    const NEW: i64 = -1004001;
    const STRANGER: i64 = -5001;
    let msg = |id: i64, chat: i64, extra: Value| {
        let mut m =
            json!({"message_id": id, "chat": {"id": chat, "type": "supergroup"}, "date": TS});
        for (k, v) in extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        json!({"update_id": id, "message": m}).to_string()
    };
    let cfg_for = |dir: &Path| {
        Config::new(
            Storage::local(dir).unwrap(),
            BTreeSet::from([OLD]),
            SECRET,
            chrono_tz::UTC,
        )
        .unwrap()
    };
    let status = |o: &Outcome| matches!(o, Outcome::Stored { .. });

    // Whichever side arrives first: the new chat's first message...
    for first_from_new_side in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let instance_a = cfg_for(dir.path());
        let first = if first_from_new_side {
            msg(1, NEW, json!({"migrate_from_chat_id": OLD}))
        } else {
            msg(1, OLD, json!({"migrate_to_chat_id": NEW}))
        };
        let o = handle(&instance_a, event(&first, Some(SECRET)), now()).await;
        assert!(status(&o), "{o:?}");
        // ...then a message in the new chat, on another instance (a cold start): kept.
        let instance_b = cfg_for(dir.path());
        let o = handle(
            &instance_b,
            event(&msg(2, NEW, json!({"text": "hi"})), Some(SECRET)),
            now(),
        )
        .await;
        assert!(status(&o), "{first_from_new_side}: {o:?}");
        let keys: Vec<String> = files(dir.path()).into_iter().map(|(k, _)| k).collect();
        assert!(
            keys.contains(&format!("chats/migrated/{NEW}/from={OLD}")),
            "{keys:?}"
        );
        assert!(keys.contains(&"telegram/context_date=2024-05-02/2.json".to_owned()));
    }

    // A chat that claims to come from a chat we do not keep is not followed.
    let dir = tempfile::tempdir().unwrap();
    let cfg = cfg_for(dir.path());
    let o = handle(
        &cfg,
        event(
            &msg(3, NEW, json!({"migrate_from_chat_id": STRANGER})),
            Some(SECRET),
        ),
        now(),
    )
    .await;
    assert!(matches!(o, Outcome::Ignored { .. }), "{o:?}");
    let o = handle(
        &cfg,
        event(&msg(4, NEW, json!({"text": "x"})), Some(SECRET)),
        now(),
    )
    .await;
    assert!(matches!(o, Outcome::Ignored { .. }), "{o:?}");
    // Neither update nor migration kept: the chat is only noted as one not kept.
    let keys: Vec<String> = files(dir.path()).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, [lake::layout::seen_key(NEW)]);
}

#[tokio::test]
async fn foreign_chats_and_chatless_updates_are_200_and_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "UTC");
    let chatless = json!({"update_id": 5, "inline_query": {"id": "1", "from": {"id": 1, "is_bot": false, "first_name": "A"}, "query": "q", "offset": ""}});
    let poll = json!({"update_id": 6, "poll": {"id": "1", "question": "?", "options": []}});
    for body in [
        message_update(904, -1009999999999),
        chatless.to_string(),
        poll.to_string(),
    ] {
        let outcome = handle(&cfg, event(&body, Some(SECRET)), now()).await;
        assert!(matches!(outcome, Outcome::Ignored { .. }), "{outcome:?}");
        assert_eq!(outcome.response().status_code, 200);
    }
    // Only the note that the other chat exists: none of its updates.
    let keys: Vec<String> = files(dir.path()).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["chats/seen/-1009999999999.json"]);
}

#[tokio::test]
async fn a_chat_not_kept_is_noted_by_id_type_and_title_never_by_what_was_said() {
    const OTHER: i64 = -1005555555555;
    let dir = tempfile::tempdir().unwrap();
    let update = |id: i64| {
        json!({"update_id": id, "message": {"message_id": id, "date": TS,
            "from": {"id": 7, "is_bot": false, "first_name": "Maria", "username": "maria_x"},
            "chat": {"id": OTHER, "type": "supergroup", "title": "Book club"},
            "text": "my secret plans"}})
        .to_string()
    };
    let note = |dir: &Path| -> lake::update::SeenChat {
        let bytes = std::fs::read(dir.join(lake::layout::seen_key(OTHER))).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        for said in ["secret plans", "Maria", "maria_x"] {
            assert!(!text.contains(said), "the note holds {said:?}: {text}");
        }
        serde_json::from_slice(&bytes).unwrap()
    };
    let a = config(dir.path(), "UTC");
    let o = handle(&a, event(&update(1), Some(SECRET)), now()).await;
    assert!(matches!(o, Outcome::Ignored { .. }), "{o:?}");
    let first = note(dir.path());
    assert_eq!(first.chat.id, OTHER);
    assert_eq!(first.chat.kind, "supergroup");
    assert_eq!(first.chat.title.as_deref(), Some("Book club"));
    assert_eq!((first.first_seen, first.last_seen), (now(), now()));

    // A busy chat is not noted on every update: the same instance waits an hour.
    let soon = now() + chrono::TimeDelta::minutes(10);
    handle(&a, event(&update(2), Some(SECRET)), soon).await;
    assert_eq!(note(dir.path()).last_seen, now());
    // Another instance, later: the first sighting stays, the last moves on.
    let later = now() + chrono::TimeDelta::hours(3);
    let b = config(dir.path(), "UTC");
    handle(&b, event(&update(3), Some(SECRET)), later).await;
    let again = note(dir.path());
    assert_eq!((again.first_seen, again.last_seen), (now(), later));
    assert!(!dir.path().join("telegram").exists(), "an update was kept");

    // A note that cannot be written does not make Telegram retry an update nobody keeps.
    let blocked = tempfile::tempdir().unwrap();
    std::fs::create_dir(blocked.path().join("chats")).unwrap();
    std::fs::write(blocked.path().join("chats/seen"), b"in the way").unwrap();
    let o = handle(
        &config(blocked.path(), "UTC"),
        event(&update(4), Some(SECRET)),
        now(),
    )
    .await;
    assert!(matches!(o, Outcome::Ignored { .. }), "{o:?}");
    assert_eq!(o.response().status_code, 200);
}

#[tokio::test]
async fn three_deliveries_of_one_update_are_one_object() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "UTC");
    let body = message_update(905, GROUP);
    for _ in 0..3 {
        assert_eq!(
            handle(&cfg, event(&body, Some(SECRET)), now())
                .await
                .response()
                .status_code,
            200
        );
    }
    assert_eq!(files(dir.path()).len(), 1);
}

#[tokio::test]
async fn a_storage_failure_is_5xx_so_telegram_retries() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the `telegram/` directory must go: every put fails.
    std::fs::write(dir.path().join("telegram"), b"in the way").unwrap();
    let outcome = handle(
        &config(dir.path(), "UTC"),
        event(&message_update(906, GROUP), Some(SECRET)),
        now(),
    )
    .await;
    assert!(
        matches!(outcome, Outcome::StoreFailed { .. }),
        "{outcome:?}"
    );
    let status = outcome.response().status_code;
    assert!((500..600).contains(&status), "{status}");
}

#[test]
fn configuration_errors_name_the_variable() {
    let vars = |raw: &'static str, chats: &'static str, tz: &'static str| {
        move |name: &str| match name {
            "TGPIPE_RAW_BUCKET" => Some(raw.to_owned()),
            "TGPIPE_ALLOWED_CHAT_IDS" => Some(chats.to_owned()),
            "TGPIPE_WEBHOOK_SECRET" => Some(SECRET.to_owned()),
            "TGPIPE_TIMEZONE" => Some(tz.to_owned()),
            _ => None,
        }
    };
    let err = Config::from_vars(vars("", "1", "UTC"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("TGPIPE_RAW_BUCKET"), "{err}");
    let err = Config::from_vars(vars("file:///tmp/x", "1,x", "UTC"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("TGPIPE_ALLOWED_CHAT_IDS"), "{err}");
    let err = Config::from_vars(vars("file:///tmp/x", "1", "Nowhere/City"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("Nowhere/City"), "{err}");
    let err = Config::from_vars(vars("ftp://x", "1", "UTC"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("ftp://x"), "{err}");
    assert!(
        !format!(
            "{:?}",
            Config::from_vars(vars("file:///tmp/x", "1", "UTC")).unwrap()
        )
        .contains(SECRET)
    );
}

/// The real `bootstrap`, served by a Lambda Runtime API stand-in, storing into S3 (moto).
#[test]
fn the_bootstrap_binary_stores_into_s3() {
    let moto = testkit::Moto::start();
    moto.create_bucket("raw");
    let mut env = moto.env();
    env.extend([
        ("TGPIPE_RAW_BUCKET".to_owned(), "raw".to_owned()),
        ("TGPIPE_ALLOWED_CHAT_IDS".to_owned(), GROUP.to_string()),
        ("TGPIPE_WEBHOOK_SECRET".to_owned(), SECRET.to_owned()),
        ("TGPIPE_TIMEZONE".to_owned(), "America/Sao_Paulo".to_owned()),
    ]);
    let body = message_update(907, GROUP);
    let (answers, stdout) = testkit::invoke_bootstrap_logged(
        Path::new(env!("CARGO_BIN_EXE_ingest")),
        &env,
        vec![
            event(&body, Some(SECRET)),
            event(&body, Some("wrong")),
            event(&body, Some(SECRET)),
        ],
    );
    // Each stored update and each refused request is a metric in the log, in the embedded
    // format CloudWatch reads (what the stack's alarms watch): by function, and by chat.
    let metrics = testkit::metric_lines(&stdout);
    assert_eq!(metrics.len(), 3, "{stdout:?}");
    let stored = &metrics[0];
    assert_eq!(
        stored["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([["Function", "ChatId"]])
    );
    assert_eq!(stored["Function"], "test");
    assert_eq!(stored["ChatId"], GROUP.to_string());
    assert_eq!(stored["UpdatesStored"], 1.0);
    assert_eq!(metrics[1]["RequestsRefused"], 1.0);
    assert_eq!(metrics[2]["UpdatesStored"], 1.0);
    assert!(!stdout.iter().any(|l| l.contains(SECRET)), "{stdout:?}");
    let status: Vec<i64> = answers
        .iter()
        .map(|a| match a {
            testkit::Invocation::Response(r) => r["statusCode"].as_i64().unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(status, vec![200, 401, 200]);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let raw = Storage::open_with(
        "s3://raw",
        moto.s3_options().iter().map(|(k, v)| (*k, v.as_str())),
    )
    .unwrap();
    let listed = rt.block_on(raw.list("telegram/")).unwrap();
    let keys: Vec<&str> = listed.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, vec!["telegram/context_date=2024-05-01/907.json"]);
    let stored = rt.block_on(raw.get(keys[0])).unwrap();
    assert_eq!(stored.as_ref(), body.as_bytes());
}
