//! What the ingest function counts, as embedded-format metric lines (see `lake::metrics`).

use chrono::{DateTime, Utc};

use crate::Outcome;

/// The embedded-format metric line of an outcome (see `lake::metrics`), for `function`; none for
/// what the stack does not watch (an ignored chat, a bad request).
pub fn metric(outcome: &Outcome, function: &str, now: DateTime<Utc>) -> Option<String> {
    use lake::metrics::{CHAT, FUNCTION, ingest, line};
    let function = (FUNCTION, function.to_owned());
    let one = |name| Some(line(now, std::slice::from_ref(&function), &[(name, 1.0)]));
    match outcome {
        Outcome::Stored { chat_id, .. } => Some(line(
            now,
            &[function.clone(), (CHAT, chat_id.to_string())],
            &[(ingest::STORED, 1.0)],
        )),
        Outcome::Quarantined { .. } => one(ingest::QUARANTINED),
        Outcome::Unauthorized => one(ingest::REFUSED),
        Outcome::StoreFailed { .. } => one(ingest::STORE_FAILED),
        Outcome::Ignored { .. } | Outcome::BadRequest(_) => None,
    }
}
