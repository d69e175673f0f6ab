//! What the AWS commands share: the AWS and bot flags, and the connection to one stack.

use anyhow::Context;
use clap::Args;

use crate::aws::AwsOptions;
use crate::cli::Global;
use crate::stack::{Clients, Function, Stack, StackName, lambda};
use crate::telegram::{BotToken, DEFAULT_API_URL, Telegram};

/// Where the stack lives: flattened into the commands that talk to AWS.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "AWS")]
pub struct AwsArgs {
    /// AWS profile (as the AWS CLI's --profile).
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// AWS region (default: AWS_REGION or the profile's region).
    #[arg(long)]
    pub region: Option<String>,
    /// AWS endpoint, for an emulator (default: AWS_ENDPOINT_URL).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
}

/// The bot: flattened into the commands that talk to Telegram.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Telegram")]
pub struct BotArgs {
    /// The bot's token from @BotFather (never stored, never printed).
    #[arg(long, env = "TGPIPE_BOT_TOKEN", hide_env_values = true)]
    pub bot_token: Option<String>,
    /// The Telegram Bot API base URL.
    #[arg(long, env = "TGPIPE_TELEGRAM_API_URL", default_value = DEFAULT_API_URL)]
    pub telegram_api_url: String,
}

impl BotArgs {
    /// The bot, when a token was given.
    pub fn telegram(&self, verbose: bool) -> anyhow::Result<Option<Telegram>> {
        match &self.bot_token {
            None => Ok(None),
            Some(t) => Ok(Some(
                Telegram::new(&self.telegram_api_url, BotToken::parse(t)?).verbose(verbose),
            )),
        }
    }

    /// The bot, for a command that cannot go on without it.
    pub fn required(&self, verbose: bool) -> anyhow::Result<Telegram> {
        self.telegram(verbose)?.context(
            "no bot token: pass --bot-token or set TGPIPE_BOT_TOKEN (the token @BotFather gave you)",
        )
    }
}

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
        crate::stack::ownership::foreign(&self.aws, &self.stack).await
    }

    /// [`Ctx::foreign`], and the components of which nothing exists yet.
    pub async fn survey(
        &self,
    ) -> anyhow::Result<(
        crate::stack::ownership::Foreign,
        Vec<crate::stack::Component>,
    )> {
        crate::stack::ownership::survey(&self.aws, &self.stack).await
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
