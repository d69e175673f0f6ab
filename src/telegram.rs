//! The Telegram Bot API client: the webhook calls `up`, `set-webhook`, `status` and `down` make.
//!
//! The bot token is part of every request URL, so no error of the HTTP client is ever shown as
//! it comes: messages are built from the URL-less error, and the token is scrubbed from anything
//! Telegram says back.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

/// The public Bot API.
pub const DEFAULT_API_URL: &str = "https://api.telegram.org";
/// How long one Bot API call may take (a long poll gets its wait on top).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The update kinds the pipeline asks Telegram for (webhooks get these and nothing else).
pub const ALLOWED_UPDATES: [&str; 5] = [
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "my_chat_member",
];

/// A bot token; never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken(String);

impl BotToken {
    /// Checks the shape `123456:ABC-def_…` without revealing the token in the error.
    pub fn parse(token: &str) -> Result<BotToken, TelegramError> {
        let token = token.trim();
        let ok = token.split_once(':').is_some_and(|(id, secret)| {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit())
                && secret.len() >= 10
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
        if ok {
            Ok(BotToken(token.to_owned()))
        } else {
            Err(TelegramError::MalformedToken)
        }
    }

    fn scrub(&self, text: &str) -> String {
        text.replace(&self.0, "<bot-token>")
    }
}

impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BotToken(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    #[error(
        "the bot token is malformed: it looks like 123456789:AA… (from @BotFather); pass it with --bot-token or TGPIPE_BOT_TOKEN"
    )]
    MalformedToken,
    #[error(
        "Telegram rejected the bot token (401 Unauthorized): check --bot-token / TGPIPE_BOT_TOKEN with @BotFather"
    )]
    Unauthorized,
    #[error("Telegram {method} failed: {description} (error {code})")]
    Api {
        method: &'static str,
        code: i64,
        description: String,
        /// Flood control: how many seconds to wait before the next call (with 429).
        retry_after: Option<u64>,
    },
    #[error("cannot reach the Telegram Bot API for {method}: {message}")]
    Http {
        method: &'static str,
        message: String,
    },
}

/// What Telegram knows of the bot's webhook.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct WebhookInfo {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub pending_update_count: i64,
    #[serde(default)]
    pub last_error_date: Option<i64>,
    #[serde(default)]
    pub last_error_message: Option<String>,
    #[serde(default)]
    pub allowed_updates: Option<Vec<String>>,
}

/// The bot itself (`getMe`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    pub id: i64,
    pub username: String,
    /// Privacy mode off: the bot receives every message of its groups, not only commands.
    pub can_read_all_group_messages: bool,
}

/// A chat as a user names it: its id (`-1001234567890`) or a public chat's `@username`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatName {
    Id(i64),
    Username(String),
}

impl std::str::FromStr for ChatName {
    type Err = String;

    fn from_str(text: &str) -> Result<ChatName, String> {
        let text = text.trim();
        if let Ok(id) = text.parse() {
            return Ok(ChatName::Id(id));
        }
        // Telegram usernames: 5 to 32 letters, digits and underscores (t.me/ links work too).
        let name = text
            .strip_prefix("https://t.me/")
            .or_else(|| text.strip_prefix("t.me/"))
            .or_else(|| text.strip_prefix('@'))
            .unwrap_or("");
        let valid = (5..=32).contains(&name.len())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid {
            return Ok(ChatName::Username(name.to_owned()));
        }
        Err(format!(
            "{text:?} is not a chat: give its id, such as -1001234567890 (`tgpipe chats` lists them), or a public group's @username"
        ))
    }
}

impl std::fmt::Display for ChatName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChatName::Id(id) => write!(f, "{id}"),
            ChatName::Username(u) => write!(f, "@{u}"),
        }
    }
}

/// A chat (`getChat`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChatInfo {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
}

#[derive(Deserialize)]
struct Reply<T> {
    ok: bool,
    result: Option<T>,
    #[serde(default)]
    error_code: i64,
    #[serde(default)]
    description: String,
    #[serde(default)]
    parameters: Option<ResponseParameters>,
}

/// What Telegram adds to some errors.
#[derive(Deserialize)]
struct ResponseParameters {
    #[serde(default)]
    retry_after: Option<u64>,
}

pub struct Telegram {
    http: reqwest::Client,
    base: String,
    token: BotToken,
    verbose: bool,
}

impl Telegram {
    pub fn new(base_url: &str, token: BotToken) -> Telegram {
        Telegram {
            http: reqwest::Client::builder()
                .timeout(CALL_TIMEOUT)
                .build()
                .unwrap_or_default(),
            base: base_url.trim_end_matches('/').to_owned(),
            token,
            verbose: false,
        }
    }

    /// Prints each Bot API method called (never its URL: that carries the token).
    pub fn verbose(mut self, on: bool) -> Self {
        self.verbose = on;
        self
    }

    async fn call(&self, method: &'static str, body: Value) -> Result<Value, TelegramError> {
        self.call_as(method, body, None)
            .await
            .map(Option::unwrap_or_default)
    }

    /// Calls `method` and reads its result as `T`; `wait` is how long Telegram may hold the
    /// call open (a long poll) on top of the usual time.
    async fn call_as<T: serde::de::DeserializeOwned>(
        &self,
        method: &'static str,
        body: Value,
        wait: Option<Duration>,
    ) -> Result<Option<T>, TelegramError> {
        let url = format!("{}/bot{}/{method}", self.base, self.token.0);
        let http_error = |e: reqwest::Error| TelegramError::Http {
            method,
            message: self.token.scrub(&e.without_url().to_string()),
        };
        let mut request = self.http.post(url).json(&body);
        if let Some(wait) = wait {
            request = request.timeout(CALL_TIMEOUT + wait);
        }
        let response = request.send().await.map_err(http_error)?;
        let status = response.status();
        let text = response.text().await.map_err(http_error)?;
        if self.verbose {
            crate::ui::trace(format_args!("  telegram {method}: {}", status.as_u16()));
        }
        let reply: Reply<T> = serde_json::from_str(&text).map_err(|_| TelegramError::Http {
            method,
            message: format!("HTTP {status} with a body that is not a Bot API reply"),
        })?;
        if reply.ok {
            return Ok(reply.result);
        }
        if reply.error_code == 401 || reply.error_code == 404 && method == "getMe" {
            return Err(TelegramError::Unauthorized);
        }
        Err(TelegramError::Api {
            method,
            code: reply.error_code,
            description: self.token.scrub(&reply.description),
            retry_after: reply.parameters.and_then(|p| p.retry_after),
        })
    }

    /// Checks the token; returns the bot's @username.
    pub async fn get_me(&self) -> Result<String, TelegramError> {
        Ok(self.me().await?.username)
    }

    /// Who the bot is, and whether privacy mode is off (it then sees every group message).
    pub async fn me(&self) -> Result<Me, TelegramError> {
        let me = self.call("getMe", json!({})).await?;
        Ok(Me {
            id: me["id"].as_i64().unwrap_or_default(),
            username: me["username"].as_str().unwrap_or_default().to_owned(),
            can_read_all_group_messages: me["can_read_all_group_messages"]
                .as_bool()
                .unwrap_or(false),
        })
    }

    /// A chat as the bot sees it: its type and title.
    pub async fn get_chat(&self, chat_id: i64) -> Result<ChatInfo, TelegramError> {
        self.chat(&ChatName::Id(chat_id)).await
    }

    /// A chat named by its id or a public chat's @username, with its id.
    pub async fn chat(&self, name: &ChatName) -> Result<ChatInfo, TelegramError> {
        let param = match name {
            ChatName::Id(id) => json!(id),
            ChatName::Username(u) => json!(format!("@{u}")),
        };
        let chat = self.call("getChat", json!({"chat_id": param})).await?;
        let id = chat["id"].as_i64().or(match name {
            ChatName::Id(id) => Some(*id),
            ChatName::Username(_) => None,
        });
        let id = id.ok_or_else(|| TelegramError::Http {
            method: "getChat",
            message: "the reply names no chat id".to_owned(),
        })?;
        Ok(ChatInfo {
            id,
            kind: chat["type"].as_str().unwrap_or_default().to_owned(),
            title: chat["title"]
                .as_str()
                .or(chat["first_name"].as_str())
                .unwrap_or_default()
                .to_owned(),
        })
    }

    /// The status of `user_id` in a chat: creator, administrator, member, restricted, left,
    /// kicked.
    pub async fn get_chat_member_status(
        &self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<String, TelegramError> {
        let member = self
            .call(
                "getChatMember",
                json!({"chat_id": chat_id, "user_id": user_id}),
            )
            .await?;
        Ok(member["status"].as_str().unwrap_or_default().to_owned())
    }

    /// How many members a group or channel has (Telegram answers for chats the bot is in).
    pub async fn member_count(&self, chat_id: i64) -> Result<u64, TelegramError> {
        let count = self
            .call("getChatMemberCount", json!({"chat_id": chat_id}))
            .await?;
        count.as_u64().ok_or_else(|| TelegramError::Http {
            method: "getChatMemberCount",
            message: "the reply is not a count".to_owned(),
        })
    }

    /// The updates waiting, without confirming any (no `offset`) and without changing which
    /// kinds the bot receives (no `allowed_updates`): a later poll or webhook still gets them.
    pub async fn peek_updates(&self) -> Result<Vec<Value>, TelegramError> {
        self.call_as("getUpdates", json!({"timeout": 0, "limit": 100}), None)
            .await
            .map(Option::unwrap_or_default)
    }

    /// Points the bot at `url`, with the secret Telegram will send back and the update kinds we keep.
    pub async fn set_webhook(&self, url: &str, secret: &str) -> Result<(), TelegramError> {
        self.call(
            "setWebhook",
            json!({"url": url, "secret_token": secret, "allowed_updates": ALLOWED_UPDATES, "max_connections": 40}),
        )
        .await
        .map(|_| ())
    }

    pub async fn get_webhook_info(&self) -> Result<WebhookInfo, TelegramError> {
        let info = self.call("getWebhookInfo", json!({})).await?;
        serde_json::from_value(info).map_err(|e| TelegramError::Http {
            method: "getWebhookInfo",
            message: format!("unexpected reply: {e}"),
        })
    }

    /// The updates from `offset` on (which confirms those below it), each as Telegram sent
    /// its JSON, waiting up to `wait` for one to come (a long poll).
    pub async fn get_updates(
        &self,
        offset: Option<i64>,
        wait: Duration,
    ) -> Result<Vec<Box<serde_json::value::RawValue>>, TelegramError> {
        let mut body = json!({"timeout": wait.as_secs(), "allowed_updates": ALLOWED_UPDATES});
        if let Some(offset) = offset {
            body["offset"] = json!(offset);
        }
        self.call_as("getUpdates", body, Some(wait))
            .await
            .map(Option::unwrap_or_default)
    }

    /// Removes the webhook; pending updates stay with Telegram (for a later `up`).
    pub async fn delete_webhook(&self) -> Result<(), TelegramError> {
        self.call("deleteWebhook", json!({"drop_pending_updates": false}))
            .await
            .map(|_| ())
    }
}
