//! The connection to one stack, for the commands that talk to AWS.

use anyhow::Context;

use crate::aws::AwsOptions;
use crate::stack::{Clients, Function, Stack, StackName, StackRead, lambda};

type Environment = std::collections::HashMap<String, String>;

/// Everything a command needs to talk to AWS about one stack.
pub struct Ctx {
    pub stack: Stack,
    pub aws: Clients,
    /// The whole stack, when a command reads it (once).
    read: tokio::sync::OnceCell<StackRead>,
    /// Each function's environment as deployed when first asked, for commands that do not read
    /// the whole stack (one read per command: the zone, the chats and the secret all come from
    /// it).
    deployed: [tokio::sync::OnceCell<Option<Environment>>; 2],
    /// How the buckets' objects are reached: the same region, endpoint and credentials as the
    /// AWS clients, through the Lambdas' own storage type.
    s3: lake::S3Access,
}

/// A profile whose role needs an MFA code would fail at its first call with a puzzling "access
/// denied": said up front instead, with the way round it.
fn refuse_mfa_profile(options: &AwsOptions) -> anyhow::Result<()> {
    // Keys in the environment come first in the chain (the way round the refusal sets them).
    let env_keys = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
        .iter()
        .all(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()));
    if env_keys && options.profile.is_none() {
        return Ok(());
    }
    let profile = options
        .profile
        .clone()
        .or_else(|| std::env::var("AWS_PROFILE").ok())
        .unwrap_or_else(|| "default".to_owned());
    let path = std::env::var_os("AWS_CONFIG_FILE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".aws/config")));
    // No config file (or an unreadable one) is the SDK's to report.
    let Some(text) = path.and_then(|p| std::fs::read_to_string(p).ok()) else {
        return Ok(());
    };
    match crate::aws::mfa_refusal(&text, &profile) {
        Some(refusal) => anyhow::bail!("{refusal}"),
        None => Ok(()),
    }
}

/// Checks the credentials and finds the account: the stack's names depend on it.
pub async fn connect(name: &str, options: &AwsOptions, verbose: bool) -> anyhow::Result<Ctx> {
    let name = StackName::parse(name)?;
    refuse_mfa_profile(options)?;
    let config = crate::aws::load(options).await;
    let region = config.region().map(|r| r.to_string()).context(
        "no AWS region: pass --region or set AWS_REGION (or a region in your AWS profile)",
    )?;
    let v = verbose;
    let identity = crate::aws_client!(aws_sdk_sts, &config, v)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            crate::aws::aws_error(
                "cannot use your AWS credentials (STS GetCallerIdentity); configure them as for the AWS CLI (aws configure, AWS_PROFILE or AWS_ACCESS_KEY_ID)",
                e,
            )
        })?;
    let account = identity
        .account()
        .context("STS GetCallerIdentity returned no account")?
        .to_owned();
    // Every call to a bucket names the account as its owner: the names are predictable.
    let s3 = crate::aws::s3_access(&config, &region, v)?.owned_by(&account);
    let aws = Clients::of_account(&config, v, Some(&account));
    let stack =
        Stack::new(name, account, region).in_partition_of(identity.arn().unwrap_or_default());
    Ok(Ctx {
        stack,
        aws,
        read: Default::default(),
        deployed: Default::default(),
        s3,
    })
}

impl Ctx {
    /// The stack's raw bucket, for its objects.
    pub fn raw(&self) -> anyhow::Result<lake::Storage> {
        self.bucket(&self.stack.raw_bucket())
    }

    /// The stack's enriched bucket, for its objects.
    pub fn enriched(&self) -> anyhow::Result<lake::Storage> {
        self.bucket(&self.stack.enriched_bucket())
    }

    /// One of the stack's buckets, for its objects.
    pub fn bucket(&self, bucket: &str) -> anyhow::Result<lake::Storage> {
        Ok(lake::Storage::s3(bucket, &self.s3)?)
    }

    /// Every component of the stack, read at once, the first time it is asked for.
    pub async fn read(&self) -> anyhow::Result<&StackRead> {
        self.read
            .get_or_try_init(|| crate::stack::read(&self.aws, &self.stack))
            .await
    }

    /// A variable of a deployed function's environment; `None` when it or the function is
    /// missing. From the stack's read when there was one, else from the function alone.
    pub async fn variable(&self, f: Function, variable: &str) -> anyhow::Result<Option<String>> {
        if let Some(read) = self.read.get() {
            return Ok(read
                .of::<lambda::Functions>()
                .and_then(|found| lambda::variable(found, f, variable)));
        }
        let index = Function::ALL.iter().position(|g| *g == f).unwrap_or(0);
        let deployed = self.deployed[index]
            .get_or_try_init(|| async {
                lambda::deployed_environment(&self.aws.lambda, &self.stack.function(f)).await
            })
            .await?;
        Ok(deployed.as_ref().and_then(|env| env.get(variable).cloned()))
    }

    /// The chats the deployed ingest function keeps (none without it).
    pub async fn deployed_chats(&self) -> anyhow::Result<Option<Vec<i64>>> {
        Ok(self
            .variable(Function::Ingest, lake::env::ALLOWED_CHAT_IDS)
            .await?
            .and_then(|c| ingest::parse_chat_ids(&c).ok())
            .map(|c| c.into_iter().collect()))
    }

    /// The time zone the stack's ETL files days by (and so the analyses' hours and weekdays).
    /// Without the function, UTC: the check that follows says what is missing.
    pub async fn time_zone(&self) -> anyhow::Result<lake::day::TimeZone> {
        let zone = self.variable(Function::Etl, lake::env::TIMEZONE).await?;
        Ok(lake::day::parse_time_zone(zone.as_deref().unwrap_or(""))?)
    }
}
