//! The API Gateway HTTP API (payload 2.0) shapes the handler reads and answers.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The parts of an API Gateway HTTP API (payload 2.0) event the handler reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HttpEvent {
    #[serde(default)]
    pub(crate) headers: HashMap<String, String>,
    #[serde(default)]
    pub(crate) body: Option<String>,
    #[serde(default)]
    pub(crate) is_base64_encoded: bool,
}

/// The response API Gateway turns into the HTTP answer to Telegram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponse {
    pub status_code: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl HttpResponse {
    /// Success has an empty body: Telegram would execute a JSON body as a Bot API call.
    pub(crate) fn ok() -> Self {
        Self::text(200, "")
    }

    pub(crate) fn text(status_code: u16, body: &str) -> Self {
        HttpResponse {
            status_code,
            headers: HashMap::from([("content-type".to_owned(), "text/plain".to_owned())]),
            body: body.to_owned(),
        }
    }
}

pub(crate) fn header<'a>(event: &'a HttpEvent, name: &str) -> Option<&'a str> {
    // API Gateway lower-cases header names; compare without case anyway.
    event
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
