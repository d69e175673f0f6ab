//! Test support shared by the crates' integration tests: a moto server (the AWS emulator), a
//! stand-in for the Lambda Runtime API that drives a real `bootstrap` binary, and lakes generated
//! by `../shared/bench/gen_updates.py`. Everything listens on 127.0.0.1 only.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

/// The workspace root (where `.venv` and `Cargo.toml` are).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Every file under `dir`, by its `/`-separated path relative to `dir`, with its bytes, sorted
/// by path; none when `dir` does not exist (yet).
pub fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let key = path.strip_prefix(dir).expect("under dir");
                let key = key.to_string_lossy().replace('\\', "/");
                out.push((key, std::fs::read(&path).expect("read file")));
            }
        }
    }
    out.sort();
    out
}

/// The project's sample updates (`lake::sample`), in delivery order, as Telegram sends them.
pub fn sample_updates(updates: usize, days: usize, start: &str, seed: u64) -> Vec<String> {
    lake::sample::updates(&lake::sample::Options {
        updates,
        days: days as u32,
        start: lake::layout::parse_day(start).expect("a start day like 2024-05-01"),
        seed,
    })
}

/// Writes the sample updates as a raw lake under `out` (`out/raw/telegram/context_date=D/
/// {update_id}.json`, every chat's, each under its day in UTC as the ingest Lambda files it) and
/// returns them in delivery order.
pub fn gen_lake(out: &Path, updates: usize, days: usize, start: &str, seed: u64) -> Vec<String> {
    let updates = sample_updates(updates, days, start, seed);
    write_lake(out, &updates);
    updates
}

/// Writes updates (JSON texts) as a raw lake under `out`, each under its day in UTC.
pub fn write_lake(out: &Path, updates: &[String]) {
    for update in updates {
        let value: Value = serde_json::from_str(update).expect("a sample update is JSON");
        let routing = lake::update::route(&value).expect("a sample update has an update_id");
        let day = routing
            .date
            .and_then(|d| lake::day_of(d, lake::day::parse_time_zone("UTC").expect("UTC")))
            .expect("a sample update has a date");
        let path = out
            .join("raw")
            .join(lake::layout::raw_key(day, routing.update_id));
        std::fs::create_dir_all(path.parent().expect("a key has a folder")).expect("mkdir");
        std::fs::write(&path, update).expect("write a raw object");
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A moto server in server mode on 127.0.0.1, stopped when dropped.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    /// Starts `moto_server` from the repository's `.venv` (or `TGPIPE_MOTO_SERVER`).
    pub fn start() -> Moto {
        Self::start_with(&[])
    }

    /// [`Moto::start`] with settings of moto's own (`MOTO_LAMBDA_CONCURRENCY_QUOTA`, say).
    pub fn start_with(settings: &[(&str, &str)]) -> Moto {
        let program = std::env::var_os("TGPIPE_MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join(".venv/bin/moto_server"));
        assert!(
            program.is_file(),
            "{} not found: run the README's test command, which installs moto",
            program.display()
        );
        let port = free_port();
        let child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // The recorder proves which calls a command made (see `Moto::recorded`).
            .env("MOTO_ENABLE_RECORDING", "True")
            .env(
                "MOTO_RECORDER_FILEPATH",
                std::env::temp_dir().join(format!("moto-recording-{port}")),
            )
            .envs(settings.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while http(&moto.endpoint, "GET", "/moto-api/", "").is_err() {
            assert!(Instant::now() < deadline, "moto did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// Creates a bucket (moto does not check signatures).
    pub fn create_bucket(&self, bucket: &str) {
        let (status, body) =
            http(&self.endpoint, "PUT", &format!("/{bucket}"), "").expect("create bucket");
        assert_eq!(status, 200, "create bucket {bucket}: {body}");
    }

    /// Starts recording requests (dropping what was recorded before).
    pub fn start_recording(&self) {
        http(
            &self.endpoint,
            "POST",
            "/moto-api/recorder/reset-recording",
            "",
        )
        .expect("reset recording");
        http(
            &self.endpoint,
            "POST",
            "/moto-api/recorder/start-recording",
            "",
        )
        .expect("start recording");
    }

    /// Stops recording and returns the requests made since [`Moto::start_recording`] as
    /// `(method, path-and-query)` pairs.
    pub fn recorded(&self) -> Vec<(String, String)> {
        http(
            &self.endpoint,
            "POST",
            "/moto-api/recorder/stop-recording",
            "",
        )
        .expect("stop recording");
        let (_, body) = http(
            &self.endpoint,
            "GET",
            "/moto-api/recorder/download-recording",
            "",
        )
        .expect("download recording");
        body.lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|r| {
                let method = r["method"].as_str().unwrap_or("").to_owned();
                let url = r["url"].as_str().unwrap_or("").to_owned();
                let body = r["body"].as_str().unwrap_or("");
                let body = if r["body_encoded"].as_bool() == Some(true) {
                    base64::engine::general_purpose::STANDARD
                        .decode(body)
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok())
                        .unwrap_or_default()
                } else {
                    body.to_owned()
                };
                // Query-protocol services (IAM, STS) name the action in the form body, JSON ones
                // in the X-Amz-Target header.
                let action = body
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("Action="))
                    .map(|a| format!(" Action={a}"))
                    .or_else(|| {
                        r["headers"]["X-Amz-Target"]
                            .as_str()
                            .map(|t| format!(" Target={t}"))
                    })
                    .unwrap_or_default();
                (method, format!("{url}{action}"))
            })
            .collect()
    }

    /// The S3 settings that point the lake's storage at this server.
    pub fn s3_options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("aws_endpoint_url", self.endpoint.clone()),
            ("aws_allow_http", "true".into()),
            ("aws_region", "us-east-1".into()),
            ("aws_access_key_id", "testing".into()),
            ("aws_secret_access_key", "testing".into()),
        ]
    }

    /// The same settings as environment variables, for a child process.
    pub fn env(&self) -> Vec<(String, String)> {
        self.s3_options()
            .into_iter()
            .map(|(k, v)| (k.to_ascii_uppercase(), v))
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 request; returns status and body.
pub fn http(
    endpoint: &str,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let host = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status line"))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// How one invocation ended, as the Runtime API saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    Response(Value),
    Error(Value),
}

/// Runs a real Lambda `bootstrap` binary against a stand-in for the Lambda Runtime API: hands
/// it `events` one by one, collects what it answered, then stops it.
pub fn invoke_bootstrap(
    binary: &Path,
    env: &[(String, String)],
    events: Vec<Value>,
) -> Vec<Invocation> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind runtime api");
    let addr = listener.local_addr().expect("addr");
    let total = events.len();
    let queue = Arc::new(Mutex::new(events.into_iter().collect::<VecDeque<_>>()));
    let (tx, rx) = mpsc::channel::<Result<Invocation, String>>();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (queue, tx) = (queue.clone(), tx.clone());
            std::thread::spawn(move || serve_runtime_api(stream, &queue, &tx));
        }
    });
    let mut child = Command::new(binary)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "test")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/test")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start bootstrap");
    let mut results = Vec::new();
    while results.len() < total {
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(Ok(invocation)) => results.push(invocation),
            Ok(Err(init_error)) => {
                let _ = child.kill();
                panic!("bootstrap failed its init: {init_error}");
            }
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "bootstrap answered {} of {total} invocations",
                    results.len()
                );
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    results
}

fn serve_runtime_api(
    stream: TcpStream,
    queue: &Mutex<VecDeque<Value>>,
    tx: &mpsc::Sender<Result<Invocation, String>>,
) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut writer = stream;
    let mut served = 0usize;
    loop {
        let Some((method, path, body)) = read_request(&mut reader) else {
            return;
        };
        let (method, path) = (method.as_str(), path.as_str());
        let body_value = || {
            serde_json::from_slice(&body)
                .unwrap_or(Value::String(String::from_utf8_lossy(&body).into()))
        };
        if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let Some(event) = queue.lock().expect("queue").pop_front() else {
                // No more events: hold the connection until the process is stopped.
                std::thread::sleep(Duration::from_secs(600));
                return;
            };
            served += 1;
            let payload = event.to_string();
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_millis()
                + 60_000;
            let _ = write!(
                writer,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: req-{served}\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:test\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n\
                 Content-Length: {}\r\n\r\n{payload}",
                payload.len()
            );
            continue;
        }
        let reply = if path.ends_with("/response") {
            tx.send(Ok(Invocation::Response(body_value())))
        } else if path.ends_with("/init/error") {
            tx.send(Err(String::from_utf8_lossy(&body).into_owned()))
        } else if path.ends_with("/error") {
            tx.send(Ok(Invocation::Error(body_value())))
        } else {
            Ok(())
        };
        let _ = reply;
        let _ = write!(writer, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
    }
}

/// Reads one HTTP/1.1 request (with a Content-Length body) from a keep-alive connection:
/// method, path and body.
fn read_request(reader: &mut impl BufRead) -> Option<(String, String, Vec<u8>)> {
    let (request_line, _, body) = read_full_request(reader)?;
    let mut parts = request_line.split_whitespace();
    Some((parts.next()?.to_owned(), parts.next()?.to_owned(), body))
}

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
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind telegram stand-in");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let webhook = Arc::new(Mutex::new(
            serde_json::json!({"url": "", "pending_update_count": 0}),
        ));
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
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = state.clone();
                std::thread::spawn(move || serve_bot_api(stream, &state));
            }
        });
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

fn serve_bot_api(stream: TcpStream, state: &BotState) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut writer = stream;
    while let Some((_, path, body)) = read_request(&mut reader) {
        let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let (given, method) = path
            .trim_start_matches("/bot")
            .split_once('/')
            .map(|(t, m)| (t.to_owned(), m.to_owned()))
            .unwrap_or_default();
        let (status, text) = if given != state.token {
            (
                401,
                serde_json::json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
                    .to_string(),
            )
        } else {
            state.calls.lock().expect("calls").push(BotCall {
                method: method.clone(),
                params: params.clone(),
            });
            let mut hook = state.webhook.lock().expect("webhook");
            let mut world = state.world.lock().expect("world");
            let chat_id = params["chat_id"].as_i64().unwrap_or_default();
            let chat = world.chats.get(&chat_id).cloned().unwrap_or_else(|| {
                (
                    "supergroup".into(),
                    "Test group".into(),
                    "administrator".into(),
                )
            });
            let result = match method.as_str() {
                "getMe" => {
                    serde_json::json!({"id": 1, "is_bot": true, "first_name": "Test", "username": "test_bot",
                        "can_read_all_group_messages": world.privacy_off})
                }
                "getChat" | "getChatMember" if chat.2 == "missing" => {
                    let text = serde_json::json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"});
                    respond(&mut writer, 400, &text.to_string());
                    continue;
                }
                "getChat" => serde_json::json!({"id": chat_id, "type": chat.0, "title": chat.1}),
                "getChatMember" => {
                    serde_json::json!({"status": chat.2, "user": {"id": params["user_id"], "is_bot": true, "first_name": "Test"}})
                }
                "setWebhook" if world.set_webhook_failures > 0 => {
                    world.set_webhook_failures -= 1;
                    let text = serde_json::json!({"ok": false, "error_code": 400, "description": "Bad Request: bad webhook: Failed to resolve host"});
                    respond(&mut writer, 400, &text.to_string());
                    continue;
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
                "getUpdates" if hook["url"].as_str().is_some_and(|u| !u.is_empty()) => {
                    let text = serde_json::json!({"ok": false, "error_code": 409,
                        "description": "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"});
                    respond(&mut writer, 409, &text.to_string());
                    continue;
                }
                "getUpdates" if world.throttles > 0 => {
                    world.throttles -= 1;
                    let text = serde_json::json!({"ok": false, "error_code": 429,
                        "description": format!("Too Many Requests: retry after {}", world.retry_after),
                        "parameters": {"retry_after": world.retry_after}});
                    respond(&mut writer, 429, &text.to_string());
                    continue;
                }
                "getUpdates" if take_failure(&state.failures) => {
                    respond(&mut writer, 502, "<html>502 Bad Gateway</html>");
                    continue;
                }
                "getUpdates" => {
                    drop(hook);
                    drop(world);
                    let id = |u: &String| {
                        serde_json::from_str::<Value>(u).expect("queued update is JSON")
                            ["update_id"]
                            .as_i64()
                            .expect("queued update has an update_id")
                    };
                    // An offset confirms (drops) the updates below it; then, a long poll: the
                    // call is held until an update is queued or `timeout` passes.
                    let deadline = Instant::now()
                        + Duration::from_secs(params["timeout"].as_u64().unwrap_or(0));
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
                    respond(
                        &mut writer,
                        200,
                        &format!("{{\"ok\":true,\"result\":[{}]}}", batch.join(",")),
                    );
                    continue;
                }
                _ => Value::Bool(true),
            };
            (
                200,
                serde_json::json!({"ok": true, "result": result}).to_string(),
            )
        };
        respond(&mut writer, status, &text);
    }
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

fn respond(writer: &mut TcpStream, status: u16, text: &str) {
    let _ = write!(
        writer,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
        text.len()
    );
}

/// What moto's Athena lacks, put in front of it: moto returns every result row in one page and
/// every query succeeds having scanned nothing. This proxy forwards every request to moto and
/// then, as Athena does, pages `GetQueryResults` by `MaxResults`/`NextToken`, reports
/// `scanned_bytes` for each query, and fails a query whose text contains `fail_marker`
/// (with `fail_reason`, as Athena's `AthenaError`).
pub struct AthenaShim {
    pub endpoint: String,
    pages: Arc<Mutex<Vec<ResultPage>>>,
}

/// `NextToken` and `MaxResults` of one GetQueryResults call.
pub type ResultPage = (Option<String>, Option<i64>);

/// Request line, headers and body of one HTTP request.
type FullRequest = (String, Vec<(String, String)>, Vec<u8>);

pub struct AthenaShimConfig {
    pub scanned_bytes: i64,
    pub fail_marker: String,
    pub fail_reason: String,
}

impl AthenaShim {
    pub fn start(moto: &str, config: AthenaShimConfig) -> AthenaShim {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind athena shim");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let pages = Arc::new(Mutex::new(Vec::new()));
        let (moto, config, seen) = (
            moto.trim_start_matches("http://").to_owned(),
            Arc::new(config),
            pages.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (moto, config, seen) = (moto.clone(), config.clone(), seen.clone());
                std::thread::spawn(move || shim(stream, &moto, &config, &seen));
            }
        });
        AthenaShim { endpoint, pages }
    }

    /// `(NextToken, MaxResults)` of every GetQueryResults call, in order.
    pub fn result_pages(&self) -> Vec<ResultPage> {
        self.pages.lock().expect("pages").clone()
    }
}

/// One HTTP/1.1 request: its request line, headers and body.
fn read_full_request(reader: &mut impl BufRead) -> Option<FullRequest> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((request_line.trim_end().to_owned(), headers, body))
}

fn shim(stream: TcpStream, moto: &str, config: &AthenaShimConfig, pages: &Mutex<Vec<ResultPage>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut writer = stream;
    while let Some((request_line, headers, body)) = read_full_request(&mut reader) {
        let target = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-target"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let mut params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let page = if target.ends_with("GetQueryResults") {
            let token = params["NextToken"].as_str().map(str::to_owned);
            let max = params["MaxResults"].as_i64();
            pages.lock().expect("pages").push((token.clone(), max));
            if let Some(map) = params.as_object_mut() {
                map.remove("NextToken");
                map.remove("MaxResults");
            }
            Some((
                token.and_then(|t| t.parse::<usize>().ok()).unwrap_or(0),
                max.unwrap_or(1000) as usize,
            ))
        } else {
            None
        };
        let body = if page.is_some() {
            params.to_string().into_bytes()
        } else {
            body
        };
        // Forward as is (moto does not check signatures), one connection per request.
        let mut upstream = TcpStream::connect(moto).expect("connect moto");
        let _ = write!(upstream, "{request_line}\r\n");
        for (name, value) in &headers {
            if !name.eq_ignore_ascii_case("content-length")
                && !name.eq_ignore_ascii_case("connection")
            {
                let _ = write!(upstream, "{name}: {value}\r\n");
            }
        }
        let _ = write!(
            upstream,
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = upstream.write_all(&body);
        let mut response = Vec::new();
        let _ = upstream.read_to_end(&mut response);
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(response.len(), |p| p + 4);
        let (head, payload) = response.split_at(split);
        let head = String::from_utf8_lossy(head).to_string();
        let status_line = head.lines().next().unwrap_or("HTTP/1.1 500 X").to_owned();
        let content_type = head
            .lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            })
            .map_or("application/x-amz-json-1.1".to_owned(), |(_, v)| {
                v.trim().to_owned()
            });
        let mut reply: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
        let rewritten = if let (Some((offset, max)), Some(rows)) =
            (page, reply["ResultSet"]["Rows"].as_array().cloned())
        {
            let end = (offset + max).min(rows.len());
            reply["ResultSet"]["Rows"] = Value::Array(rows[offset.min(end)..end].to_vec());
            if end < rows.len() {
                reply["NextToken"] = Value::String(end.to_string());
            }
            true
        } else if target.ends_with("GetQueryExecution") && reply["QueryExecution"].is_object() {
            let execution = &mut reply["QueryExecution"];
            execution["Statistics"]["DataScannedInBytes"] = config.scanned_bytes.into();
            if execution["Query"]
                .as_str()
                .is_some_and(|q| q.contains(&config.fail_marker))
            {
                execution["Status"]["State"] = "FAILED".into();
                execution["Status"]["StateChangeReason"] = config.fail_reason.clone().into();
                execution["Status"]["AthenaError"] = serde_json::json!({"ErrorCategory": 2, "ErrorType": 1006, "ErrorMessage": config.fail_reason});
            }
            true
        } else {
            false
        };
        let payload = if rewritten {
            reply.to_string().into_bytes()
        } else {
            payload.to_vec()
        };
        let _ = write!(
            writer,
            "{status_line}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            payload.len()
        );
        let _ = writer.write_all(&payload);
    }
}
