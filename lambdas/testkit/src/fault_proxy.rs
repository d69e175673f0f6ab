//! A network between tgpipe and moto: every AWS call waits a set latency, and a share of them
//! fail as AWS's control planes fail under load (500, 503, throttling, each in its service's
//! error shape) or lose their connection. Counts every call per operation, so that a benchmark
//! or a test can say how many calls a command made. moto's own `/moto-api/` passes untouched.
//!
//! Faults happen before the call reaches moto (nothing was done), except for the operations
//! named in [`FaultConfig::applied_then_failed`]: their first call is done, then answered 500,
//! as AWS sometimes does, which is what makes a call unsafe to repeat blindly.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// How the network behaves.
#[derive(Debug, Clone, Default)]
pub struct FaultConfig {
    /// Added to every AWS call.
    pub latency: Duration,
    /// The share of calls answered 500, 503 or a throttling error (a third each).
    pub failures: f64,
    /// The share of calls whose connection is closed without an answer.
    pub drops: f64,
    /// The random sequence: the same seed gives the same faults for the same calls.
    pub seed: u64,
    /// Operations (as [`operation`] names them, e.g. `apigateway CreateApi`; `*` stands for any
    /// text, e.g. `apigateway POST /v2/apis/*/routes`) whose first call is carried out and then
    /// answered 500.
    pub applied_then_failed: Vec<String>,
    /// Lambda operations whose first call is refused as Lambda refuses variables over 4 KB: a
    /// 400 whose message echoes every variable sent, values included.
    pub variables_too_large: Vec<String>,
    /// Lambda operations whose first call is refused as Lambda refuses a change while another
    /// is in progress: 409 `ResourceConflictException` (repeat a pattern to refuse more calls).
    pub in_progress: Vec<String>,
    /// Calls answered as AWS answers them in a moment of its own, in the service's error shape:
    /// (operation pattern, status, code, message), each for the first call that matches (S3's
    /// `NoSuchBucket` on a bucket's settings right after CreateBucket, `OperationAborted` on
    /// CreateBucket of a name just deleted).
    pub refusals: Vec<(String, u16, &'static str, &'static str)>,
    /// Operations whose first call is made twice, a copy just before it, as when another `up`
    /// started at the same moment makes the same call (two `CreateApi`s: two APIs). The copy's
    /// answer is thrown away.
    pub twice: Vec<String>,
    /// (Always: an S3 call whose `x-amz-expected-bucket-owner` header is not signed is refused
    /// 403, as S3 refuses any unsigned `x-amz-` header.)
    ///
    /// Buckets that another account owns, with that account: an S3 call to one that names
    /// another expected owner (`x-amz-expected-bucket-owner`) is refused 403 `AccessDenied`, as
    /// S3 refuses it; a call that names none goes through (as it would, were the bucket's policy
    /// to let it).
    pub bucket_owners: Vec<(String, String)>,
}

/// What went through the proxy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// AWS calls, answered or not.
    pub calls: usize,
    pub failed: usize,
    pub dropped: usize,
    /// Calls per operation.
    pub operations: BTreeMap<String, usize>,
}

struct State {
    config: FaultConfig,
    random: u64,
    stats: Stats,
}

pub struct FaultProxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    /// A proxy on 127.0.0.1 (a port of its own) in front of `upstream` (`http://host:port`),
    /// for as long as the process lives.
    pub fn start(upstream: &str, config: FaultConfig) -> FaultProxy {
        let state = Arc::new(Mutex::new(State {
            random: config.seed ^ 0x9E37_79B9_7F4A_7C15,
            config,
            stats: Stats::default(),
        }));
        let addr = serve(upstream.trim_end_matches('/').to_owned(), state.clone());
        FaultProxy {
            endpoint: format!("http://{addr}"),
            state,
        }
    }

    pub fn stats(&self) -> Stats {
        self.state.lock().expect("proxy state").stats.clone()
    }

    /// Forgets the calls counted so far.
    pub fn reset(&self) {
        self.state.lock().expect("proxy state").stats = Stats::default();
    }

    /// Behaves as `config` says from now on (the random sequence restarts from its seed).
    pub fn set_config(&self, config: FaultConfig) {
        let mut state = self.state.lock().expect("proxy state");
        state.random = config.seed ^ 0x9E37_79B9_7F4A_7C15;
        state.config = config;
    }
}

/// What to do with one call.
enum Fate {
    Forward,
    Fail(Failure),
    Drop,
    ForwardThenFail,
    /// Lambda's answer to variables over 4 KB, which echoes them.
    VariablesTooLarge,
    /// Lambda's answer to a change while an update is in progress.
    InProgress,
    /// One of [`FaultConfig::refusals`]: status, code, message.
    Refused(u16, &'static str, &'static str),
    /// One of [`FaultConfig::twice`]: a copy first, then the call.
    Twice,
}

#[derive(Clone, Copy)]
enum Failure {
    Internal,
    Unavailable,
    Throttled,
}

/// splitmix64: small, seeded, good enough to pick faults.
fn next(random: &mut u64) -> f64 {
    *random = random.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *random;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// The service a call is signed for: `Credential=KEY/DATE/REGION/SERVICE/aws4_request`.
fn service(headers: &hyper::HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("unknown")
        .to_owned()
}

/// A call's name: `logs CreateLogGroup`, `iam CreateRole`, `s3 PUT /bucket?policy`.
pub fn operation(
    service: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> String {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if let Some(target) = header("x-amz-target") {
        return format!("{service} {}", target.rsplit('.').next().unwrap_or(target));
    }
    // Smithy RPC v2 CBOR (CloudWatch) names it in the path: /service/NAME/operation/OP.
    if let Some((_, op)) = path
        .strip_prefix("/service/")
        .and_then(|p| p.split_once("/operation/"))
    {
        return format!("{service} {op}");
    }
    // The query protocol (IAM, STS, SNS) names the action in the form body.
    if let Some(action) = ["iam", "sts", "sns"]
        .contains(&service)
        .then(|| std::str::from_utf8(body).ok())
        .flatten()
        .and_then(|b| b.split('&').find_map(|p| p.strip_prefix("Action=")))
    {
        return format!("{service} {action}");
    }
    match (service, method, path) {
        ("apigateway", "POST", p) if p.trim_end_matches('/') == "/v2/apis" => {
            "apigateway CreateApi".to_owned()
        }
        ("apigateway", "POST", p) if p.ends_with("/integrations") => {
            "apigateway CreateIntegration".to_owned()
        }
        _ => {
            // REST calls: the path's shape, its query's keys (not their values).
            let (path, query) = path.split_once('?').unwrap_or((path, ""));
            let keys: Vec<&str> = query
                .split('&')
                .filter(|q| !q.is_empty())
                .map(|q| q.split('=').next().unwrap_or(q))
                .collect();
            if keys.is_empty() {
                format!("{service} {method} {path}")
            } else {
                format!("{service} {method} {path}?{}", keys.join("&"))
            }
        }
    }
}

/// The bucket a path-style S3 request is for.
fn bucket_of(path: &str) -> &str {
    path.trim_start_matches('/')
        .split(['/', '?'])
        .next()
        .unwrap_or_default()
}

/// Whether `name` fits `pattern`, where `*` stands for any text.
fn matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i == parts.len() - 1 {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// Lambda's refusal of variables over 4 KB: its message echoes them all, as Lambda does.
fn variables_too_large(request: &[u8]) -> Vec<u8> {
    let variables = serde_json::from_slice::<serde_json::Value>(request)
        .ok()
        .map(|r| r["Environment"]["Variables"].to_string())
        .unwrap_or_default();
    serde_json::json!({
        "Type": "User",
        "message": format!("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {variables}"),
    })
    .to_string()
    .into_bytes()
}

/// `{"__type": code, "message": message}` in CBOR (text strings under 256 bytes).
fn cbor_error(code: &str, message: &str) -> Vec<u8> {
    let text = |s: &str| {
        let mut out = if s.len() < 24 {
            vec![0x60 + s.len() as u8]
        } else {
            vec![0x78, s.len() as u8]
        };
        out.extend(s.bytes());
        out
    };
    let mut body = vec![0xa2];
    for part in ["__type", code, "message", message] {
        body.extend(text(part));
    }
    body
}

/// The failure as `service` answers it: status, headers, body.
fn failure(service: &str, failure: Failure) -> (u16, Vec<(&'static str, String)>, Vec<u8>) {
    let (status, code, message) = match (service, failure) {
        (_, Failure::Internal) => (500, "InternalFailure", "We encountered an internal error"),
        ("s3", Failure::Unavailable) => {
            (503, "ServiceUnavailable", "Please reduce your request rate")
        }
        (_, Failure::Unavailable) => (503, "ServiceUnavailable", "Service is unavailable"),
        ("s3", Failure::Throttled) => (503, "SlowDown", "Please reduce your request rate"),
        ("lambda" | "apigateway", Failure::Throttled) => {
            (429, "TooManyRequestsException", "Rate exceeded")
        }
        ("athena", Failure::Throttled) => (400, "TooManyRequestsException", "Rate exceeded"),
        ("iam" | "sts" | "monitoring", Failure::Throttled) => (400, "Throttling", "Rate exceeded"),
        // SNS's ThrottledException: a code the SDK's throttling list lacks, and 429.
        ("sns", Failure::Throttled) => (429, "Throttled", "Rate exceeded"),
        (_, Failure::Throttled) => (400, "ThrottlingException", "Rate exceeded"),
    };
    let code = match (service, failure) {
        ("s3", Failure::Internal) => "InternalError",
        ("iam" | "sts", Failure::Internal) => "ServiceFailure",
        ("lambda", Failure::Internal) => "ServiceException",
        ("sns", Failure::Internal) => "InternalError",
        ("monitoring", Failure::Internal) => "InternalServiceError",
        _ => code,
    };
    shaped(service, status, code, message)
}

/// An error as `service` shapes it: status, headers, body.
fn shaped(
    service: &str,
    status: u16,
    code: &str,
    message: &str,
) -> (u16, Vec<(&'static str, String)>, Vec<u8>) {
    match service {
        "s3" => (
            status,
            vec![("content-type", "application/xml".to_owned())],
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault</RequestId></Error>"
            )
            .into_bytes(),
        ),
        "iam" | "sts" | "sns" => (
            status,
            vec![("content-type", "text/xml".to_owned())],
            format!(
                "<ErrorResponse><Error><Type>{}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>",
                if status >= 500 { "Receiver" } else { "Sender" }
            )
            .into_bytes(),
        ),
        // The CBOR protocol: a map of `__type` and `message`.
        "monitoring" => (
            status,
            vec![
                ("content-type", "application/cbor".to_owned()),
                ("smithy-protocol", "rpc-v2-cbor".to_owned()),
            ],
            cbor_error(code, message),
        ),
        "lambda" | "apigateway" => (
            status,
            vec![
                ("content-type", "application/json".to_owned()),
                ("x-amzn-errortype", code.to_owned()),
            ],
            format!("{{\"message\":\"{message}\",\"Type\":\"Service\"}}").into_bytes(),
        ),
        _ => (
            status,
            vec![("content-type", "application/x-amz-json-1.1".to_owned())],
            format!("{{\"__type\":\"{code}\",\"message\":\"{message}\"}}").into_bytes(),
        ),
    }
}

fn serve(upstream: String, state: Arc<Mutex<State>>) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
    let addr = listener.local_addr().expect("proxy address");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the proxy");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let client =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<Full<Bytes>>();
            let upstream = Arc::new(upstream);
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (state, client, upstream) = (state.clone(), client.clone(), upstream.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        pass(req, state.clone(), client.clone(), upstream.clone())
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    addr
}

type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

/// The error that makes hyper close the connection without an answer.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the fault proxy")
    }
}

impl std::error::Error for Dropped {}

async fn pass(
    req: hyper::Request<hyper::body::Incoming>,
    state: Arc<Mutex<State>>,
    client: Client,
    upstream: Arc<String>,
) -> Result<hyper::Response<Full<Bytes>>, Box<dyn std::error::Error + Send + Sync>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.to_string());
    let aws = !path.starts_with("/moto-api");
    let (fate, latency) = if aws {
        let service = service(&parts.headers);
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
            .collect();
        let name = operation(&service, parts.method.as_str(), &path, &headers, &body);
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let mut s = state.lock().expect("proxy state");
        let s = &mut *s;
        s.stats.calls += 1;
        *s.stats.operations.entry(name.clone()).or_default() += 1;
        let too_large = s
            .config
            .variables_too_large
            .iter()
            .position(|pattern| matches(pattern, &name));
        let in_progress = s
            .config
            .in_progress
            .iter()
            .position(|pattern| matches(pattern, &name));
        let refusal = s
            .config
            .refusals
            .iter()
            .position(|(pattern, ..)| matches(pattern, &name));
        let not_the_owner = service == "s3"
            && header("x-amz-expected-bucket-owner").is_some_and(|expected| {
                s.config
                    .bucket_owners
                    .iter()
                    .any(|(bucket, owner)| bucket_of(&path) == bucket && expected != owner)
            });
        // S3 refuses an `x-amz-` header the signature does not cover; moto does not check.
        let unsigned_owner = service == "s3"
            && header("x-amz-expected-bucket-owner").is_some()
            && !header("authorization").is_some_and(|a| {
                a.split("SignedHeaders=")
                    .nth(1)
                    .and_then(|h| h.split(',').next())
                    .is_some_and(|h| h.split(';').any(|h| h == "x-amz-expected-bucket-owner"))
            });
        let twice = s
            .config
            .twice
            .iter()
            .position(|pattern| matches(pattern, &name));
        let fate = if unsigned_owner {
            s.stats.failed += 1;
            Fate::Refused(
                403,
                "AccessDenied",
                "There were headers present in the request which were not signed",
            )
        } else if not_the_owner {
            s.stats.failed += 1;
            Fate::Refused(403, "AccessDenied", "Access Denied")
        } else if let Some(i) = twice {
            s.config.twice.remove(i);
            Fate::Twice
        } else if let Some(i) = refusal {
            let (_, status, code, message) = s.config.refusals.remove(i);
            s.stats.failed += 1;
            Fate::Refused(status, code, message)
        } else if let Some(i) = too_large {
            s.config.variables_too_large.remove(i);
            s.stats.failed += 1;
            Fate::VariablesTooLarge
        } else if let Some(i) = in_progress {
            s.config.in_progress.remove(i);
            s.stats.failed += 1;
            Fate::InProgress
        } else if let Some(i) = s
            .config
            .applied_then_failed
            .iter()
            .position(|pattern| matches(pattern, &name))
        {
            s.config.applied_then_failed.remove(i);
            s.stats.failed += 1;
            Fate::ForwardThenFail
        } else {
            let r = next(&mut s.random);
            if r < s.config.failures {
                s.stats.failed += 1;
                let kind = match (r / s.config.failures * 3.0) as u32 {
                    0 => Failure::Internal,
                    1 => Failure::Unavailable,
                    _ => Failure::Throttled,
                };
                Fate::Fail(kind)
            } else if r < s.config.failures + s.config.drops {
                s.stats.dropped += 1;
                Fate::Drop
            } else {
                Fate::Forward
            }
        };
        (Some((fate, service)), s.config.latency)
    } else {
        (None, Duration::ZERO)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let fail = |service: &str, kind| {
        let (status, headers, text) = failure(service, kind);
        let mut response = hyper::Response::builder().status(status);
        for (name, value) in headers {
            response = response.header(name, value);
        }
        Ok(response.body(Full::new(Bytes::from(text)))?)
    };
    match &fate {
        Some((Fate::Fail(kind), service)) => return fail(service, *kind),
        Some((Fate::Drop, _)) => return Err(Box::new(Dropped)),
        Some((Fate::VariablesTooLarge, _)) => {
            return Ok(hyper::Response::builder()
                .status(400)
                .header("content-type", "application/json")
                .header("x-amzn-errortype", "InvalidParameterValueException")
                .body(Full::new(Bytes::from(variables_too_large(&body))))?);
        }
        Some((Fate::Refused(status, code, message), service)) => {
            let (status, headers, text) = shaped(service, *status, code, message);
            let mut response = hyper::Response::builder().status(status);
            for (name, value) in headers {
                response = response.header(name, value);
            }
            return Ok(response.body(Full::new(Bytes::from(text)))?);
        }
        Some((Fate::InProgress, _)) => {
            let message = format!(
                "The operation cannot be performed at this time. An update is in progress for resource: {path}"
            );
            return Ok(hyper::Response::builder()
                .status(409)
                .header("content-type", "application/json")
                .header("x-amzn-errortype", "ResourceConflictException")
                .body(Full::new(Bytes::from(
                    serde_json::json!({"Type": "User", "message": message}).to_string(),
                )))?);
        }
        _ => {}
    }
    let forward = || {
        let mut forward = hyper::Request::builder()
            .method(parts.method.clone())
            .uri(format!("{upstream}{path}"));
        for (name, value) in &parts.headers {
            if !["connection", "host"].contains(&name.as_str()) {
                forward = forward.header(name, value);
            }
        }
        forward.body(Full::new(body.clone()))
    };
    if let Some((Fate::Twice, _)) = &fate {
        client
            .request(forward()?)
            .await?
            .into_body()
            .collect()
            .await?;
    }
    let response = client.request(forward()?).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let payload = response.into_body().collect().await?.to_bytes();
    if let Some((Fate::ForwardThenFail, service)) = &fate {
        return fail(service, Failure::Internal);
    }
    let mut answer = hyper::Response::builder().status(status);
    for (name, value) in &headers {
        if !["connection", "transfer-encoding"].contains(&name.as_str()) {
            answer = answer.header(name, value);
        }
    }
    Ok(answer.body(Full::new(payload))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_follow_the_seed_and_the_share() {
        let mut a = 7u64;
        let mut b = 7u64;
        let first: Vec<f64> = (0..1000).map(|_| next(&mut a)).collect();
        assert_eq!(first, (0..1000).map(|_| next(&mut b)).collect::<Vec<_>>());
        let under = first.iter().filter(|r| **r < 0.2).count();
        assert!((150..250).contains(&under), "{under} of 1000 under 0.2");
    }

    #[test]
    fn patterns_stand_for_operations() {
        assert!(matches("apigateway CreateApi", "apigateway CreateApi"));
        assert!(!matches("apigateway CreateApi", "apigateway CreateApis"));
        assert!(matches(
            "apigateway POST /v2/apis/*/routes",
            "apigateway POST /v2/apis/ab12/routes"
        ));
        assert!(!matches(
            "apigateway POST /v2/apis/*/routes",
            "apigateway POST /v2/apis/ab12/stages"
        ));
        assert!(matches(
            "s3 PUT /tgpipe-*-raw",
            "s3 PUT /tgpipe-1-eu-west-1-raw"
        ));
    }

    #[test]
    fn calls_are_named_by_protocol() {
        let target = vec![(
            "X-Amz-Target".to_owned(),
            "Logs_20140328.CreateLogGroup".to_owned(),
        )];
        assert_eq!(
            operation("logs", "POST", "/", &target, b"{}"),
            "logs CreateLogGroup"
        );
        assert_eq!(
            operation(
                "iam",
                "POST",
                "/",
                &[],
                b"Action=CreateRole&Version=2010-05-08"
            ),
            "iam CreateRole"
        );
        assert_eq!(
            operation("apigateway", "POST", "/v2/apis", &[], b"{}"),
            "apigateway CreateApi"
        );
        assert_eq!(
            operation(
                "monitoring",
                "POST",
                "/service/GraniteServiceVersion20100801/operation/PutMetricAlarm",
                &[],
                b"\xa0"
            ),
            "monitoring PutMetricAlarm"
        );
        assert_eq!(
            operation("sns", "POST", "/", &[], b"Action=CreateTopic&Name=x"),
            "sns CreateTopic"
        );
        assert_eq!(
            operation("s3", "PUT", "/bucket?policy=", &[], b""),
            "s3 PUT /bucket?policy"
        );
    }
}
