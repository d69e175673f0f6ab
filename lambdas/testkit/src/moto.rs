//! moto, the AWS emulator, in server mode on 127.0.0.1.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

use crate::files::workspace_root;
use crate::http::http;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A moto server in server mode on 127.0.0.1, stopped when dropped.
/// One request moto recorded.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The path and query, and the action (` Action=…` or ` Target=…`) when the protocol names
    /// one apart.
    pub what: String,
    pub body: String,
}

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    /// Starts moto's server (through `moto_server.py`, which adds the CBOR protocol CloudWatch's
    /// SDK speaks) with the repository's `.venv` Python (or `TGPIPE_MOTO_PYTHON`).
    pub fn start() -> Moto {
        Self::start_with(&[])
    }

    /// [`Moto::start`] with settings of moto's own (`MOTO_LAMBDA_CONCURRENCY_QUOTA`, say).
    pub fn start_with(settings: &[(&str, &str)]) -> Moto {
        let program = std::env::var_os("TGPIPE_MOTO_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join(".venv/bin/python"));
        assert!(
            program.is_file(),
            "{} not found: run the README's test command, which installs moto",
            program.display()
        );
        let port = free_port();
        let script = workspace_root().join("lambdas/testkit/moto_server.py");
        let child = Command::new(program)
            .arg(script)
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
            .expect("start moto's server");
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
        self.recorded_requests()
            .into_iter()
            .map(|r| (r.method, r.what))
            .collect()
    }

    /// Stops recording and returns the requests made since [`Moto::start_recording`], bodies
    /// included.
    pub fn recorded_requests(&self) -> Vec<Recorded> {
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
                Recorded {
                    method,
                    what: format!("{url}{action}"),
                    body,
                }
            })
            .collect()
    }

    /// What the next Lambda invocations in `region` answer (moto runs no function code), one
    /// result each, in order.
    pub fn queue_lambda_results(&self, region: &str, results: &[String]) {
        let body = serde_json::json!({"results": results, "region": region}).to_string();
        let (status, reply) = http(
            &self.endpoint,
            "POST",
            "/moto-api/static/lambda-simple/response",
            &body,
        )
        .expect("queue Lambda results");
        assert!((200..300).contains(&status), "{status} {reply}");
    }

    /// What the next Athena queries started in `region` answer (moto runs no SQL), one result
    /// each (`{"rows": […], "column_info": […]}`), in the order the queries start.
    pub fn queue_athena_results(&self, region: &str, results: &[serde_json::Value]) {
        let body = serde_json::json!({"results": results, "region": region}).to_string();
        let (status, reply) = http(
            &self.endpoint,
            "POST",
            "/moto-api/static/athena/query-results",
            &body,
        )
        .expect("queue Athena results");
        assert!((200..300).contains(&status), "{status} {reply}");
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
