//! A stand-in for the Lambda Runtime API that drives a real `bootstrap` binary.

use std::collections::VecDeque;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde_json::Value;

use crate::http::{Reply, Request, serve};

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
    invoke_bootstrap_logged(binary, env, events).0
}

/// [`invoke_bootstrap`], with the lines the binary wrote on stdout (what Lambda sends to
/// CloudWatch Logs: its log lines and its embedded-format metrics).
pub fn invoke_bootstrap_logged(
    binary: &Path,
    env: &[(String, String)],
    events: Vec<Value>,
) -> (Vec<Invocation>, Vec<String>) {
    let total = events.len();
    let queue = Mutex::new(events.into_iter().collect::<VecDeque<_>>());
    let served = Mutex::new(0usize);
    let (tx, rx) = mpsc::channel::<Result<Invocation, String>>();
    let tx = Mutex::new(tx);
    let addr = serve(Arc::new(move |req: Request| {
        runtime_api(&req, &queue, &served, &tx)
    }));
    let mut child = Command::new(binary)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "test")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/test")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start bootstrap");
    // Read as it comes, so that a full pipe never stalls the binary.
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        use std::io::BufRead as _;
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
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
    let lines = reader.join().unwrap_or_default();
    (results, lines)
}

/// The embedded-format metric documents among a bootstrap's stdout lines (those with `_aws`).
pub fn metric_lines(stdout: &[String]) -> Vec<Value> {
    stdout
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect()
}

fn runtime_api(
    req: &Request,
    queue: &Mutex<VecDeque<Value>>,
    served: &Mutex<usize>,
    tx: &Mutex<mpsc::Sender<Result<Invocation, String>>>,
) -> Reply {
    let body_value = || {
        serde_json::from_slice(&req.body)
            .unwrap_or(Value::String(String::from_utf8_lossy(&req.body).into()))
    };
    if req.method == "GET" && req.path.ends_with("/runtime/invocation/next") {
        let Some(event) = queue.lock().expect("queue").pop_front() else {
            // No more events: hold the call until the process is stopped.
            std::thread::sleep(Duration::from_secs(600));
            return Reply::json(500, "{}");
        };
        let n = {
            let mut served = served.lock().expect("served");
            *served += 1;
            *served
        };
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis()
            // The ETL function's timeout, 15 minutes (the ETL plans its days by it).
            + 900_000;
        return Reply::json(200, event.to_string())
            .header("Lambda-Runtime-Aws-Request-Id", format!("req-{n}"))
            .header("Lambda-Runtime-Deadline-Ms", deadline.to_string())
            .header(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:123456789012:function:test",
            )
            .header(
                "Lambda-Runtime-Trace-Id",
                "Root=1-00000000-000000000000000000000000",
            );
    }
    let tx = tx.lock().expect("sender");
    let _ = if req.path.ends_with("/response") {
        tx.send(Ok(Invocation::Response(body_value())))
    } else if req.path.ends_with("/init/error") {
        tx.send(Err(String::from_utf8_lossy(&req.body).into_owned()))
    } else if req.path.ends_with("/error") {
        tx.send(Ok(Invocation::Error(body_value())))
    } else {
        Ok(())
    };
    Reply::json(202, "")
}
