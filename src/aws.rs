//! AWS access as the AWS CLI does it: the standard credential chain, `--profile`, `--region`,
//! `--endpoint-url` (and `AWS_ENDPOINT_URL`), plus error messages that say what failed.

use aws_smithy_types::error::display::DisplayErrorContext;

pub mod found;
mod owner;

pub use found::{AlreadyExists, FindExt, NotFound};
pub use owner::ExpectedBucketOwner;

/// Where to reach AWS.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// Attempts of one call before its error is final. AWS's control planes answer 5xx and throttle
/// bursts; with a fifth of calls failing, ten attempts all fail once in ten million.
pub const MAX_ATTEMPTS: u32 = 10;

/// How every call retries: the SDK's standard mode (only errors it classifies as transient or
/// throttling, and only calls that are safe to repeat; see `stack::apigw` for two that are not),
/// exponential backoff with full jitter from 0.2 s, each wait at most 20 s.
pub fn retry_config() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(std::time::Duration::from_millis(200))
        .with_max_backoff(std::time::Duration::from_secs(20))
}

/// Loads the SDK configuration: flags first, then the environment and the shared config files.
pub async fn load(options: &AwsOptions) -> aws_config::SdkConfig {
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).retry_config(retry_config());
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &options.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// An S3 client; path-style addressing when an endpoint is overridden (emulators want it).
pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    s3_client_with(config, false, None)
}

/// [`s3_client`], logging each call when `verbose`, and naming `owner` as every bucket's
/// expected owner when given (see [`ExpectedBucketOwner`]).
pub fn s3_client_with(
    config: &aws_config::SdkConfig,
    verbose: bool,
    owner: Option<&str>,
) -> aws_sdk_s3::Client {
    let path_style = config.endpoint_url().is_some();
    let mut builder = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(path_style)
        .retry_classifier(TooManyRequests);
    if verbose {
        builder = builder.interceptor(LogCalls);
    }
    if let Some(owner) = owner {
        builder = builder.interceptor(ExpectedBucketOwner(owner.to_owned()));
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// A client of any AWS service, logging each call when `verbose`, retrying `429` (see
/// [`TooManyRequests`]).
#[macro_export]
macro_rules! aws_client {
    ($service:ident, $config:expr, $verbose:expr) => {{
        let mut builder =
            $service::config::Builder::from($config).retry_classifier($crate::aws::TooManyRequests);
        if $verbose {
            builder = builder.interceptor($crate::aws::LogCalls);
        }
        $service::Client::from_conf(builder.build())
    }};
}

/// Retries an answer of `429 Too Many Requests` as throttling. SNS throttles so (code
/// `Throttled`), a code the SDK's list of throttling errors lacks, and its model marks nothing
/// retryable: without this a burst of SNS calls would fail `up` at the first refusal.
#[derive(Debug, Clone, Copy)]
pub struct TooManyRequests;

impl aws_smithy_runtime_api::client::retries::classifiers::ClassifyRetry for TooManyRequests {
    fn classify_retry(
        &self,
        ctx: &aws_smithy_runtime_api::client::interceptors::context::InterceptorContext,
    ) -> aws_smithy_runtime_api::client::retries::classifiers::RetryAction {
        use aws_smithy_runtime_api::client::retries::classifiers::RetryAction;
        let failed = matches!(ctx.output_or_error(), Some(Err(_)));
        match ctx.response().map(|r| r.status().as_u16()) {
            Some(429) if failed => RetryAction::throttling_error(),
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "429 Too Many Requests"
    }
}

/// How `lake::Storage` reaches the buckets' objects with this configuration: its region, its
/// endpoint, and its credentials (a profile's, SSO's, a role's: whatever the chain found).
/// With `verbose`, each request to a bucket is a line, as every other AWS call is.
pub fn s3_access(
    config: &aws_config::SdkConfig,
    region: &str,
    verbose: bool,
) -> anyhow::Result<lake::S3Access> {
    use anyhow::Context as _;
    use aws_sdk_s3::config::ProvideCredentials;
    let provider = config
        .credentials_provider()
        .context("no AWS credentials: configure them as for the AWS CLI")?;
    let credentials: lake::CredentialSource = std::sync::Arc::new(move || {
        let provider = provider.clone();
        Box::pin(async move {
            let c = provider.provide_credentials().await?;
            Ok(lake::Credentials {
                key_id: c.access_key_id().to_owned(),
                secret_key: c.secret_access_key().to_owned(),
                token: c.session_token().map(str::to_owned),
                expires: c.expiry(),
            })
        })
    });
    // The endpoint every call goes to (--endpoint-url, AWS_ENDPOINT_URL), else S3's own.
    let endpoint = config
        .endpoint_url()
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_S3").ok());
    let log = verbose.then(|| -> lake::RequestLog {
        std::sync::Arc::new(|line: &str| crate::ui::trace(format_args!("  aws s3 {line}")))
    });
    Ok(lake::S3Access::new(region, endpoint, credentials, log))
}

/// `--verbose`: one line per AWS call on stderr — service, operation, HTTP status — and one per
/// retry as it starts, with what failed and how long it waited. Only AWS calls pass here;
/// Telegram's URLs (which carry the token) never do.
#[derive(Debug)]
pub struct LogCalls;

/// The attempt of a call that failed, until the next attempt starts.
#[derive(Debug, Clone)]
struct FailedAttempt {
    what: String,
    at: std::time::Instant,
}

impl aws_smithy_types::config_bag::Storable for FailedAttempt {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

/// The service and operation of the call a config bag belongs to.
fn call_name(cfg: &aws_smithy_types::config_bag::ConfigBag) -> (String, String) {
    cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
        .map(|m| (m.service().to_owned(), m.name().to_owned()))
        .unwrap_or_default()
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for LogCalls {
    fn name(&self) -> &'static str {
        "tgpipe-log-calls"
    }

    fn read_after_attempt(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let what = match context.response().map(|r| r.status().as_u16()) {
            Some(status) if status < 400 => return Ok(()),
            Some(status) => status.to_string(),
            None => "no answer".to_owned(),
        };
        cfg.interceptor_state().store_put(FailedAttempt {
            what,
            at: std::time::Instant::now(),
        });
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        // A failed attempt before this one: this attempt is its retry, after the SDK's wait.
        if let Some(failed) = cfg.load::<FailedAttempt>().cloned() {
            let (service, operation) = call_name(cfg);
            crate::ui::trace(format_args!(
                "  aws {service} {operation}: {}, retrying after {:.1} s",
                failed.what,
                failed.at.elapsed().as_secs_f64()
            ));
            cfg.interceptor_state().unset::<FailedAttempt>();
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let (service, operation) = call_name(cfg);
        let status = context
            .response()
            .map(|r| r.status().as_u16().to_string())
            .unwrap_or_else(|| "no response".to_owned());
        crate::ui::trace(format_args!("  aws {service} {operation}: {status}"));
        Ok(())
    }
}

/// Turns an SDK error into one line that names the call and carries the service's reason.
pub fn aws_error<E>(what: impl std::fmt::Display, error: E) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    // AWS echoes what it was sent (Lambda quotes every variable when they are too large).
    let reason = crate::withheld::withhold(&DisplayErrorContext(&error).to_string());
    let hint = if credentials_failed(&reason) {
        " — your AWS credentials could not be loaded: check --profile (or AWS_PROFILE) and that `aws sts get-caller-identity` works with them"
    } else if reason.contains("dispatch failure") {
        // No answer at all: a wrong region (or one without the service), endpoint or network.
        " — AWS could not be reached: check --region (is the service offered there?), --endpoint-url and your network"
    } else {
        ""
    };
    anyhow::anyhow!("{what}: {reason}{hint}")
}

/// Whether an SDK error is the credential chain's (no request went out because no credentials
/// were found or a provider failed), not the network's: both are "dispatch failures".
fn credentials_failed(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("dispatch failure") && (r.contains("credentials") || r.contains("auth scheme"))
}

/// The one-line refusal for a profile that assumes a role with an MFA device (`mfa_serial`):
/// the AWS CLI prompts for the code, the AWS SDK for Rust cannot; `None` for any other profile.
/// `config` is the AWS config file's text.
pub fn mfa_refusal(config: &str, profile: &str) -> Option<String> {
    let header = |line: &str| {
        let name = line.strip_prefix('[')?.strip_suffix(']')?.trim();
        Some(
            name.strip_prefix("profile ")
                .unwrap_or(name)
                .trim()
                .to_owned(),
        )
    };
    let (mut current, mut role, mut mfa) = (None, false, false);
    for line in config.lines().map(str::trim) {
        if let Some(name) = header(line) {
            current = Some(name);
        } else if current.as_deref() == Some(profile) {
            match line.split('=').next().map(str::trim) {
                Some("role_arn") => role = true,
                Some("mfa_serial") => mfa = true,
                _ => {}
            }
        }
    }
    // Keys with an MFA device but no role to assume (aws-vault, aws-mfa) work as they are.
    (role && mfa).then(|| format!(
        "the AWS profile {profile} assumes a role with an MFA code, which tgpipe cannot ask for: run `eval \"$(aws configure export-credentials --profile {profile} --format env)\"` (the AWS CLI asks for the code), then tgpipe without --profile"
    ))
}

/// `.aws("S3 CreateBucket my-bucket")?` on any SDK result.
pub trait AwsResultExt<T> {
    fn aws(self, what: impl std::fmt::Display) -> anyhow::Result<T>;
}

impl<T, E> AwsResultExt<T> for Result<T, E>
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn aws(self, what: impl std::fmt::Display) -> anyhow::Result<T> {
        self.map_err(|e| aws_error(what, e))
    }
}

/// The outcome of a delete call: deleted, or already gone when the service says there is no
/// such thing; any other error names the call.
pub fn removal<T, E>(
    result: Result<T, E>,
    what: impl std::fmt::Display,
) -> anyhow::Result<crate::plan::Removal>
where
    E: NotFound + std::error::Error + Send + Sync + 'static,
{
    Ok(match result.found().aws(what)? {
        Some(_) => crate::plan::Removal::Deleted,
        None => crate::plan::Removal::AlreadyGone,
    })
}

/// Whether a failed call may succeed if made again: no answer, a 5xx, or throttling.
pub fn is_transient<E>(
    error: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> bool
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(e) => {
            let code = e.err().code().unwrap_or_default();
            e.raw().status().as_u16() >= 500
                || e.raw().status().as_u16() == 429
                || code.contains("Throttl")
                || code.contains("TooManyRequests")
                || code == "SlowDown"
                || code == "RequestLimitExceeded"
        }
        _ => false,
    }
}

/// Makes something that has no idempotency token, once. AWS may carry out a create and still
/// answer 500 (or lose the answer), and a blind retry would make a second one; so the SDK does
/// not retry such a call, and here each new attempt first looks for what an earlier one made.
/// `create` must be sent without the SDK's retries.
pub async fn create_once<T, E, Look, LookFut, Create, CreateFut>(
    what: &str,
    look: Look,
    create: Create,
) -> anyhow::Result<T>
where
    Look: Fn() -> LookFut,
    LookFut: std::future::Future<Output = anyhow::Result<Option<T>>>,
    Create: Fn() -> CreateFut,
    CreateFut: std::future::Future<
            Output = Result<
                T,
                aws_smithy_runtime_api::client::result::SdkError<
                    E,
                    aws_smithy_runtime_api::client::orchestrator::HttpResponse,
                >,
            >,
        >,
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
{
    let mut attempt = 1;
    loop {
        if attempt > 1
            && let Some(made) = look().await?
        {
            return Ok(made);
        }
        match create().await {
            Ok(made) => return Ok(made),
            Err(e) if is_transient(&e) && attempt < MAX_ATTEMPTS => {
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(aws_error(what, e)),
        }
    }
}

/// The wait before retry `attempt` (1 for the first retry): exponential from 0.2 s, at most
/// 20 s, with full jitter, as the SDK's own retries wait.
pub fn backoff(attempt: u32) -> std::time::Duration {
    use std::hash::{BuildHasher, Hasher};
    let ceiling = (0.2 * 2f64.powi(attempt.saturating_sub(1).min(16) as i32)).min(20.0);
    // A fresh RandomState is randomly keyed: enough randomness for jitter without a crate.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let share = (random >> 11) as f64 / (1u64 << 53) as f64;
    std::time::Duration::from_secs_f64(ceiling * share)
}
