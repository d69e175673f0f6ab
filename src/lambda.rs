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
use crate::plan::{Resource, State};
use crate::stack::{Function, STACK_TAG, Stack};

/// Days the functions' logs are kept.
pub const LOG_RETENTION_DAYS: i32 = 30;
/// How long a freshly created role may take before Lambda can assume it.
const ROLE_PROPAGATION: Duration = Duration::from_secs(90);
/// How long a function may take to become ready after a change.
const READY_TIMEOUT: Duration = Duration::from_secs(300);

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
        })
    }
}

/// What differs between a deployed function and its spec; never the values of the environment.
fn differences(
    current: &FunctionConfiguration,
    tags: Option<&HashMap<String, String>>,
    spec: &FunctionSpec,
    stack: &Stack,
) -> (bool, Vec<String>) {
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
    if tags.is_none_or(|t| t.get(STACK_TAG).map(String::as_str) != Some(stack.name.as_str())) {
        drift.push("stack tag missing".to_owned());
    }
    (code, drift)
}

async fn get(
    client: &Client,
    name: &str,
) -> anyhow::Result<Option<(FunctionConfiguration, Option<HashMap<String, String>>)>> {
    match client.get_function().function_name(name).send().await {
        Ok(out) => Ok(out
            .configuration()
            .cloned()
            .map(|c| (c, out.tags().cloned()))),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(e).aws(format!("Lambda GetFunction {name}")),
    }
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
        let state = match get(client, &name).await? {
            None => State::Missing,
            Some((current, tags)) => {
                let (_, drift) = differences(&current, tags.as_ref(), spec, stack);
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
    dry_run: bool,
    progress: &(dyn Fn(String) + Sync),
) -> anyhow::Result<Vec<Resource>> {
    let before = inspect(client, stack, specs).await?;
    if dry_run {
        return Ok(before);
    }
    for (spec, resource) in specs.iter().zip(&before) {
        let name = &resource.name;
        match &resource.state {
            State::Present => {}
            State::Missing => create(client, stack, spec, progress).await?,
            State::Drifted(_) => {
                let Some((current, tags)) = get(client, name).await? else {
                    create(client, stack, spec, progress).await?;
                    continue;
                };
                let (code, drift) = differences(&current, tags.as_ref(), spec, stack);
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
                if drift
                    .iter()
                    .any(|d| d != "code differs" && d != "stack tag missing")
                {
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

/// Deletes the stack's functions; already gone is fine.
pub async fn destroy(
    client: &Client,
    stack: &Stack,
) -> anyhow::Result<Vec<(String, &'static str)>> {
    let mut out = Vec::new();
    for f in Function::ALL {
        let name = stack.function(f);
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

/// The functions' log groups, with a finite retention.
pub mod logs {
    use aws_sdk_cloudwatchlogs::Client;
    use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;

    use super::LOG_RETENTION_DAYS;
    use crate::aws::{AwsResultExt, removal};
    use crate::plan::{Resource, State};
    use crate::stack::{Function, STACK_TAG, Stack};

    async fn retention(client: &Client, name: &str) -> anyhow::Result<Option<Option<i32>>> {
        let out = client
            .describe_log_groups()
            .log_group_name_prefix(name)
            .send()
            .await
            .aws(format!("CloudWatch Logs DescribeLogGroups {name}"))?;
        Ok(out
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name))
            .map(|g| g.retention_in_days()))
    }

    pub async fn inspect(client: &Client, stack: &Stack) -> anyhow::Result<Vec<Resource>> {
        let mut out = Vec::new();
        for f in Function::ALL {
            let name = stack.log_group(f);
            let state = match retention(client, &name).await? {
                None => State::Missing,
                Some(Some(LOG_RETENTION_DAYS)) => State::Present,
                Some(_) => State::Drifted(vec!["retention differs".into()]),
            };
            out.push(Resource {
                kind: "log group",
                name,
                state,
            });
        }
        Ok(out)
    }

    pub async fn ensure(
        client: &Client,
        stack: &Stack,
        dry_run: bool,
    ) -> anyhow::Result<Vec<Resource>> {
        let before = inspect(client, stack).await?;
        if dry_run {
            return Ok(before);
        }
        for resource in &before {
            let name = &resource.name;
            if resource.state == State::Missing {
                match client
                    .create_log_group()
                    .log_group_name(name)
                    .tags(STACK_TAG, stack.name.as_str())
                    .send()
                    .await
                {
                    Ok(_) => {}
                    Err(e) if e.code() == Some("ResourceAlreadyExistsException") => {}
                    Err(e) => return Err(e).aws(format!("CloudWatch Logs CreateLogGroup {name}")),
                }
            }
            if resource.state != State::Present {
                client
                    .put_retention_policy()
                    .log_group_name(name)
                    .retention_in_days(LOG_RETENTION_DAYS)
                    .send()
                    .await
                    .aws(format!("CloudWatch Logs PutRetentionPolicy {name}"))?;
            }
        }
        Ok(before)
    }

    pub async fn destroy(
        client: &Client,
        stack: &Stack,
    ) -> anyhow::Result<Vec<(String, &'static str)>> {
        let mut out = Vec::new();
        for f in Function::ALL {
            let name = stack.log_group(f);
            let result = client.delete_log_group().log_group_name(&name).send().await;
            let what = removal(
                result,
                "ResourceNotFoundException",
                format!("CloudWatch Logs DeleteLogGroup {name}"),
            )?;
            out.push((name, what));
        }
        Ok(out)
    }
}

/// A resource-based permission on a function: `principal` may invoke it from `source_arn` only.
pub struct Permission<'a> {
    pub function: &'a str,
    pub statement_id: &'a str,
    pub principal: &'a str,
    pub source_arn: &'a str,
}

impl Permission<'_> {
    /// Present, missing, or drifted (another source ARN).
    pub async fn state(&self, client: &Client) -> anyhow::Result<State> {
        let policy = match client
            .get_policy()
            .function_name(self.function)
            .send()
            .await
        {
            Ok(out) => out.policy().map(str::to_owned).unwrap_or_default(),
            Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(State::Missing),
            Err(e) => return Err(e).aws(format!("Lambda GetPolicy {}", self.function)),
        };
        let policy: serde_json::Value = serde_json::from_str(&policy).unwrap_or_default();
        let statement = policy["Statement"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["Sid"] == self.statement_id));
        Ok(match statement {
            None => State::Missing,
            Some(s) if s.to_string().contains(self.source_arn) => State::Present,
            Some(_) => State::Drifted(vec![format!(
                "{} may invoke from another source",
                self.principal
            )]),
        })
    }

    /// Adds the permission, replacing a statement of the same id that names another source.
    pub async fn ensure(&self, client: &Client, before: &State) -> anyhow::Result<()> {
        match before {
            State::Present => return Ok(()),
            State::Drifted(_) => {
                client
                    .remove_permission()
                    .function_name(self.function)
                    .statement_id(self.statement_id)
                    .send()
                    .await
                    .aws(format!(
                        "Lambda RemovePermission {} {}",
                        self.function, self.statement_id
                    ))?;
            }
            State::Missing => {}
        }
        match client
            .add_permission()
            .function_name(self.function)
            .statement_id(self.statement_id)
            .action("lambda:InvokeFunction")
            .principal(self.principal)
            .source_arn(self.source_arn)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceConflictException") => Ok(()),
            Err(e) => Err(e).aws(format!(
                "Lambda AddPermission {} {}",
                self.function, self.statement_id
            )),
        }
    }
}
