//! The HTTP API that receives Telegram's webhook: `POST /webhook` → the ingest function (AWS_PROXY,
//! payload 2.0), a `$default` stage with auto-deploy and throttling, and the function permission
//! scoped to this API's route.

use aws_sdk_apigatewayv2::Client;
use aws_sdk_apigatewayv2::types::{Api, IntegrationType, ProtocolType, RouteSettings};

use crate::aws::AwsResultExt;
use crate::plan::{Kind, Removal, Removed, Resource};
use crate::stack::ownership::{Claim, Foreign};
use crate::stack::permission::Permission;
use crate::stack::{Clients, Desired, Function, Note, Outputs, Part, STACK_TAG, Stack};

pub const ROUTE_KEY: &str = "POST /webhook";
pub const WEBHOOK_PATH: &str = "/webhook";
const STAGE: &str = "$default";
/// Telegram sends at most a few requests a second per bot; this caps a flood.
pub const THROTTLE_BURST: i32 = 50;
pub const THROTTLE_RATE: f64 = 25.0;
const PERMISSION_ID: &str = "tgpipe-apigateway";

mod drift;

pub use drift::ApiDrift;
use drift::Parts;

/// The stack's API, found by name and tag (there is no state file).
pub async fn find(client: &Client, stack: &Stack) -> anyhow::Result<Option<Api>> {
    let mut token = None;
    loop {
        let page = client
            .get_apis()
            .set_next_token(token)
            .send()
            .await
            .aws("API Gateway GetApis")?;
        if let Some(api) = page
            .items()
            .iter()
            .find(|a| a.name() == Some(stack.http_api().as_str()) && stack.owns_map(a.tags()))
        {
            return Ok(Some(api.clone()));
        }
        match page.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => return Ok(None),
        }
    }
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
        statement_id: PERMISSION_ID,
        principal: "apigateway.amazonaws.com",
        source_arn: source,
    }
}

/// The API's integration with the ingest function, by id.
async fn find_integration(
    client: &Client,
    stack: &Stack,
    api_id: &str,
) -> anyhow::Result<Option<String>> {
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
        .find(|i| {
            i.integration_type() == Some(&IntegrationType::AwsProxy)
                && i.integration_uri() == Some(function_arn.as_str())
                && i.payload_format_version() == Some("2.0")
        })
        .and_then(|i| i.integration_id().map(str::to_owned)))
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
    let (integration, routes, stage, permission) = tokio::join!(
        find_integration(client, stack, api_id),
        client.get_routes().api_id(api_id).send(),
        client.get_stage().api_id(api_id).stage_name(STAGE).send(),
        permission.state(lambda)
    );
    let routes = routes.aws(format!("API Gateway GetRoutes {api_id}"))?;
    let route = routes
        .items()
        .iter()
        .find(|r| r.route_key() == Some(ROUTE_KEY))
        .map(|r| {
            (
                r.route_id().unwrap_or_default().to_owned(),
                r.target().unwrap_or_default().to_owned(),
            )
        });
    let stage = match stage {
        Ok(s) => Some(
            s.auto_deploy() == Some(true)
                && s.default_route_settings().is_some_and(|r| {
                    r.throttling_burst_limit() == Some(THROTTLE_BURST)
                        && r.throttling_rate_limit() == Some(THROTTLE_RATE)
                }),
        ),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_not_found_exception()) =>
        {
            None
        }
        Err(e) => return Err(e).aws(format!("API Gateway GetStage {api_id}")),
    };
    Ok(Parts {
        integration: integration?,
        route,
        stage,
        permission: permission?,
    })
}

/// The API as read: itself (found by name and tag) and its parts. Without an API its parts are
/// all missing, but for the ingest function's permission, which can outlive an API.
pub struct Found {
    api: Option<Api>,
    parts: Parts,
}

/// The HTTP API that receives the webhook.
pub struct HttpApi;

impl Part for HttpApi {
    type Found = Found;
    const LABEL: &'static str = "HTTP API";
    const STAGE: usize = 2;

    async fn read(&self, c: &Clients, stack: &Stack) -> anyhow::Result<Found> {
        let api = find(&c.api, stack).await?;
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
        Ok(Found { api, parts })
    }

    /// Found by name and tag together: another API of the same name is never the stack's, and
    /// never in its way.
    fn claims(&self, _: &Found, _: &Stack) -> Vec<Claim> {
        Vec::new()
    }

    fn states(&self, found: &Found, stack: &Stack, _: Option<&Desired>) -> Vec<Resource> {
        let drift = found.api.as_ref().map(|_| found.parts.drift());
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
        let api = match &found.api {
            Some(api) => api.clone(),
            None => create(client, stack).await?,
        };
        let api_id = api.api_id().unwrap_or_default().to_owned();
        let p = &found.parts;
        let integration = match p.integration.clone() {
            Some(id) => id,
            None => create_integration(client, stack, &api_id).await?,
        };
        route_and_stage(client, &api_id, p, &integration, stack).await?;
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

fn throttling() -> RouteSettings {
    RouteSettings::builder()
        .throttling_burst_limit(THROTTLE_BURST)
        .throttling_rate_limit(THROTTLE_RATE)
        .build()
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

/// The `POST /webhook` route to the integration, and the throttled, auto-deployed stage.
async fn route_and_stage(
    client: &Client,
    api_id: &str,
    p: &Parts,
    integration: &str,
    stack: &Stack,
) -> anyhow::Result<()> {
    let target = format!("integrations/{integration}");
    match &p.route {
        None => {
            client
                .create_route()
                .api_id(api_id)
                .route_key(ROUTE_KEY)
                .target(&target)
                .send()
                .await
                .aws(format!("API Gateway CreateRoute {api_id}"))?;
        }
        Some((route_id, current)) if *current != target => {
            client
                .update_route()
                .api_id(api_id)
                .route_id(route_id)
                .target(&target)
                .send()
                .await
                .aws(format!("API Gateway UpdateRoute {api_id}"))?;
        }
        Some(_) => {}
    }
    match p.stage {
        None => {
            client
                .create_stage()
                .api_id(api_id)
                .stage_name(STAGE)
                .auto_deploy(true)
                .default_route_settings(throttling())
                .tags(STACK_TAG, stack.name.as_str())
                .send()
                .await
                .aws(format!("API Gateway CreateStage {api_id}"))?;
        }
        Some(false) => {
            client
                .update_stage()
                .api_id(api_id)
                .stage_name(STAGE)
                .auto_deploy(true)
                .default_route_settings(throttling())
                .send()
                .await
                .aws(format!("API Gateway UpdateStage {api_id}"))?;
        }
        Some(true) => {}
    }
    Ok(())
}

/// Deletes the stack's API (with its routes, integrations and stages).
async fn destroy(client: &Client, stack: &Stack) -> anyhow::Result<Removed> {
    let Some(api) = find(client, stack).await? else {
        return Ok(Removed::new(
            Kind::HttpApi,
            stack.http_api(),
            Removal::AlreadyGone,
        ));
    };
    let id = api.api_id().unwrap_or_default();
    match client.delete_api().api_id(id).send().await {
        Ok(_) => Ok(Removed::new(
            Kind::HttpApi,
            stack.http_api(),
            Removal::Deleted,
        )),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_not_found_exception()) =>
        {
            Ok(Removed::new(
                Kind::HttpApi,
                stack.http_api(),
                Removal::AlreadyGone,
            ))
        }
        Err(e) => Err(e).aws(format!("API Gateway DeleteApi {id}")),
    }
}
