//! AWS access as the AWS CLI does it: the standard credential chain, `--profile`, `--region`,
//! `--endpoint-url` (and `AWS_ENDPOINT_URL`), plus error messages that say what failed.

use aws_smithy_types::error::display::DisplayErrorContext;

/// Where to reach AWS.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// Loads the SDK configuration: flags first, then the environment and the shared config files.
pub async fn load(options: &AwsOptions) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
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
    s3_client_with(config, false)
}

/// [`s3_client`], logging each call when `verbose`.
pub fn s3_client_with(config: &aws_config::SdkConfig, verbose: bool) -> aws_sdk_s3::Client {
    let path_style = config.endpoint_url().is_some();
    let mut builder = aws_sdk_s3::config::Builder::from(config).force_path_style(path_style);
    if verbose {
        builder = builder.interceptor(LogCalls);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// A client of any AWS service, logging each call when `verbose`.
#[macro_export]
macro_rules! aws_client {
    ($service:ident, $config:expr, $verbose:expr) => {{
        let mut builder = $service::config::Builder::from($config);
        if $verbose {
            builder = builder.interceptor($crate::aws::LogCalls);
        }
        $service::Client::from_conf(builder.build())
    }};
}

/// `--verbose`: one line per AWS call on stderr — service, operation, HTTP status. Only AWS
/// calls pass here; Telegram's URLs (which carry the token) never do.
#[derive(Debug)]
pub struct LogCalls;

impl aws_smithy_runtime_api::client::interceptors::Intercept for LogCalls {
    fn name(&self) -> &'static str {
        "tgpipe-log-calls"
    }

    fn read_after_execution(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let (service, operation) = cfg
            .load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
            .map(|m| (m.service().to_owned(), m.name().to_owned()))
            .unwrap_or_default();
        let status = context
            .response()
            .map(|r| r.status().as_u16().to_string())
            .unwrap_or_else(|| "no response".to_owned());
        eprintln!("  aws {service} {operation}: {status}");
        Ok(())
    }
}

/// Turns an SDK error into one line that names the call and carries the service's reason.
pub fn aws_error<E>(what: impl std::fmt::Display, error: E) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    let reason = DisplayErrorContext(&error).to_string();
    // No answer at all: a wrong region (or one without the service), endpoint or network.
    let hint = if reason.contains("dispatch failure") {
        " — AWS could not be reached: check --region (is the service offered there?), --endpoint-url and your network"
    } else {
        ""
    };
    anyhow::anyhow!("{what}: {reason}{hint}")
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

/// The outcome of a delete call: deleted, or already gone when the service answers with
/// `missing_code`; any other error names the call.
pub fn removal<T, E>(
    result: Result<T, E>,
    missing_code: &str,
    what: impl std::fmt::Display,
) -> anyhow::Result<crate::plan::Removal>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
{
    match result {
        Ok(_) => Ok(crate::plan::Removal::Deleted),
        Err(e) if e.code() == Some(missing_code) => Ok(crate::plan::Removal::AlreadyGone),
        Err(e) => Err(aws_error(what, e)),
    }
}
