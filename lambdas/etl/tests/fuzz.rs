//! No input may panic the ETL: generated events go through `Request::from_event`, generated
//! objects through the update parser and the row builder, 100,000 of each.

use proptest::prelude::*;
use serde_json::{Value, json};

const KEYS: [&str; 18] = [
    "update_id",
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "chat",
    "id",
    "date",
    "text",
    "caption",
    "from",
    "edit_date",
    "message_id",
    "reply_to_message",
    "dates",
    "time",
    "detail-type",
    "source",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,210}".prop_map(Value::from),
        Just(json!("Scheduled Event")),
        Just(json!("2024-05-01")),
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 100_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn events_never_panic(event in json_value()) {
        let _ = etl::Request::from_event(&event);
    }

    #[test]
    fn objects_never_panic_the_parser_or_the_rows(value in json_value(), bytes in prop::collection::vec(any::<u8>(), 0..48)) {
        let mut rows = lake::DayRows::new();
        for body in [value.to_string().into_bytes(), bytes] {
            if let Ok(update) = lake::Update::from_slice(&body) {
                rows.add(update);
            }
            if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                let _ = lake::update::route(&v);
            }
        }
        let rows = rows.into_rows();
        let _ = lake::parquet_out::parts(&rows).count();
    }
}
