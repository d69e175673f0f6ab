//! What a function should be (its spec, from the artifact and the stack), and how a deployed
//! function differs from it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Context;
use aws_sdk_lambda::Client;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::types::FunctionConfiguration;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::aws::{AwsResultExt, NotFound};
use crate::stack::permission::{self, Invoker};
use crate::stack::{Function, Stack};

use super::{ASYNC_MAX_AGE_S, ASYNC_RETRIES, LEASE_ONLY_TAG};

/// Where the built artifacts are: `{dir}/{ingest,etl}/bootstrap.zip`.
pub fn artifact_path(dir: &Path, f: Function) -> PathBuf {
    dir.join(f.suffix()).join("bootstrap.zip")
}

/// Where the artifacts are looked for when this binary carries none and no directory is given.
pub const DEFAULT_ARTIFACTS: &str = "target/lambda";

/// Where `up` takes the functions' code from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Artifacts {
    /// `{dir}/{ingest,etl}/bootstrap.zip`: `--artifacts DIR`, or `target/lambda`.
    Dir(PathBuf),
    /// The zips built into this binary (`scripts/release`).
    Embedded,
}

impl Artifacts {
    /// A directory given wins; else the zips inside this binary; else `target/lambda`.
    pub fn choose(given: Option<PathBuf>) -> Artifacts {
        match given {
            Some(dir) => Artifacts::Dir(dir),
            None if embedded::CARRIED => Artifacts::Embedded,
            None => Artifacts::Dir(DEFAULT_ARTIFACTS.into()),
        }
    }

    /// The zip of function `f`.
    pub fn zip(&self, f: Function) -> anyhow::Result<Vec<u8>> {
        let dir = match self {
            Artifacts::Embedded => return Ok(embedded::zip(f).to_vec()),
            Artifacts::Dir(dir) => dir,
        };
        let path = artifact_path(dir, f);
        std::fs::read(&path).with_context(|| {
            format!(
                "cannot read the {} Lambda artifact {}: build both with `scripts/lambdas` (see README), point --artifacts at the directory holding ingest/ and etl/, or use a binary built by `scripts/release`, which carries them",
                f.suffix(),
                path.display()
            )
        })
    }
}

impl std::fmt::Display for Artifacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Artifacts::Dir(dir) => write!(f, "{}", dir.display()),
            Artifacts::Embedded => write!(f, "built into this binary"),
        }
    }
}

#[cfg(feature = "embedded-lambdas")]
mod embedded {
    use crate::stack::Function;

    pub const CARRIED: bool = true;

    /// Each function's zip, as `scripts/release` built it (paths from build.rs).
    pub fn zip(f: Function) -> &'static [u8] {
        match f {
            Function::Ingest => include_bytes!(env!("TGPIPE_EMBEDDED_INGEST_ZIP")),
            Function::Etl => include_bytes!(env!("TGPIPE_EMBEDDED_ETL_ZIP")),
        }
    }
}

#[cfg(not(feature = "embedded-lambdas"))]
mod embedded {
    use crate::stack::Function;

    pub const CARRIED: bool = false;

    pub fn zip(_: Function) -> &'static [u8] {
        &[]
    }
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
        artifacts: &Artifacts,
        environment: BTreeMap<String, String>,
    ) -> anyhow::Result<FunctionSpec> {
        let zip = artifacts.zip(f)?;
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
            role_arn: stack.iam_arn(&format!("role/{}", stack.role(f))),
            environment,
            memory_mb,
            timeout_s,
            runs_alone: f == Function::Etl,
        })
    }
}

/// A deployed function as `up` compares it: configuration, tags, and for a function that runs
/// alone its reserved concurrency and asynchronous retries.
pub struct Deployed {
    pub(super) config: FunctionConfiguration,
    pub(super) tags: Option<HashMap<String, String>>,
    reserved: Option<i32>,
    async_retries: Option<(i32, i32)>,
    /// Who else its policy lets invoke it.
    pub(super) invokers: Vec<Invoker>,
}

impl Deployed {
    /// A function just created: no tags read, no concurrency reserved, no asynchronous settings.
    pub(super) fn created(arn: String) -> Deployed {
        Deployed {
            config: FunctionConfiguration::builder().function_arn(arn).build(),
            tags: None,
            reserved: None,
            async_retries: None,
            invokers: Vec::new(),
        }
    }

    /// Its environment.
    pub fn environment(&self) -> HashMap<String, String> {
        self.config
            .environment()
            .and_then(|e| e.variables())
            .cloned()
            .unwrap_or_default()
    }

    pub fn tags(&self) -> Option<&HashMap<String, String>> {
        self.tags.as_ref()
    }

    pub fn arn(&self) -> &str {
        self.config.function_arn().unwrap_or_default()
    }

    /// A variable of its environment.
    pub(super) fn variable(&self, variable: &str) -> Option<&str> {
        self.config
            .environment()?
            .variables()?
            .get(variable)
            .map(String::as_str)
    }

    fn lease_only(&self) -> bool {
        self.tags
            .as_ref()
            .is_some_and(|t| t.get(LEASE_ONLY_TAG).map(String::as_str) == Some("lease"))
    }

    /// What differs in how the function's runs are kept apart.
    pub(super) fn run_drift(&self) -> Vec<FunctionDrift> {
        let mut d = Vec::new();
        if self.reserved != Some(1) && !self.lease_only() {
            d.push(FunctionDrift::Concurrency);
        }
        if self.async_retries != Some((ASYNC_RETRIES, ASYNC_MAX_AGE_S)) {
            d.push(FunctionDrift::AsyncRetries);
        }
        d
    }
}

pub(super) async fn get(
    client: &Client,
    name: &str,
    f: Function,
) -> anyhow::Result<Option<Deployed>> {
    let runs_alone = f == Function::Etl;
    // The function and how its asynchronous runs retry, at once.
    let retries = async {
        if !runs_alone {
            return Ok(None);
        }
        match client
            .get_function_event_invoke_config()
            .function_name(name)
            .send()
            .await
        {
            Ok(c) => Ok(Some((
                c.maximum_retry_attempts().unwrap_or(-1),
                c.maximum_event_age_in_seconds().unwrap_or(-1),
            ))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e).aws(format!("Lambda GetFunctionEventInvokeConfig {name}")),
        }
    };
    let (out, async_retries, invokers) = tokio::join!(
        client.get_function().function_name(name).send(),
        retries,
        permission::others(client, name, permission::statement_id(f))
    );
    let out = match out {
        Ok(out) => out,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e).aws(format!("Lambda GetFunction {name}")),
    };
    let Some(config) = out.configuration().cloned() else {
        return Ok(None);
    };
    let reserved = out
        .concurrency()
        .and_then(|c| c.reserved_concurrent_executions());
    let async_retries = async_retries?;
    Ok(Some(Deployed {
        config,
        tags: out.tags().cloned(),
        reserved,
        async_retries,
        invokers: invokers?,
    }))
}

/// Keeps the function's runs apart: reserved concurrency 1, or where the account has none to
/// reserve (a new account's quota is 10), the lease alone, recorded in a tag and said.
pub(super) async fn apply_run_settings(
    client: &Client,
    name: &str,
    deployed: &Deployed,
    progress: &(dyn Fn(String) + Sync),
) -> anyhow::Result<()> {
    let drift = deployed.run_drift();
    if drift.contains(&FunctionDrift::Concurrency) {
        match client
            .put_function_concurrency()
            .function_name(name)
            .reserved_concurrent_executions(1)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_invalid_parameter_value_exception())
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
    if drift.contains(&FunctionDrift::AsyncRetries) {
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

mod drift;

pub use drift::FunctionDrift;
pub(super) use drift::differences;

#[cfg(test)]
mod tests;
