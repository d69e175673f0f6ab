//! The mapping of an export's messages: ids, times, senders, what is skipped.

use super::*;

#[test]
fn export_ids_become_the_bot_apis() {
    assert_eq!(
        bot_api_chat(1234567890, "private_supergroup"),
        Some((-1001234567890, "supergroup"))
    );
    assert_eq!(
        bot_api_chat(1234567890, "public_channel"),
        Some((-1001234567890, "channel"))
    );
    assert_eq!(
        bot_api_chat(4001234, "private_group"),
        Some((-4001234, "group"))
    );
    assert_eq!(bot_api_chat(1002, "personal_chat"), Some((1002, "private")));
    assert_eq!(bot_api_chat(1, "something_new"), None);
}

#[test]
fn an_older_export_without_unix_times_needs_its_zone() {
    let chat = ExportChat {
        id: -1,
        kind: "group",
        name: "g".into(),
    };
    let m = ExportMessage {
        id: 1,
        kind: "message".into(),
        date: Some("2024-05-01T21:30:00".into()),
        text: Some(Value::String("hi".into())),
        ..ExportMessage::default()
    };
    let Err(Unmapped::Stop(err)) = to_update(&chat, &m, chrono_tz::UTC, None) else {
        panic!("an older export without its zone stops the import");
    };
    assert!(err.contains("--export-timezone"), "{err}");
    // 21:30 in São Paulo is 00:30 UTC the next day.
    let zone = lake::day::parse_time_zone("America/Sao_Paulo").unwrap();
    let (day, update) = to_update(&chat, &m, chrono_tz::UTC, Some(zone)).unwrap();
    assert_eq!(day.to_string(), "2024-05-02");
    assert_eq!(update["message"]["date"], 1714609800);
    assert_eq!(update[IMPORTED_FIELD], true);
}

fn group() -> ExportChat {
    ExportChat {
        id: -1001234567890,
        kind: "supergroup",
        name: "g".into(),
    }
}

fn message(json: Value) -> ExportMessage {
    serde_json::from_value(json).unwrap()
}

#[test]
fn an_export_from_before_mid_2021_maps_numeric_ids_and_local_edits() {
    let zone = Some(chrono_tz::UTC);
    let old = message(
        json!({"id": 5, "type": "message", "date": "2020-03-01T10:00:00",
        "edited": "1970-01-01T05:00:00", "from": "Ana", "from_id": 22222222, "text": "oi"}),
    );
    let (_, u) = to_update(&group(), &old, chrono_tz::UTC, zone).unwrap();
    assert_eq!(u["message"]["from"]["id"], 22222222);
    assert_eq!(u["message"]["from"]["is_bot"], false);
    assert!(
        u["message"].get("edit_date").is_none(),
        "1970 means never edited"
    );
    let edited = message(
        json!({"id": 6, "type": "message", "date": "2020-03-01T10:00:00",
        "edited": "2020-03-01T10:05:00", "from_id": 22222222, "text": "oi!"}),
    );
    let (_, u) = to_update(&group(), &edited, chrono_tz::UTC, zone).unwrap();
    assert_eq!(
        u["message"]["edit_date"],
        u["message"]["date"].as_i64().unwrap() + 300
    );
    let service = message(
        json!({"id": 7, "type": "service", "date": "2020-03-01T10:00:00",
        "actor": "Ana", "actor_id": 22222222, "action": "pin_message"}),
    );
    let (_, u) = to_update(&group(), &service, chrono_tz::UTC, zone).unwrap();
    assert_eq!(u["message"]["from"]["id"], 22222222);
}

#[test]
fn what_cannot_be_mapped_is_skipped_with_its_reason() {
    let skip = |m: Value| to_update(&group(), &message(m), chrono_tz::UTC, None).unwrap_err();
    assert_eq!(
        skip(json!({"id": 1, "type": "unsupported"})),
        Unmapped::Skip(Skip::Unsupported)
    );
    assert_eq!(
        skip(json!({"id": 2, "type": "message", "text": "?"})),
        Unmapped::Skip(Skip::NoDate)
    );
    assert_eq!(
        skip(json!({"id": 3, "type": "message", "date_unixtime": "soon"})),
        Unmapped::Skip(Skip::BadDate)
    );
    assert_eq!(
        skip(json!({"id": 4, "type": "message", "date_unixtime": "1000000000"})),
        Unmapped::Skip(Skip::BeforeTelegram)
    );
    // Telegram's first weeks are kept.
    let first = message(json!({"id": 5, "type": "message", "date_unixtime": "1377000000"}));
    let (day, _) = to_update(&group(), &first, chrono_tz::UTC, None).unwrap();
    assert_eq!(day.to_string(), "2013-08-20");
}

#[test]
fn a_message_sent_as_the_group_or_as_a_channel_maps_as_the_webhooks() {
    let as_group = message(
        json!({"id": 1, "type": "message", "date_unixtime": "1714556400",
        "from": "g", "from_id": "channel1234567890", "text": "hi"}),
    );
    let (_, u) = to_update(&group(), &as_group, chrono_tz::UTC, None).unwrap();
    assert_eq!(u["message"]["from"]["username"], "GroupAnonymousBot");
    assert_eq!(u["message"]["from"]["is_bot"], true);
    assert_eq!(u["message"]["sender_chat"]["id"], -1001234567890i64);
    let as_channel = message(
        json!({"id": 2, "type": "message", "date_unixtime": "1714556400",
        "from": "News", "from_id": "channel999", "text": "hi"}),
    );
    let (_, u) = to_update(&group(), &as_channel, chrono_tz::UTC, None).unwrap();
    assert_eq!(u["message"]["from"]["username"], "Channel_Bot");
    assert_eq!(u["message"]["sender_chat"]["id"], -1000000000999i64);
    let channel = ExportChat {
        id: -1000000000999,
        kind: "channel",
        name: "News".into(),
    };
    let (_, u) = to_update(&channel, &as_channel, chrono_tz::UTC, None).unwrap();
    assert!(
        u["message"].get("from").is_none(),
        "a channel's post has no sender"
    );
    let telegram = message(
        json!({"id": 3, "type": "message", "date_unixtime": "1714556400",
        "from": "Telegram", "from_id": "user777000", "text": "forwarded"}),
    );
    let (_, u) = to_update(&group(), &telegram, chrono_tz::UTC, None).unwrap();
    assert_eq!(u["message"]["from"]["is_bot"], true);
}

#[test]
fn never_edited_is_the_epoch_in_the_exporting_zone_and_a_bad_edit_drops_only_the_edit() {
    let zone = lake::day::parse_time_zone("America/New_York").ok();
    let west = message(
        json!({"id": 8, "type": "message", "date": "2020-03-01T10:00:00",
        "edited": "1969-12-31T19:00:00", "from_id": 22222222, "text": "hi"}),
    );
    let (_, u) = to_update(&group(), &west, chrono_tz::UTC, zone).unwrap();
    assert!(u["message"].get("edit_date").is_none(), "{u}");
    let garbled = message(
        json!({"id": 9, "type": "message", "date_unixtime": "1714556400",
        "edited_unixtime": "later", "from_id": "user1", "text": "hi"}),
    );
    let (_, u) = to_update(&group(), &garbled, chrono_tz::UTC, None).unwrap();
    assert!(u["message"].get("edit_date").is_none(), "{u}");
    // 02:30 on the night São Paulo's clocks jumped (2018-11-04) is read as 03:30.
    let sp = lake::day::parse_time_zone("America/Sao_Paulo").ok();
    let gap = message(
        json!({"id": 10, "type": "message", "date": "2018-11-04T00:30:00",
        "from_id": 22222222, "text": "hi"}),
    );
    assert!(to_update(&group(), &gap, chrono_tz::UTC, sp).is_ok());
}
