//! No input may panic the ingest handler: generated events (JSON of every shape, with and
//! without the secret, bodies plain and base64, near-updates of every kind) all get an answer,
//! and the answer follows the contract: 401 without the secret, 5xx never (the store works), an
//! empty 200 otherwise for anything that came through the API.

use std::collections::BTreeSet;

use base64::Engine;
use ingest::{Config, Outcome, handle};
use lake::Storage;
use proptest::prelude::*;
use serde_json::{Value, json};

const SECRET: &str = "fuzz-secret";
const GROUP: i64 = -100123;

/// Field names a Telegram update uses, so that generated objects reach the handler's paths.
const KEYS: [&str; 16] = [
    "update_id",
    "message",
    "edited_message",
    "channel_post",
    "chat",
    "id",
    "date",
    "text",
    "from",
    "edit_date",
    "migrate_to_chat_id",
    "migrate_from_chat_id",
    "my_chat_member",
    "callback_query",
    "message_id",
    "type",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(json!(GROUP)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::vec((prop::sample::select(&KEYS[..]), inner), 0..6).prop_map(
                |pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            ),
        ]
    })
}

/// An API Gateway event around a body: the secret right, wrong or missing; base64 or not.
fn event() -> impl Strategy<Value = (Value, bool)> {
    let body = prop_oneof![
        json_value().prop_map(|v| v.to_string()),
        // Update-shaped, with arbitrary parts.
        (any::<i64>(), json_value()).prop_map(|(id, m)| {
            json!({"update_id": id, "message": m}).to_string()
        }),
        (any::<i64>(), any::<i64>(), json_value()).prop_map(|(id, date, text)| {
            json!({"update_id": id, "edited_message": {"message_id": 1, "chat": {"id": GROUP}, "date": date, "text": text}}).to_string()
        }),
        prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ];
    (body, 0..3u8, any::<bool>(), json_value()).prop_map(|(body, secret, b64, noise)| {
        let mut headers = json!({"content-type": "application/json"});
        match secret {
            0 => headers["x-telegram-bot-api-secret-token"] = json!(SECRET),
            1 => headers["x-telegram-bot-api-secret-token"] = json!("wrong"),
            _ => {}
        }
        let body = if b64 {
            base64::engine::general_purpose::STANDARD.encode(body)
        } else {
            body
        };
        let mut e =
            json!({"version": "2.0", "headers": headers, "body": body, "isBase64Encoded": b64});
        // Sometimes the event itself is mangled.
        if let Value::Object(extra) = noise {
            for (k, v) in extra {
                e[k] = v;
            }
        }
        (e, secret == 0)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_handler_answers_every_event_by_the_contract((event, with_secret) in event()) {
        let config = Config::new(Storage::memory(), BTreeSet::from([GROUP]), SECRET, chrono_tz::UTC).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let outcome = rt.block_on(handle(&config, event, chrono::Utc::now()));
        let status = outcome.response().status_code;
        prop_assert!(!matches!(outcome, Outcome::StoreFailed { .. }), "{:?}", outcome);
        if !with_secret {
            prop_assert!(matches!(outcome, Outcome::Unauthorized | Outcome::BadRequest(_)), "{:?}", outcome);
        } else if !matches!(outcome, Outcome::BadRequest(_)) {
            prop_assert_eq!(status, 200);
            prop_assert_eq!(outcome.response().body, "");
        }
    }
}
