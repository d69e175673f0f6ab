//! The HTTP API that receives Telegram's webhook: `POST /webhook` → the ingest function (AWS_PROXY,
//! payload 2.0), a `$default` stage with auto-deploy and throttling, and the function permission
//! scoped to this API's route.

use aws_sdk_apigatewayv2::Client;
use aws_sdk_apigatewayv2::types::{Api, IntegrationType, ProtocolType};

use anyhow::Context;

use crate::aws::{AwsResultExt, FindExt};
use crate::plan::{Kind, Removal, Removed, Resource};
use crate::stack::ownership::{Claim, Foreign};
use crate::stack::permission::{Permission, statement_id};
use crate::stack::{Clients, Desired, Function, Note, Outputs, Part, STACK_TAG, Stack};

pub const ROUTE_KEY: &str = "POST /webhook";
pub const WEBHOOK_PATH: &str = "/webhook";
const STAGE: &str = "$default";
/// Telegram sends at most a few requests a second per bot; this caps a flood.
pub const THROTTLE_BURST: i32 = 50;
pub const THROTTLE_RATE: f64 = 25.0;
/// How long after its CreateApi an `up` looks for another's: longer than API Gateway's
/// one-second dates, so that two runs whose APIs share a second both see both.
const CREATES_SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

mod drift;
mod route;

pub use drift::ApiDrift;
use drift::Parts;

/// The stack's API, found by name and tag (there is no state file): the oldest, when two `up`s
/// run at once made more than one.
pub async fn find(client: &Client, stack: &Stack) -> anyhow::Result<Option<Api>> {
    Ok(find_all(client, stack).await?.into_iter().next())
}

/// Every API of the stack, the oldest first (ties broken by id, so that every reader agrees on
/// which is the stack's).
pub async fn find_all(client: &Client, stack: &Stack) -> anyhow::Result<Vec<Api>> {
    let mut token = None;
    let mut found = Vec::new();
    loop {
        let page = client
            .get_apis()
            .set_next_token(token)
            .send()
            .await
            .aws("API Gateway GetApis")?;
        found.extend(
            page.items()
                .iter()
                .filter(|a| a.name() == Some(stack.http_api().as_str()) && stack.owns_map(a.tags()))
                .cloned(),
        );
        match page.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    found.sort_by(|a, b| {
        let key = |a: &Api| {
            (
                a.created_date().map(|d| d.as_nanos()),
                a.api_id().map(str::to_owned),
            )
        };
        key(a).cmp(&key(b))
    });
    Ok(found)
}

/// The webhook URL of an API.
pub fn webhook_url(api: &Api) -> Option<String> {
    api.api_endpoint()
        .map(|e| format!("{}{WEBHOOK_PATH}", e.trim_end_matches('/')))
}

fn source_arn(stack: &Stack, api_id: &str) -> String {
    stack.arn("execute-api", &format!("{api_id}/*/POST{WEBHOOK_PATH}"))
}

/// API Gateway's permission to invoke the ingest function, from `source` only.
fn permission<'a>(stack: &Stack, source: &'a str) -> Permission<'a> {
    Permission {
        function: stack.function(Function::Ingest),
        statement_id: statement_id(Function::Ingest),
        principal: "apigateway.amazonaws.com",
        source_arn: source,
    }
}

/// The API's integrations with the ingest function, by id (two `up`s at once may each make
/// one; either serves).
async fn integrations(client: &Client, stack: &Stack, api_id: &str) -> anyhow::Result<Vec<String>> {
    let function_arn = stack.function_arn(Function::Ingest);
    let integrations = client
        .get_integrations()
        .api_id(api_id)
        .send()
        .await
        .aws(format!("API Gateway GetIntegrations {api_id}"))?;
    Ok(integrations
        .items()
        .iter()
        .filter(|i| {
            i.integration_type() == Some(&IntegrationType::AwsProxy)
                && i.integration_uri() == Some(function_arn.as_str())
                && i.payload_format_version() == Some("2.0")
        })
        .filter_map(|i| i.integration_id().map(str::to_owned))
        .collect())
}

/// The API's integration with the ingest function, by id.
async fn find_integration(
    client: &Client,
    stack: &Stack,
    api_id: &str,
) -> anyhow::Result<Option<String>> {
    Ok(integrations(client, stack, api_id)
        .await?
        .into_iter()
        .next())
}

/// A call made once, without the SDK's retries (see [`crate::aws::create_once`]).
fn no_retries() -> aws_sdk_apigatewayv2::config::Builder {
    aws_sdk_apigatewayv2::config::Builder::default()
        .retry_config(aws_config::retry::RetryConfig::disabled())
}

/// What differs in the API's parts: integration, route, stage, permission.
async fn parts(
    client: &Client,
    lambda: &aws_sdk_lambda::Client,
    stack: &Stack,
    api_id: &str,
) -> anyhow::Result<Parts> {
    let source = source_arn(stack, api_id);
    let permission = permission(stack, &source);
    // The four parts are read at once.
    let (integration, route, stage, permission) = tokio::join!(
        integrations(client, stack, api_id),
        route::find_route(client, api_id),
        route::find_stage(client, api_id),
        permission.state(lambda)
    );
    let (integrations, route) = (integration?, route?);
    // The one the route targets, when it serves; else the first.
    let integration = integrations
        .iter()
        .find(|id| {
            route
                .as_ref()
                .is_some_and(|(_, t)| *t == format!("integrations/{id}"))
        })
        .or(integrations.first())
        .cloned();
    Ok(Parts {
        integration,
        route,
        stage: stage?,
        permission: permission?,
    })
}

/// The API as read: itself (the oldest found by name and tag), the stack's other APIs (made by
/// `up`s run at once), and its parts. Without an API its parts are all missing, but for the
/// ingest function's permission, which can outlive an API.
pub struct Found {
    api: Option<Api>,
    others: Vec<String>,
    parts: Parts,
}

/// The HTTP API that receives the webhook.
pub struct HttpApi;

impl Part for HttpApi {
    type Found = Found;
    const LABEL: &'static str = "HTTP API";
    const STAGE: usize = 2;

    async fn read(&self, c: &Clients, stack: &Stack) -> anyhow::Result<Found> {
        let mut apis = find_all(&c.api, stack).await?.into_iter();
        let api = apis.next();
        let others = apis.filter_map(|a| a.api_id().map(str::to_owned)).collect();
        let parts = match &api {
            Some(api) => parts(&c.api, &c.lambda, stack, api.api_id().unwrap_or_default()).await?,
            None => Parts {
                integration: None,
                route: None,
                stage: None,
                // No API has this id: a statement left by an API since deleted names
                // another source, and is replaced.
                permission: permission(stack, &source_arn(stack, "(none)"))
                    .state(&c.lambda)
                    .await?,
            },
        };
        Ok(Found { api, others, parts })
    }

    /// Found by name and tag together: another API of the same name is never the stack's, and
    /// never in its way.
    fn claims(&self, _: &Found, _: &Stack) -> Vec<Claim> {
        Vec::new()
    }

    fn states(&self, found: &Found, stack: &Stack, _: Option<&Desired>) -> Vec<Resource> {
        let drift = found.api.as_ref().map(|_| {
            let mut drift = found.parts.drift();
            if !found.others.is_empty() {
                drift.push(ApiDrift::Others(found.others.len()));
            }
            drift
        });
        vec![Resource::with_drift(Kind::HttpApi, stack.http_api(), drift)]
    }

    fn outputs(&self, found: &Found) -> Outputs {
        Outputs {
            webhook_url: found.api.as_ref().and_then(webhook_url),
            api_id: found
                .api
                .as_ref()
                .and_then(|a| a.api_id())
                .map(str::to_owned),
        }
    }

    /// Creates or completes the API.
    async fn apply(
        &self,
        c: &Clients,
        stack: &Stack,
        _: &Desired,
        found: &Found,
        _: &Outputs,
        _: Note<'_>,
    ) -> anyhow::Result<Outputs> {
        let (client, lambda) = (&c.api, &c.lambda);
        let (api, fresh) = match &found.api {
            // Other APIs left over (where the webhook may still point) are deleted only once
            // Telegram delivers to this one (at `up`'s end, by `remove_others`).
            Some(api) => (api.clone(), None),
            None => {
                let made = create(client, stack).await?;
                // An `up` started at the same moment has made its API by now, so that both
                // see both and agree on the older (API Gateway dates them to the second).
                tokio::time::sleep(CREATES_SETTLE).await;
                (
                    one_api(client, stack).await?,
                    made.api_id().map(str::to_owned),
                )
            }
        };
        let api_id = api.api_id().unwrap_or_default().to_owned();
        // Another `up` made the stack's API first: its parts are read afresh.
        let reread;
        let known = [
            found.api.as_ref().and_then(|a| a.api_id()),
            fresh.as_deref(),
        ];
        let p = if known.contains(&Some(api_id.as_str())) {
            &found.parts
        } else {
            reread = parts(client, lambda, stack, &api_id).await?;
            &reread
        };
        let integration = match p.integration.clone() {
            Some(id) => id,
            None => create_integration(client, stack, &api_id).await?,
        };
        route::ensure_route(client, &api_id, p.route.clone(), &integration).await?;
        route::ensure_stage(client, &api_id, p.stage, stack).await?;
        let source = source_arn(stack, &api_id);
        permission(stack, &source)
            .ensure(lambda, &p.permission)
            .await?;
        Ok(Outputs {
            webhook_url: webhook_url(&api),
            api_id: Some(api_id),
        })
    }

    async fn remove(
        &self,
        c: &Clients,
        stack: &Stack,
        _: &Foreign,
        _: bool,
    ) -> anyhow::Result<Vec<Removed>> {
        Ok(vec![destroy(&c.api, stack).await?])
    }
}

/// The stack's one API: the oldest of those found; the others, made by `up`s run at once (one of
/// them maybe by this run), are deleted, so that every run converges on the same API and the
/// webhook never points at one that cannot invoke the function.
async fn one_api(client: &Client, stack: &Stack) -> anyhow::Result<Api> {
    let api = find(client, stack)
        .await?
        .context("API Gateway does not list the API just created; run `tgpipe up` again")?;
    remove_others(client, stack, api.api_id().unwrap_or_default()).await?;
    Ok(api)
}

/// Deletes every API of the stack but `keep` (left by two `up`s at once); `up` calls it for
/// APIs left over once Telegram's webhook points at `keep`.
pub async fn remove_others(client: &Client, stack: &Stack, keep: &str) -> anyhow::Result<()> {
    let apis = find_all(client, stack).await?;
    for other in apis.iter().filter(|a| a.api_id() != Some(keep)) {
        let id = other.api_id().unwrap_or_default();
        client
            .delete_api()
            .api_id(id)
            .send()
            .await
            .found()
            .aws(format!(
                "API Gateway DeleteApi {id} (a second API of the stack)"
            ))?;
    }
    Ok(())
}

/// The integration with the ingest function, made once (see [`crate::aws::create_once`]).
async fn create_integration(
    client: &Client,
    stack: &Stack,
    api_id: &str,
) -> anyhow::Result<String> {
    crate::aws::create_once(
        &format!("API Gateway CreateIntegration {api_id}"),
        || find_integration(client, stack, api_id),
        || async {
            client
                .create_integration()
                .api_id(api_id)
                .integration_type(IntegrationType::AwsProxy)
                .integration_uri(stack.function_arn(Function::Ingest))
                .payload_format_version("2.0")
                .customize()
                .config_override(no_retries())
                .send()
                .await
                .map(|out| out.integration_id().unwrap_or_default().to_owned())
        },
    )
    .await
}

async fn create(client: &Client, stack: &Stack) -> anyhow::Result<Api> {
    crate::aws::create_once(
        &format!("API Gateway CreateApi {}", stack.http_api()),
        || find(client, stack),
        || async {
            let created = client
                .create_api()
                .name(stack.http_api())
                .protocol_type(ProtocolType::Http)
                .description(format!("tgpipe stack {}: Telegram webhook", stack.name))
                .tags(STACK_TAG, stack.name.as_str())
                .customize()
                .config_override(no_retries())
                .send()
                .await?;
            Ok(Api::builder()
                .set_api_id(created.api_id().map(str::to_owned))
                .set_api_endpoint(created.api_endpoint().map(str::to_owned))
                .set_name(created.name().map(str::to_owned))
                .set_tags(created.tags().cloned())
                .set_protocol_type(created.protocol_type().cloned())
                .build())
        },
    )
    .await
}

/// Deletes the stack's APIs (with their routes, integrations and stages): every one, should two
/// `up`s at once have made two.
async fn destroy(client: &Client, stack: &Stack) -> anyhow::Result<Removed> {
    let apis = find_all(client, stack).await?;
    let mut removal = Removal::AlreadyGone;
    for api in &apis {
        let id = api.api_id().unwrap_or_default();
        // Gone meanwhile is as good as deleted.
        if client
            .delete_api()
            .api_id(id)
            .send()
            .await
            .found()
            .aws(format!("API Gateway DeleteApi {id}"))?
            .is_some()
        {
            removal = Removal::Deleted;
        }
    }
    Ok(Removed::new(Kind::HttpApi, stack.http_api(), removal))
}
