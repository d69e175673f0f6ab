//! The Lambdas' CloudWatch metrics, written as log lines in CloudWatch's embedded metric format
//! (EMF): Lambda's log pipeline turns each line into data points, so the hot path makes no API
//! call and needs no permission beyond writing its logs. The names here are the ones the stack's
//! alarms watch: one home for both sides.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// The namespace of every tgpipe metric.
pub const NAMESPACE: &str = "tgpipe";
/// The dimension every metric carries: the function's name (the stack's name and the function).
pub const FUNCTION: &str = "Function";
/// The kept chat an update was stored for.
pub const CHAT: &str = "ChatId";

/// What the ingest function counts.
pub mod ingest {
    /// An update stored, by [`super::FUNCTION`] and [`super::CHAT`]: a kept chat that stops
    /// sending these has fallen silent (or the bot lost it).
    pub const STORED: &str = "UpdatesStored";
    /// A body kept in quarantine (it passed the secret check but is not an update).
    pub const QUARANTINED: &str = "BodiesQuarantined";
    /// A request refused for a wrong or missing secret.
    pub const REFUSED: &str = "RequestsRefused";
    /// An update that could not be stored (Telegram is answered 5xx and retries).
    pub const STORE_FAILED: &str = "StoreFailures";
}

/// What the ETL function counts, once a run.
pub mod etl {
    /// Days rebuilt by the run.
    pub const REBUILT: &str = "DaysRebuilt";
    /// Days that failed in the run.
    pub const FAILED: &str = "DaysFailed";
    /// Days the run had no time for (the next run takes them).
    pub const REMAINING: &str = "DaysRemaining";
    /// 1 for a run that rebuilt every day it took: a schedule without these for a day is a
    /// schedule that does not succeed.
    pub const SUCCEEDED: &str = "RunsSucceeded";
}

/// One EMF line: `values` (name, count) under [`NAMESPACE`], with `dimensions` (name, value) as
/// one dimension set, at `at`.
pub fn line(at: DateTime<Utc>, dimensions: &[(&str, String)], values: &[(&str, f64)]) -> String {
    let mut root = Map::new();
    let dimension_names: Vec<&str> = dimensions.iter().map(|(name, _)| *name).collect();
    let metrics: Vec<Value> = values
        .iter()
        .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
        .collect();
    root.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimension_names],
                "Metrics": metrics,
            }],
        }),
    );
    for (name, value) in dimensions {
        root.insert((*name).to_owned(), Value::from(value.as_str()));
    }
    for (name, value) in values {
        root.insert((*name).to_owned(), Value::from(*value));
    }
    Value::Object(root).to_string()
}

/// The function's name as Lambda gives it (`AWS_LAMBDA_FUNCTION_NAME`), for [`FUNCTION`].
pub fn function_name(var: impl Fn(&str) -> Option<String>) -> String {
    var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| "local".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_an_emf_document_cloudwatch_reads() {
        let at = DateTime::from_timestamp(1_714_564_800, 0).unwrap();
        let text = line(
            at,
            &[
                (FUNCTION, "tgpipe-ingest".to_owned()),
                (CHAT, "-100".to_owned()),
            ],
            &[(ingest::STORED, 1.0)],
        );
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            doc,
            json!({
                "_aws": {
                    "Timestamp": 1_714_564_800_000_i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "tgpipe",
                        "Dimensions": [["Function", "ChatId"]],
                        "Metrics": [{"Name": "UpdatesStored", "Unit": "Count"}],
                    }],
                },
                "Function": "tgpipe-ingest",
                "ChatId": "-100",
                "UpdatesStored": 1.0,
            })
        );
        assert!(!text.contains('\n'));
    }
}
