//! The two Lambda functions and their log groups, whole lifecycle.
//!
//! Code is uploaded only when its SHA-256 differs, configuration only when it differs, and every
//! change waits for the function to be ready before the next (Lambda refuses a second update
//! while one is in progress). A role created moments ago cannot be assumed yet: creation retries
//! with backoff and says so.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use aws_sdk_lambda::Client;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, Environment, FunctionCode, FunctionConfiguration, LastUpdateStatus, Runtime,
    State as FnState,
};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::aws::{AwsResultExt, removal};
use crate::stack::ownership::Claim;
use crate::plan::{Removal, Resource, State};
use crate::stack::{Function, STACK_TAG, Stack};

/// Days the functions' logs are kept.
pub const LOG_RETENTION_DAYS: i32 = 30;
/// How long a freshly created role may take before Lambda can assume it.
const ROLE_PROPAGATION: Duration = Duration::from_secs(90);
/// How long a function may take to become ready after a change.
const READY_TIMEOUT: Duration = Duration::from_secs(300);
/// The tag that records that the account could not reserve the ETL's concurrency, so that its
/// runs are kept apart by the lease alone (and `up` does not ask again on every run).
pub const LEASE_ONLY_TAG: &str = "tgpipe:etl-concurrency";
/// How often Lambda retries a failed asynchronous invocation of the ETL (the schedule's), and
/// how old such an event may get: a run that failed is tried again, but never piles up.
pub const ASYNC_RETRIES: i32 = 2;
pub const ASYNC_MAX_AGE_S: i32 = 6 * 3600;

/// Where the built artifacts are: `{dir}/{ingest,etl}/bootstrap.zip`.
pub fn artifact_path(dir: &Path, f: Function) -> PathBuf {
    dir.join(f.suffix()).join("bootstrap.zip")
}

/// Everything a function should be.
#[derive(Clone)]
pub struct FunctionSpec {
    pub function: Function,
    pub zip: Vec<u8>,
    /// Base64 of the zip's SHA-256, as Lambda reports `CodeSha256`.
    pub code_sha256: String,
    pub role_arn: String,
    pub environment: BTreeMap<String, String>,
    pub memory_mb: i32,
    pub timeout_s: i32,
    /// Whether runs must never overlap (the ETL): reserved concurrency 1, bounded async retries.
    pub runs_alone: bool,
}

impl std::fmt::Debug for FunctionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The environment holds the webhook secret: never printed.
        f.debug_struct("FunctionSpec")
            .field("function", &self.function)
            .field("code_sha256", &self.code_sha256)
            .field("role_arn", &self.role_arn)
            .finish_non_exhaustive()
    }
}

impl FunctionSpec {
    /// Reads the artifact of `f` under `artifacts`; a clear message says how to build it.
    pub fn load(
        stack: &Stack,
        f: Function,
        artifacts: &Path,
        environment: BTreeMap<String, String>,
    ) -> anyhow::Result<FunctionSpec> {
        let path = artifact_path(artifacts, f);
        let zip = std::fs::read(&path).with_context(|| {
            format!(
                "cannot read the {} Lambda artifact {}: build it with `cargo lambda build --release --output-format zip -p ingest -p etl` (see README), or point --artifacts at the directory holding ingest/ and etl/",
                f.suffix(),
                path.display()
            )
        })?;
        let code_sha256 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&zip));
        let (memory_mb, timeout_s) = match f {
            // One small write per call; Telegram waits for the answer.
            Function::Ingest => (256, 15),
            // A whole day in memory, up to a week of days per run.
            Function::Etl => (1024, 900),
        };
        Ok(FunctionSpec {
            function: f,
            zip,
            code_sha256,
            role_arn: format!("arn:aws:iam::{}:role/{}", stack.account, stack.role(f)),
            environment,
            memory_mb,
            timeout_s,
            runs_alone: f == Function::Etl,
        })
    }
}

/// A deployed function as `up` compares it: configuration, tags, and for a function that runs
/// alone its reserved concurrency and asynchronous retries.
struct Deployed {
    config: FunctionConfiguration,
    tags: Option<HashMap<String, String>>,
    reserved: Option<i32>,
    async_retries: Option<(i32, i32)>,
}

impl Deployed {
    fn lease_only(&self) -> bool {
        self.tags
            .as_ref()
            .is_some_and(|t| t.get(LEASE_ONLY_TAG).map(String::as_str) == Some("lease"))
    }

    /// What differs in how the function's runs are kept apart.
    fn run_drift(&self) -> Vec<String> {
        let mut d = Vec::new();
        if self.reserved != Some(1) && !self.lease_only() {
            d.push(CONCURRENCY_DRIFT.to_owned());
        }
        if self.async_retries != Some((ASYNC_RETRIES, ASYNC_MAX_AGE_S)) {
            d.push(ASYNC_DRIFT.to_owned());
        }
        d
    }
}

const CONCURRENCY_DRIFT: &str = "reserved concurrency is not 1";
const ASYNC_DRIFT: &str = "asynchronous retries differ";

/// What differs between a deployed function and its spec; never the values of the environment.
fn differences(deployed: &Deployed, spec: &FunctionSpec, stack: &Stack) -> (bool, Vec<String>) {
    let current = &deployed.config;
    let tags = deployed.tags.as_ref();
    let code = current.code_sha256() != Some(spec.code_sha256.as_str());
    let mut config = Vec::new();
    if current.runtime() != Some(&Runtime::Providedal2023) {
        config.push("runtime differs".to_owned());
    }
    if current.handler() != Some("bootstrap") {
        config.push("handler differs".to_owned());
    }
    if current.role() != Some(spec.role_arn.as_str()) {
        config.push("role differs".to_owned());
    }
    if current.memory_size() != Some(spec.memory_mb) {
        config.push("memory differs".to_owned());
    }
    if current.timeout() != Some(spec.timeout_s) {
        config.push("timeout differs".to_owned());
    }
    let env: BTreeMap<String, String> = current
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if env != spec.environment {
        let mut keys: Vec<&String> = env.keys().chain(spec.environment.keys()).collect();
        keys.sort();
        keys.dedup();
        let changed: Vec<&str> = keys
            .into_iter()
            .filter(|k| env.get(*k) != spec.environment.get(*k))
            .map(String::as_str)
            .collect();
        config.push(format!("environment differs ({})", changed.join(", ")));
    }
    let mut drift = Vec::new();
    if code {
        drift.push("code differs".to_owned());
    }
    drift.extend(config);
    if !stack.owns_map(tags) {
        drift.push("stack tag missing".to_owned());
    }
    if spec.runs_alone {
        drift.extend(deployed.run_drift());
    }
    (code, drift)
}

async fn get(client: &Client, name: &str, runs_alone: bool) -> anyhow::Result<Option<Deployed>> {
    let out = match client.get_function().function_name(name).send().await {
        Ok(out) => out,
        Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(None),
        Err(e) => return Err(e).aws(format!("Lambda GetFunction {name}")),
    };
    let Some(config) = out.configuration().cloned() else {
        return Ok(None);
    };
    let reserved = out
        .concurrency()
        .and_then(|c| c.reserved_concurrent_executions());
    let async_retries = if runs_alone {
        match client
            .get_function_event_invoke_config()
            .function_name(name)
            .send()
            .await
        {
            Ok(c) => Some((
                c.maximum_retry_attempts().unwrap_or(-1),
                c.maximum_event_age_in_seconds().unwrap_or(-1),
            )),
            Err(e) if e.code() == Some("ResourceNotFoundException") => None,
            Err(e) => return Err(e).aws(format!("Lambda GetFunctionEventInvokeConfig {name}")),
        }
    } else {
        None
    };
    Ok(Some(Deployed {
        config,
        tags: out.tags().cloned(),
        reserved,
        async_retries,
    }))
}

/// What differs in how a deployed function that runs alone (the ETL) keeps its runs apart; none
/// when the function is missing.
pub async fn run_drift(client: &Client, name: &str) -> anyhow::Result<Vec<String>> {
    Ok(get(client, name, true)
        .await?
        .map(|d| d.run_drift())
        .unwrap_or_default())
}

/// Keeps the function's runs apart: reserved concurrency 1, or where the account has none to
/// reserve (a new account's quota is 10), the lease alone, recorded in a tag and said.
async fn apply_run_settings(
    client: &Client,
    name: &str,
    deployed: &Deployed,
    progress: &(dyn Fn(String) + Sync),
) -> anyhow::Result<()> {
    let drift = deployed.run_drift();
    if drift.iter().any(|d| d == CONCURRENCY_DRIFT) {
        match client
            .put_function_concurrency()
            .function_name(name)
            .reserved_concurrent_executions(1)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e)
                if e.code() == Some("InvalidParameterValueException")
                    && e.message()
                        .is_some_and(|m| m.contains("UnreservedConcurrentExecution")) =>
            {
                progress(format!(
                    "{name}: this account has no concurrency to reserve (its quota is too low); the ETL's runs are kept apart by a lease object instead"
                ));
                let arn = deployed
                    .config
                    .function_arn()
                    .context("Lambda GetFunction returned no ARN")?;
                client
                    .tag_resource()
                    .resource(arn)
                    .tags(LEASE_ONLY_TAG, "lease")
                    .send()
                    .await
                    .aws(format!("Lambda TagResource {name}"))?;
            }
            Err(e) => return Err(e).aws(format!("Lambda PutFunctionConcurrency {name}")),
        }
    }
    if drift.iter().any(|d| d == ASYNC_DRIFT) {
        client
            .put_function_event_invoke_config()
            .function_name(name)
            .maximum_retry_attempts(ASYNC_RETRIES)
            .maximum_event_age_in_seconds(ASYNC_MAX_AGE_S)
            .send()
            .await
            .aws(format!("Lambda PutFunctionEventInvokeConfig {name}"))?;
    }
    Ok(())
}

/// The state of each function against its spec.
pub async fn inspect(
    client: &Client,
    stack: &Stack,
    specs: &[FunctionSpec],
) -> anyhow::Result<Vec<Resource>> {
    let mut out = Vec::new();
    for spec in specs {
        let name = stack.function(spec.function);
        let state = match get(client, &name, spec.runs_alone).await? {
            None => State::Missing,
            Some(deployed) => {
                let (_, drift) = differences(&deployed, spec, stack);
                if drift.is_empty() {
                    State::Present
                } else {
                    State::Drifted(drift)
                }
            }
        };
        out.push(Resource {
            kind: "lambda function",
            name,
            state,
        });
    }
    Ok(out)
}

/// Waits until the function can take the next change (or invocations).
pub async fn wait_ready(client: &Client, name: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        let c = client
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .aws(format!("Lambda GetFunctionConfiguration {name}"))?;
        match (c.state(), c.last_update_status()) {
            (Some(FnState::Failed), _) | (_, Some(LastUpdateStatus::Failed)) => anyhow::bail!(
                "Lambda function {name} failed to become ready: {}",
                c.state_reason()
                    .or(c.last_update_status_reason())
                    .unwrap_or("no reason given")
            ),
            (Some(FnState::Pending), _) | (_, Some(LastUpdateStatus::InProgress)) => {}
            _ => return Ok(()),
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!(
                "Lambda function {name} was not ready after {}s; run `tgpipe up` again",
                READY_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn environment(spec: &FunctionSpec) -> Environment {
    Environment::builder()
        .set_variables(Some(spec.environment.clone().into_iter().collect()))
        .build()
}

/// Creates missing functions and updates what differs. `progress` hears about waits.
pub async fn ensure(
    client: &Client,
    stack: &Stack,
    specs: &[FunctionSpec],
    progress: &(dyn Fn(String) + Sync),
) -> anyhow::Result<Vec<Resource>> {
    let before = inspect(client, stack, specs).await?;
    for (spec, resource) in specs.iter().zip(&before) {
        let name = &resource.name;
        match &resource.state {
            State::Present => {}
            State::Missing => {
                create(client, stack, spec, progress).await?;
                if spec.runs_alone
                    && let Some(deployed) = get(client, name, true).await?
                {
                    apply_run_settings(client, name, &deployed, progress).await?;
                }
            }
            State::Drifted(_) => {
                let Some(deployed) = get(client, name, spec.runs_alone).await? else {
                    create(client, stack, spec, progress).await?;
                    continue;
                };
                let current = &deployed.config;
                let (code, drift) = differences(&deployed, spec, stack);
                if code {
                    client
                        .update_function_code()
                        .function_name(name)
                        .zip_file(Blob::new(spec.zip.clone()))
                        .send()
                        .await
                        .aws(format!("Lambda UpdateFunctionCode {name}"))?;
                    wait_ready(client, name).await?;
                }
                let others = [
                    "code differs",
                    "stack tag missing",
                    CONCURRENCY_DRIFT,
                    ASYNC_DRIFT,
                ];
                if drift.iter().any(|d| !others.contains(&d.as_str())) {
                    client
                        .update_function_configuration()
                        .function_name(name)
                        .runtime(Runtime::Providedal2023)
                        .handler("bootstrap")
                        .role(&spec.role_arn)
                        .memory_size(spec.memory_mb)
                        .timeout(spec.timeout_s)
                        .environment(environment(spec))
                        .send()
                        .await
                        .aws(format!("Lambda UpdateFunctionConfiguration {name}"))?;
                    wait_ready(client, name).await?;
                }
                if drift.iter().any(|d| d == "stack tag missing") {
                    let arn = current
                        .function_arn()
                        .context("Lambda GetFunction returned no ARN")?;
                    client
                        .tag_resource()
                        .resource(arn)
                        .tags(STACK_TAG, stack.name.as_str())
                        .send()
                        .await
                        .aws(format!("Lambda TagResource {name}"))?;
                }
                if spec.runs_alone {
                    apply_run_settings(client, name, &deployed, progress).await?;
                }
            }
        }
    }
    Ok(before)
}

async fn create(
    client: &Client,
    stack: &Stack,
    spec: &FunctionSpec,
    progress: &(dyn Fn(String) + Sync),
) -> anyhow::Result<()> {
    let name = stack.function(spec.function);
    let started = tokio::time::Instant::now();
    let mut delay = Duration::from_secs(1);
    loop {
        let result = client
            .create_function()
            .function_name(&name)
            .runtime(Runtime::Providedal2023)
            .architectures(Architecture::X8664)
            .handler("bootstrap")
            .role(&spec.role_arn)
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(spec.zip.clone()))
                    .build(),
            )
            .memory_size(spec.memory_mb)
            .timeout(spec.timeout_s)
            .environment(environment(spec))
            .description(format!(
                "tgpipe stack {}: {}",
                stack.name,
                spec.function.suffix()
            ))
            .tags(STACK_TAG, stack.name.as_str())
            .send()
            .await;
        match result {
            Ok(_) => break,
            // An interrupted run created it already: the next `ensure` step updates it.
            Err(e) if e.code() == Some("ResourceConflictException") => break,
            Err(e)
                if e.code() == Some("InvalidParameterValueException")
                    && e.message().is_some_and(|m| m.contains("cannot be assumed"))
                    && started.elapsed() < ROLE_PROPAGATION =>
            {
                progress(format!(
                    "{name}: the new IAM role is not assumable yet (IAM propagation); retrying in {}s",
                    delay.as_secs()
                ));
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            Err(e) => return Err(e).aws(format!("Lambda CreateFunction {name}")),
        }
    }
    wait_ready(client, &name).await
}

/// Deletes the stack's functions; already gone is fine; one that is not the stack's is kept.
pub async fn destroy(
    client: &Client,
    stack: &Stack,
    foreign: &crate::stack::ownership::Foreign,
) -> anyhow::Result<Vec<(String, Removal)>> {
    let mut out = Vec::new();
    for f in Function::ALL {
        let name = stack.function(f);
        if foreign.contains(&name) {
            out.push((name, Removal::NotOurs));
            continue;
        }
        let result = client.delete_function().function_name(&name).send().await;
        let what = removal(
            result,
            "ResourceNotFoundException",
            format!("Lambda DeleteFunction {name}"),
        )?;
        out.push((name, what));
    }
    Ok(out)
}

/// Whether both functions exist (the API and the schedule have something to invoke).
pub async fn all_exist(client: &Client, stack: &Stack) -> anyhow::Result<bool> {
    for f in Function::ALL {
        if configuration(client, &stack.function(f)).await?.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A function's configuration; `None` when there is no such function.
async fn configuration(
    client: &Client,
    name: &str,
) -> anyhow::Result<
    Option<aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput>,
> {
    match client
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
    {
        Ok(c) => Ok(Some(c)),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(e).aws(format!("Lambda GetFunctionConfiguration {name}")),
    }
}

/// A variable of a deployed function's environment; `None` when it or the function is missing.
pub async fn variable(
    client: &Client,
    stack: &Stack,
    f: Function,
    variable: &str,
) -> anyhow::Result<Option<String>> {
    Ok(configuration(client, &stack.function(f))
        .await?
        .and_then(|c| c.environment()?.variables()?.get(variable).cloned()))
}

/// The variables each function must have.
fn required_variables(f: Function) -> &'static [&'static str] {
    match f {
        Function::Ingest => &[
            lake::env::RAW_BUCKET,
            lake::env::TIMEZONE,
            lake::env::ALLOWED_CHAT_IDS,
            lake::env::WEBHOOK_SECRET,
        ],
        Function::Etl => &[
            lake::env::RAW_BUCKET,
            lake::env::TIMEZONE,
            lake::env::ENRICHED_BUCKET,
        ],
    }
}

/// The functions as deployed, for `status`: present or missing, with drift in what can be known
/// without the artifacts (the code is not compared here).
pub async fn status(client: &Client, stack: &Stack) -> anyhow::Result<Vec<Resource>> {
    let mut out = Vec::new();
    for f in Function::ALL {
        let name = stack.function(f);
        let drift = match configuration(client, &name).await? {
            None => None,
            Some(c) => {
                let vars = c
                    .environment()
                    .and_then(|e| e.variables())
                    .cloned()
                    .unwrap_or_default();
                let missing: Vec<&str> = required_variables(f)
                    .iter()
                    .copied()
                    .filter(|k| !vars.contains_key(*k))
                    .collect();
                let raw_ok = vars.get(lake::env::RAW_BUCKET) == Some(&stack.raw_bucket());
                let mut drift = Vec::new();
                if !missing.is_empty() || !raw_ok {
                    drift.push(format!(
                        "environment differs ({})",
                        if missing.is_empty() {
                            lake::env::RAW_BUCKET.to_owned()
                        } else {
                            missing.join(", ")
                        }
                    ));
                }
                if f == Function::Etl {
                    // Overlapping runs could leave an update out: how runs are kept apart.
                    drift.extend(run_drift(client, &name).await?);
                }
                Some(drift)
            }
        };
        out.push(Resource::with_drift("lambda function", name, drift));
    }
    Ok(out)
}

/// Who holds the stack's function names (see [`crate::stack::ownership`]).
pub async fn claims(client: &Client, stack: &Stack) -> anyhow::Result<Vec<Claim>> {
    let mut out = Vec::new();
    for f in Function::ALL {
        let function = stack.function(f);
        let owned = match client.get_function().function_name(&function).send().await {
            Ok(out) => Some(stack.owns_map(out.tags())),
            Err(e) if e.code() == Some("ResourceNotFoundException") => None,
            Err(e) => return Err(e).aws(format!("Lambda GetFunction {function}")),
        };
        out.push(Claim::new("lambda function", function, owned));
    }
    Ok(out)
}
