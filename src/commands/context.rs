//! The connection to one stack, for the commands that talk to AWS.

use anyhow::Context;

use super::args::{AwsArgs, Global};
use crate::aws::AwsOptions;
use crate::stack::{Clients, Function, Stack, StackName, lambda};

/// Everything a command needs to talk to AWS about one stack.
pub struct Ctx {
    pub stack: Stack,
    pub aws: Clients,
    /// Each function's configuration as deployed when first asked (one read per command: the
    /// zone, the chats and the secret all come from it).
    deployed: [tokio::sync::OnceCell<Option<lambda::Configuration>>; 2],
}

/// Checks the credentials and finds the account: the stack's names depend on it.
pub async fn connect(global: &Global, args: &AwsArgs) -> anyhow::Result<Ctx> {
    let name = StackName::parse(&global.name)?;
    let options = AwsOptions {
        profile: args.profile.clone(),
        region: args.region.clone(),
        endpoint_url: args.endpoint_url.clone(),
    };
    let config = crate::aws::load(&options).await;
    let region = config.region().map(|r| r.to_string()).context(
        "no AWS region: pass --region or set AWS_REGION (or a region in your AWS profile)",
    )?;
    let v = global.verbose;
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
    Ok(Ctx {
        stack: Stack::new(name, account, region),
        aws: Clients {
            s3: crate::aws::s3_client_with(&config, v),
            iam: crate::aws_client!(aws_sdk_iam, &config, v),
            lambda: crate::aws_client!(aws_sdk_lambda, &config, v),
            logs: crate::aws_client!(aws_sdk_cloudwatchlogs, &config, v),
            api: crate::aws_client!(aws_sdk_apigatewayv2, &config, v),
            events: crate::aws_client!(aws_sdk_eventbridge, &config, v),
            athena: crate::aws_client!(aws_sdk_athena, &config, v),
            glue: crate::aws_client!(aws_sdk_glue, &config, v),
        },
        deployed: Default::default(),
    })
}

impl Ctx {
    /// Which of the stack's names are taken by resources that are not the stack's.
    pub async fn foreign(&self) -> anyhow::Result<crate::stack::ownership::Foreign> {
        crate::stack::foreign(&self.aws, &self.stack).await
    }

    /// [`Ctx::foreign`], and the components of which nothing exists yet.
    pub async fn survey(
        &self,
    ) -> anyhow::Result<(
        crate::stack::ownership::Foreign,
        Vec<crate::stack::Component>,
    )> {
        crate::stack::survey(&self.aws, &self.stack).await
    }

    /// A variable of a deployed function's environment; `None` when it or the function is
    /// missing.
    pub async fn variable(&self, f: Function, variable: &str) -> anyhow::Result<Option<String>> {
        let index = Function::ALL.iter().position(|g| *g == f).unwrap_or(0);
        let deployed = self.deployed[index]
            .get_or_try_init(|| async {
                lambda::configuration(&self.aws.lambda, &self.stack.function(f)).await
            })
            .await?;
        Ok(deployed
            .as_ref()
            .and_then(|c| lambda::variable_of(c, variable)))
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
