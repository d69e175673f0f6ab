//! The HTTP API that receives Telegram's webhook: `POST /webhook` → the ingest function (AWS_PROXY,
//! payload 2.0), a `$default` stage with auto-deploy and throttling, and the function permission
//! scoped to this API's route.

use aws_sdk_apigatewayv2::Client;
use aws_sdk_apigatewayv2::types::{Api, IntegrationType, ProtocolType, RouteSettings};

use crate::aws::AwsResultExt;
use crate::plan::{Kind, Removal, Removed, Resource, State};
use crate::stack::permission::Permission;
use crate::stack::{Function, STACK_TAG, Stack};

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
    format!(
        "arn:aws:execute-api:{}:{}:{api_id}/*/POST{WEBHOOK_PATH}",
        stack.region, stack.account
    )
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
    let function = stack.function(Function::Ingest);
    let source = source_arn(stack, api_id);
    let permission = Permission {
        function: &function,
        statement_id: PERMISSION_ID,
        principal: "apigateway.amazonaws.com",
        source_arn: &source,
    };
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

pub async fn inspect(
    client: &Client,
    lambda: &aws_sdk_lambda::Client,
    stack: &Stack,
) -> anyhow::Result<(Resource, Option<Api>)> {
    let api = find(client, stack).await?;
    let drift = match &api {
        None => None,
        Some(api) => Some(
            parts(client, lambda, stack, api.api_id().unwrap_or_default())
                .await?
                .drift(),
        ),
    };
    Ok((
        Resource::with_drift(Kind::HttpApi, stack.http_api(), drift),
        api,
    ))
}

/// The API as `up --dry-run` sees it: before the functions exist there is nothing to wire,
/// so an API found is only said to need its functions wired.
pub async fn plan(
    client: &Client,
    lambda: &aws_sdk_lambda::Client,
    stack: &Stack,
) -> anyhow::Result<Resource> {
    if crate::stack::lambda::all_exist(lambda, stack).await? {
        return Ok(inspect(client, lambda, stack).await?.0);
    }
    let state = match find(client, stack).await? {
        None => State::Missing,
        Some(_) => State::Drifted(vec!["functions to wire".into()]),
    };
    Ok(Resource {
        kind: Kind::HttpApi,
        name: stack.http_api(),
        state,
    })
}

fn throttling() -> RouteSettings {
    RouteSettings::builder()
        .throttling_burst_limit(THROTTLE_BURST)
        .throttling_rate_limit(THROTTLE_RATE)
        .build()
}

/// Creates or completes the API; returns its state before the run and the API.
pub async fn ensure(
    client: &Client,
    lambda: &aws_sdk_lambda::Client,
    stack: &Stack,
) -> anyhow::Result<(Resource, Option<Api>)> {
    let (before, api) = inspect(client, lambda, stack).await?;
    if before.state == State::Present {
        return Ok((before, api));
    }
    let api = match api {
        Some(api) => api,
        None => create(client, stack).await?,
    };
    let api_id = api.api_id().unwrap_or_default().to_owned();
    let p = parts(client, lambda, stack, &api_id).await?;
    let integration = match p.integration.clone() {
        Some(id) => id,
        None => {
            crate::aws::create_once(
                &format!("API Gateway CreateIntegration {api_id}"),
                || find_integration(client, stack, &api_id),
                || async {
                    client
                        .create_integration()
                        .api_id(&api_id)
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
            .await?
        }
    };
    route_and_stage(client, &api_id, &p, &integration, stack).await?;
    let function = stack.function(Function::Ingest);
    let source = source_arn(stack, &api_id);
    Permission {
        function: &function,
        statement_id: PERMISSION_ID,
        principal: "apigateway.amazonaws.com",
        source_arn: &source,
    }
    .ensure(lambda, &p.permission)
    .await?;
    Ok((before, Some(api)))
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
pub async fn destroy(client: &Client, stack: &Stack) -> anyhow::Result<Removed> {
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
