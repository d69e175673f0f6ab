//! The Lambdas' configuration variables (the README's "Lambda configuration"): the names the
//! functions read and the CLI sets.

pub const RAW_BUCKET: &str = "TGPIPE_RAW_BUCKET";
pub const ENRICHED_BUCKET: &str = "TGPIPE_ENRICHED_BUCKET";
pub const ALLOWED_CHAT_IDS: &str = "TGPIPE_ALLOWED_CHAT_IDS";
pub const WEBHOOK_SECRET: &str = "TGPIPE_WEBHOOK_SECRET";
pub const TIMEZONE: &str = "TGPIPE_TIMEZONE";
/// The account that owns the stack's buckets: every request to them names it, so that S3
/// refuses one to a bucket of the same name in another account (names are predictable).
pub const BUCKET_OWNER: &str = "TGPIPE_BUCKET_OWNER";

#[derive(Debug, thiserror::Error)]
#[error("{0} is not set")]
pub struct MissingVar(pub &'static str);

/// A variable that must be set to something other than blanks.
pub fn required(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<String, MissingVar> {
    var(name)
        .filter(|v| !v.trim().is_empty())
        .ok_or(MissingVar(name))
}

/// The time zone variable, UTC when unset.
pub fn time_zone(
    var: &impl Fn(&str) -> Option<String>,
) -> Result<crate::TimeZone, crate::DayError> {
    crate::day::parse_time_zone(&var(TIMEZONE).unwrap_or_default())
}
