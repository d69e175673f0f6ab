//! A stand-in for the Telegram Bot API: a bot, its webhook, its chats and its pending updates.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::http::{Reply, Request, serve};

/// One call the Telegram stand-in received: the Bot API method and its JSON parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct BotCall {
    pub method: String,
    pub params: Value,
}

/// A stand-in for the Telegram Bot API on 127.0.0.1: accepts one bot token, keeps the webhook
/// that `setWebhook` sets, records every call, and hands out queued updates by `getUpdates` as
/// Telegram does (an `offset` confirms the updates below it; 409 while a webhook is set).
pub struct TelegramStandIn {
    pub url: String,
    calls: Arc<Mutex<Vec<BotCall>>>,
    webhook: Arc<Mutex<Value>>,
    updates: Arc<Mutex<Vec<String>>>,
    failures: Arc<Mutex<u32>>,
    world: Arc<Mutex<BotWorld>>,
}

/// What the bot is and sees: privacy mode, the chats it is in and its status there. By default
/// every chat is a supergroup "Test group" where the bot is an admin.
#[derive(Default)]
struct BotWorld {
    privacy_off: bool,
    /// Chat id → (type, title, the bot's status); a chat with status "missing" is unknown.
    chats: std::collections::HashMap<i64, (String, String, String)>,
    /// Public chats' @usernames (without the @) → chat id.
    usernames: std::collections::HashMap<String, i64>,
    /// Chat id → member count, for `getChatMemberCount` (other chats: "chat not found").
    members: std::collections::HashMap<i64, u64>,
    /// `setWebhook` calls to fail (with a Bot API error) before one succeeds.
    set_webhook_failures: u32,
    /// The secret token of the last `setWebhook` that succeeded.
    secret: Option<String>,
    /// `getUpdates` calls to refuse with 429 (flood control), and the `retry_after` they give.
    throttles: u32,
    retry_after: u64,
}

/// What the stand-in shares between its connections.
struct BotState {
    token: String,
    calls: Arc<Mutex<Vec<BotCall>>>,
    webhook: Arc<Mutex<Value>>,
    updates: Arc<Mutex<Vec<String>>>,
    failures: Arc<Mutex<u32>>,
    world: Arc<Mutex<BotWorld>>,
}

impl TelegramStandIn {
    pub fn start(valid_token: &str) -> TelegramStandIn {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let webhook = Arc::new(Mutex::new(json!({"url": "", "pending_update_count": 0})));
        let updates = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(Mutex::new(0));
        let world = Arc::new(Mutex::new(BotWorld::default()));
        let state = Arc::new(BotState {
            token: valid_token.to_owned(),
            calls: calls.clone(),
            webhook: webhook.clone(),
            updates: updates.clone(),
            failures: failures.clone(),
            world: world.clone(),
        });
        let url = format!(
            "http://{}",
            serve(Arc::new(move |req: Request| bot_api(&req, &state)))
        );
        TelegramStandIn {
            url,
            calls,
            webhook,
            updates,
            failures,
            world,
        }
    }

    /// Puts the bot in a chat: its `kind` (group, supergroup, channel), title, and the bot's
    /// status there (member, administrator, left, kicked; "missing" for a chat it cannot see).
    pub fn set_chat(&self, id: i64, kind: &str, title: &str, status: &str) {
        self.world
            .lock()
            .expect("world")
            .chats
            .insert(id, (kind.to_owned(), title.to_owned(), status.to_owned()));
    }

    /// Gives a chat a public @username (given without the @), which `getChat` then resolves.
    pub fn set_username(&self, id: i64, username: &str) {
        let mut world = self.world.lock().expect("world");
        world.usernames.insert(username.to_owned(), id);
    }

    /// How many members `getChatMemberCount` says a chat has.
    pub fn set_member_count(&self, id: i64, members: u64) {
        self.world
            .lock()
            .expect("world")
            .members
            .insert(id, members);
    }

    /// Privacy mode off (`can_read_all_group_messages`), as /setprivacy Disable makes it.
    pub fn set_privacy_off(&self, off: bool) {
        self.world.lock().expect("world").privacy_off = off;
    }

    /// Makes the next `n` `getUpdates` calls answer 429 with `retry_after` seconds, as Telegram's
    /// flood control does.
    pub fn throttle_get_updates(&self, n: u32, retry_after: u64) {
        let mut world = self.world.lock().expect("world");
        world.throttles = n;
        world.retry_after = retry_after;
    }

    /// The secret Telegram sends with each delivery: the last one `setWebhook` set.
    pub fn secret(&self) -> Option<String> {
        self.world.lock().expect("world").secret.clone()
    }

    /// Makes the next `n` `setWebhook` calls fail as Telegram does when it cannot reach the URL.
    pub fn fail_set_webhook(&self, n: u32) {
        self.world.lock().expect("world").set_webhook_failures = n;
    }

    /// Makes the next `n` `getUpdates` calls fail as an overloaded Telegram does: 502 with a page
    /// that is not a Bot API reply.
    pub fn fail_get_updates(&self, n: u32) {
        *self.failures.lock().expect("failures") = n;
    }

    /// Queues updates for `getUpdates`, each sent exactly as given (JSON text with an `update_id`).
    pub fn push_updates(&self, updates: &[String]) {
        self.updates
            .lock()
            .expect("updates")
            .extend(updates.iter().cloned());
    }

    /// The updates not yet confirmed by an `offset` above their id.
    pub fn pending_updates(&self) -> usize {
        self.updates.lock().expect("updates").len()
    }

    pub fn calls(&self) -> Vec<BotCall> {
        self.calls.lock().expect("calls").clone()
    }

    /// The webhook as `getWebhookInfo` reports it; tests may edit it (a last error, say).
    pub fn webhook(&self) -> Value {
        self.webhook.lock().expect("webhook").clone()
    }

    pub fn set_webhook_info(&self, info: Value) {
        *self.webhook.lock().expect("webhook") = info;
    }
}

fn api_error(code: u16, description: impl Into<String>) -> Reply {
    Reply::json(
        code,
        json!({"ok": false, "error_code": code, "description": description.into()}).to_string(),
    )
}

fn bot_api(req: &Request, state: &BotState) -> Reply {
    let params: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let (given, method) = req
        .path
        .trim_start_matches("/bot")
        .split_once('/')
        .map(|(t, m)| (t.to_owned(), m.to_owned()))
        .unwrap_or_default();
    if given != state.token {
        return api_error(401, "Unauthorized");
    }
    state.calls.lock().expect("calls").push(BotCall {
        method: method.clone(),
        params: params.clone(),
    });
    if method == "getUpdates" {
        return get_updates(state, &params);
    }
    let mut hook = state.webhook.lock().expect("webhook");
    let mut world = state.world.lock().expect("world");
    // A chat is named by its id, or a public one by "@username".
    let chat_id = match &params["chat_id"] {
        Value::String(name) if name.starts_with('@') => match world.usernames.get(&name[1..]) {
            Some(id) => *id,
            None => return api_error(400, "Bad Request: chat not found"),
        },
        id => id.as_i64().unwrap_or_default(),
    };
    let chat = world.chats.get(&chat_id).cloned().unwrap_or_else(|| {
        (
            "supergroup".into(),
            "Test group".into(),
            "administrator".into(),
        )
    });
    let result = match method.as_str() {
        "getMe" => {
            json!({"id": 1, "is_bot": true, "first_name": "Test", "username": "test_bot",
                "can_read_all_group_messages": world.privacy_off})
        }
        "getChat" | "getChatMember" if chat.2 == "missing" => {
            return api_error(400, "Bad Request: chat not found");
        }
        "getChat" => json!({"id": chat_id, "type": chat.0, "title": chat.1}),
        "getChatMemberCount" => match world.members.get(&chat_id) {
            Some(n) => json!(n),
            None => return api_error(400, "Bad Request: chat not found"),
        },
        "getChatMember" => {
            json!({"status": chat.2, "user": {"id": params["user_id"], "is_bot": true, "first_name": "Test"}})
        }
        "setWebhook" if world.set_webhook_failures > 0 => {
            world.set_webhook_failures -= 1;
            return api_error(400, "Bad Request: bad webhook: Failed to resolve host");
        }
        "setWebhook" => {
            // A webhook that works takes the backlog: nothing waits, no error is news.
            hook["pending_update_count"] = Value::from(0);
            if let Some(h) = hook.as_object_mut() {
                h.remove("last_error_date");
                h.remove("last_error_message");
            }
            world.secret = params["secret_token"].as_str().map(str::to_owned);
            hook["url"] = params["url"].clone();
            hook["allowed_updates"] = params["allowed_updates"].clone();
            Value::Bool(true)
        }
        "deleteWebhook" => {
            hook["url"] = Value::String(String::new());
            Value::Bool(true)
        }
        "getWebhookInfo" => hook.clone(),
        _ => Value::Bool(true),
    };
    Reply::json(200, json!({"ok": true, "result": result}).to_string())
}

/// `getUpdates` as Telegram answers it: 409 while a webhook is set, flood control and failures
/// when asked for; else an `offset` confirms (drops) the updates below it, then a long poll
/// holds the call until an update is queued or `timeout` passes.
fn get_updates(state: &BotState, params: &Value) -> Reply {
    {
        let hook = state.webhook.lock().expect("webhook");
        let mut world = state.world.lock().expect("world");
        if hook["url"].as_str().is_some_and(|u| !u.is_empty()) {
            return api_error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            );
        }
        if world.throttles > 0 {
            world.throttles -= 1;
            let after = world.retry_after;
            return Reply::json(
                429,
                json!({"ok": false, "error_code": 429,
                    "description": format!("Too Many Requests: retry after {after}"),
                    "parameters": {"retry_after": after}})
                .to_string(),
            );
        }
    }
    if take_failure(&state.failures) {
        return Reply::new(502, "text/html", "<html>502 Bad Gateway</html>");
    }
    let id = |u: &String| {
        serde_json::from_str::<Value>(u).expect("queued update is JSON")["update_id"]
            .as_i64()
            .expect("queued update has an update_id")
    };
    let deadline = Instant::now() + Duration::from_secs(params["timeout"].as_u64().unwrap_or(0));
    let updates = loop {
        let mut updates = state.updates.lock().expect("updates");
        if let Some(offset) = params["offset"].as_i64() {
            updates.retain(|u| id(u) >= offset);
        }
        if !updates.is_empty() || Instant::now() >= deadline {
            break updates;
        }
        drop(updates);
        std::thread::sleep(Duration::from_millis(20));
    };
    let limit = params["limit"].as_u64().unwrap_or(100) as usize;
    let batch: Vec<&str> = updates.iter().take(limit).map(String::as_str).collect();
    // The updates go out as queued, byte for byte.
    Reply::json(
        200,
        format!("{{\"ok\":true,\"result\":[{}]}}", batch.join(",")),
    )
}

/// Whether this call is one of the failures asked for (and counts it).
fn take_failure(failures: &Mutex<u32>) -> bool {
    let mut left = failures.lock().expect("failures");
    if *left == 0 {
        return false;
    }
    *left -= 1;
    true
}
