//! What never leaves tgpipe in what it prints: the bot token and the webhook secret. Text that
//! comes from elsewhere (AWS's error messages, the functions' log lines) goes through here.

use std::sync::LazyLock;

/// A bot token: the bot's id, a colon, 35 characters of base64url.
static TOKEN: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"\d{5,}:[A-Za-z0-9_-]{30,}").expect("a valid pattern"));

/// The webhook secret's variable and its value, as AWS echoes variables back (Lambda's refusal
/// of variables over 4 KB quotes every one): `"NAME":"value"`, `\"NAME\":\"value\"`, `NAME=value`;
/// the value runs to its closing quote (two secrets, comma-separated, during a rotation).
static SECRET_VARIABLE: LazyLock<regex::Regex> = LazyLock::new(|| {
    let name = regex::escape(lake::env::WEBHOOK_SECRET);
    regex::Regex::new(&format!(r#"({name}[\\"]*\s*[:=]\s*[\\"]*)[^"\\\}}\s]+"#))
        .expect("a valid pattern")
});

/// `text` with anything shaped like a bot token, and the value of the webhook secret's
/// variable, withheld.
pub fn withhold(text: &str) -> String {
    let text = TOKEN.replace_all(text, "[bot token withheld]");
    SECRET_VARIABLE
        .replace_all(&text, "${1}[withheld]")
        .into_owned()
}

/// [`withhold`], and these secrets wherever they appear.
pub fn withhold_these(text: &str, secrets: &[String]) -> String {
    let mut text = withhold(text);
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret.as_str(), "[webhook secret withheld]");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_and_the_secret_s_value_are_withheld_however_aws_quotes_them() {
        let echoed = r#"exceeded the 4KB limit. String measured: {"TGPIPE_WEBHOOK_SECRET":"c2VjcmV0LXZhbHVl,b2xk","TGPIPE_TIMEZONE":"UTC"}"#;
        assert_eq!(
            withhold(echoed),
            r#"exceeded the 4KB limit. String measured: {"TGPIPE_WEBHOOK_SECRET":"[withheld]","TGPIPE_TIMEZONE":"UTC"}"#
        );
        let debug = r#"message: Some("{\"TGPIPE_WEBHOOK_SECRET\":\"abc123\"}") body: b"{\\\"TGPIPE_WEBHOOK_SECRET\\\":\\\"abc123\\\"}""#;
        assert_eq!(
            withhold(debug),
            r#"message: Some("{\"TGPIPE_WEBHOOK_SECRET\":\"[withheld]\"}") body: b"{\\\"TGPIPE_WEBHOOK_SECRET\\\":\\\"[withheld]\\\"}""#
        );
        assert_eq!(
            withhold(
                "https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1/getMe"
            ),
            "https://api.telegram.org/bot[bot token withheld]/getMe"
        );
        assert_eq!(
            withhold_these("header s3cr3t-value", &["s3cr3t-value".to_owned()]),
            "header [webhook secret withheld]"
        );
    }
}
