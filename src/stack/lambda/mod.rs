//! The two Lambda functions and their log groups, whole lifecycle.
//!
//! Code is uploaded only when its SHA-256 differs, configuration only when it differs, and every
//! change waits for the function to be ready before the next (Lambda refuses a second update
//! while one is in progress). A role created moments ago cannot be assumed yet: creation retries
//! with backoff and says so.

use std::time::Duration;

use anyhow::Context;
use aws_sdk_lambda::Client;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, Environment, FunctionCode, LastUpdateStatus, Runtime, State as FnState,
};

use crate::aws::{AlreadyExists, AwsResultExt, removal};
use crate::plan::{Kind, Removal, Removed, Resource};
use crate::stack::ownership::{Claim, Foreign};
use crate::stack::{Clients, Desired, Function, Note, Outputs, Part, STACK_TAG, Stack};

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

mod deployed;
mod invoke;
mod spec;

use deployed::deployed_drift;
pub use deployed::{deployed, deployed_environment, variable};
pub use invoke::{DAYS_PER_INVOCATION, dates_event, run_etl};
pub use spec::{
    Artifacts, DEFAULT_ARTIFACTS, Deployed, FunctionDrift, FunctionSpec, artifact_path,
};
use spec::{apply_run_settings, differences, get};

/// Waits until the function can take the next change (or invocations).
pub async fn wait_ready(client: &Client, name: &str) -> anyhow::Result<()> {
    wait(client, name, true).await
}

/// Waits while a change of the function is under way; a function whose last change failed can
/// take the change that repairs it (a bad zip fixed), so that is not an error here.
async fn wait_settled(client: &Client, name: &str) -> anyhow::Result<()> {
    wait(client, name, false).await
}

async fn wait(client: &Client, name: &str, failed_is_error: bool) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        let c = client
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .aws(format!("Lambda GetFunctionConfiguration {name}"))?;
        match (c.state(), c.last_update_status()) {
            (Some(FnState::Failed), _) | (_, Some(LastUpdateStatus::Failed)) if failed_is_error => {
                anyhow::bail!(
                    "Lambda function {name} failed to become ready: {}",
                    c.state_reason()
                        .or(c.last_update_status_reason())
                        .unwrap_or("no reason given")
                )
            }
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

/// Whether Lambda refused a change because another update of the function is in progress (a
/// `ResourceConflictException`, which Lambda also answers for a statement id already taken).
pub fn in_progress<E: ProvideErrorMetadata>(error: &E) -> bool {
    error.code() == Some("ResourceConflictException")
        && error.message().is_some_and(|m| {
            m.contains("in progress") || m.contains("currently in the following state")
        })
}

/// Makes a change Lambda refuses while another update of the function is in progress: waits
/// for the function to be ready first (an earlier change, ours or someone's, may still be
/// under way), and again after each such refusal.
pub async fn change_when_ready<T, E, F, Fut>(
    client: &Client,
    name: &str,
    what: &str,
    change: F,
) -> anyhow::Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<
        Output = Result<
            T,
            aws_smithy_runtime_api::client::result::SdkError<
                E,
                aws_smithy_runtime_api::client::orchestrator::HttpResponse,
            >,
        >,
    >,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut attempt = 1;
    loop {
        wait_settled(client, name).await?;
        match change().await {
            Ok(done) => return Ok(done),
            Err(e) if in_progress(&e) && attempt < crate::aws::MAX_ATTEMPTS => {
                tokio::time::sleep(crate::aws::backoff(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(crate::aws::aws_error(what, e)),
        }
    }
}

fn environment(spec: &FunctionSpec) -> Environment {
    Environment::builder()
        .set_variables(Some(spec.environment.clone().into_iter().collect()))
        .build()
}

/// The two functions.
pub struct Functions;

impl Part for Functions {
    /// Each function as deployed, in [`Function::ALL`]'s order; `None` when missing.
    type Found = Vec<Option<Deployed>>;
    const LABEL: &'static str = "functions";
    const STAGE: usize = 1;

    async fn read(&self, c: &Clients, stack: &Stack) -> anyhow::Result<Self::Found> {
        futures::future::try_join_all(
            Function::ALL.map(|f| async move { get(&c.lambda, &stack.function(f), f).await }),
        )
        .await
    }

    fn claims(&self, found: &Self::Found, stack: &Stack) -> Vec<Claim> {
        Function::ALL
            .iter()
            .zip(found)
            .map(|(f, d)| {
                let owned = d.as_ref().map(|d| stack.owns_map(d.tags.as_ref()));
                Claim::new(Kind::Function, stack.function(*f), owned)
            })
            .collect()
    }

    /// Against the specs `up` would deploy; without them (`status`), what can be known without
    /// the artifacts (the code is not compared).
    fn states(
        &self,
        found: &Self::Found,
        stack: &Stack,
        desired: Option<&Desired>,
    ) -> Vec<Resource> {
        Function::ALL
            .iter()
            .zip(found)
            .map(|(f, deployed)| {
                let spec = desired.and_then(|d| d.specs.iter().find(|s| s.function == *f));
                let drift = deployed.as_ref().map(|deployed| match spec {
                    Some(spec) => differences(deployed, spec, stack),
                    None => deployed_drift(*f, deployed, stack),
                });
                Resource::with_drift(Kind::Function, stack.function(*f), drift)
            })
            .collect()
    }

    /// Creates missing functions and updates what differs; `note` hears about waits.
    async fn apply(
        &self,
        c: &Clients,
        stack: &Stack,
        desired: &Desired,
        found: &Self::Found,
        _: &Outputs,
        note: Note<'_>,
    ) -> anyhow::Result<Outputs> {
        // The two functions are independent: made or updated side by side.
        futures::future::try_join_all(Function::ALL.iter().zip(found).filter_map(
            |(f, deployed)| {
                let spec = desired.specs.iter().find(|s| s.function == *f)?;
                Some(update(&c.lambda, stack, spec, deployed.as_ref(), note))
            },
        ))
        .await?;
        Ok(Outputs::default())
    }

    async fn remove(
        &self,
        c: &Clients,
        stack: &Stack,
        foreign: &Foreign,
        _: bool,
    ) -> anyhow::Result<Vec<Removed>> {
        destroy(&c.lambda, stack, foreign).await
    }
}

/// Creates the function of `spec` (`deployed` is `None`) or updates what differs from it.
async fn update(
    client: &Client,
    stack: &Stack,
    spec: &FunctionSpec,
    deployed: Option<&Deployed>,
    progress: Note<'_>,
) -> anyhow::Result<()> {
    let name = &stack.function(spec.function);
    let Some(deployed) = deployed else {
        create(client, stack, spec, progress).await?;
        if spec.runs_alone {
            // A new function has neither reserved concurrency nor asynchronous settings.
            let fresh = Deployed::created(stack.function_arn(spec.function));
            apply_run_settings(client, name, &fresh, progress).await?;
        }
        return Ok(());
    };
    let current = &deployed.config;
    let drift = differences(deployed, spec, stack);
    if drift.contains(&FunctionDrift::Code) {
        change_when_ready(
            client,
            name,
            &format!("Lambda UpdateFunctionCode {name}"),
            || {
                client
                    .update_function_code()
                    .function_name(name)
                    .zip_file(Blob::new(spec.zip.clone()))
                    .send()
            },
        )
        .await?;
        wait_ready(client, name).await?;
    }
    if drift.iter().any(FunctionDrift::is_configuration) {
        let what = format!("Lambda UpdateFunctionConfiguration {name}");
        change_when_ready(client, name, &what, || {
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
        })
        .await?;
        wait_ready(client, name).await?;
    }
    for drift in &drift {
        if let FunctionDrift::Invokers(others) = drift {
            for other in others {
                crate::stack::permission::revoke(client, name, &other.statement_id).await?;
            }
        }
    }
    if drift.contains(&FunctionDrift::StackTag) {
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
        apply_run_settings(client, name, deployed, progress).await?;
    }
    Ok(())
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
            Err(e) if e.is_already_exists() => break,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_invalid_parameter_value_exception())
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
async fn destroy(
    client: &Client,
    stack: &Stack,
    foreign: &Foreign,
) -> anyhow::Result<Vec<Removed>> {
    let mut out = Vec::new();
    for f in Function::ALL {
        let name = stack.function(f);
        if foreign.contains(Kind::Function, &name) {
            out.push(Removed::new(Kind::Function, name, Removal::NotOurs));
            continue;
        }
        let result = client.delete_function().function_name(&name).send().await;
        let what = removal(result, format!("Lambda DeleteFunction {name}"))?;
        out.push(Removed::new(Kind::Function, name, what));
    }
    Ok(out)
}

/// Each function's environment ([`Function::ALL`]'s order): the buckets, the kept chats, the
/// zone days are filed in, and (the ingest function's) the webhook secret.
pub fn environments(
    stack: &Stack,
    chats: &[i64],
    timezone: &str,
    secret: &str,
) -> [std::collections::BTreeMap<String, String>; 2] {
    let s = stack;
    let chats = chats
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    [
        std::collections::BTreeMap::from([
            (lake::env::RAW_BUCKET.to_owned(), s.raw_bucket()),
            (lake::env::ALLOWED_CHAT_IDS.to_owned(), chats),
            (lake::env::WEBHOOK_SECRET.to_owned(), secret.to_owned()),
            (lake::env::TIMEZONE.to_owned(), timezone.to_owned()),
            (lake::env::BUCKET_OWNER.to_owned(), s.account.clone()),
        ]),
        std::collections::BTreeMap::from([
            (lake::env::RAW_BUCKET.to_owned(), s.raw_bucket()),
            (lake::env::ENRICHED_BUCKET.to_owned(), s.enriched_bucket()),
            (lake::env::TIMEZONE.to_owned(), timezone.to_owned()),
            (lake::env::BUCKET_OWNER.to_owned(), s.account.clone()),
        ]),
    ]
}
