//! `differences`: what `up` repairs on a deployed function, decided without AWS.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_lambda::types::builders::FunctionConfigurationBuilder;
use aws_sdk_lambda::types::{EnvironmentResponse, FunctionConfiguration, Runtime};

use super::*;
use crate::stack::{STACK_TAG, StackName};

fn stack() -> Stack {
    Stack::new(
        StackName::parse("tgpipe").unwrap(),
        "123456789012",
        "eu-west-1",
    )
}

fn spec(runs_alone: bool) -> FunctionSpec {
    FunctionSpec {
        function: Function::Etl,
        zip: Vec::new(),
        code_sha256: "c2hh".into(),
        role_arn: "arn:aws:iam::123456789012:role/tgpipe-etl".into(),
        environment: BTreeMap::from([
            ("TIMEZONE".into(), "UTC".into()),
            ("WEBHOOK_SECRET".into(), "s3cr3t-value".into()),
        ]),
        memory_mb: 1024,
        timeout_s: 900,
        runs_alone,
    }
}

/// A function deployed exactly as `spec` says, with the stack's tag.
fn deployed(spec: &FunctionSpec, stack: &Stack) -> Deployed {
    deployed_with(spec, stack, |b| b)
}

/// [`deployed`], with `edit` applied to its configuration.
fn deployed_with(
    spec: &FunctionSpec,
    stack: &Stack,
    edit: impl FnOnce(FunctionConfigurationBuilder) -> FunctionConfigurationBuilder,
) -> Deployed {
    let variables: HashMap<String, String> = spec.environment.clone().into_iter().collect();
    let config = FunctionConfiguration::builder()
        .code_sha256(&spec.code_sha256)
        .runtime(Runtime::Providedal2023)
        .handler("bootstrap")
        .role(&spec.role_arn)
        .memory_size(spec.memory_mb)
        .timeout(spec.timeout_s)
        .environment(
            EnvironmentResponse::builder()
                .set_variables(Some(variables))
                .build(),
        );
    Deployed {
        config: edit(config).build(),
        tags: Some(HashMap::from([(
            STACK_TAG.to_owned(),
            stack.name.as_str().to_owned(),
        )])),
        reserved: Some(1),
        async_retries: Some((ASYNC_RETRIES, ASYNC_MAX_AGE_S)),
        invokers: Vec::new(),
    }
}

#[test]
fn another_statement_in_the_policy_is_drift_naming_who_may_invoke() {
    let (stack, spec) = (stack(), spec(false));
    let mut deployed = deployed(&spec, &stack);
    let other = crate::stack::permission::Invoker {
        statement_id: "anyone".into(),
        principal: "*".into(),
    };
    deployed.invokers = vec![other.clone()];
    let drift = differences(&deployed, &spec, &stack);
    assert_eq!(drift, [FunctionDrift::Invokers(vec![other])]);
    assert_eq!(
        drift[0].to_string(),
        "may also be invoked by * (statement anyone)"
    );
}

#[test]
fn a_function_as_specified_has_no_drift() {
    let (stack, spec) = (stack(), spec(true));
    assert_eq!(differences(&deployed(&spec, &stack), &spec, &stack), []);
}

#[test]
fn each_difference_is_named_once() {
    let (stack, spec) = (stack(), spec(false));
    let mut d = deployed_with(&spec, &stack, |b| {
        b.code_sha256("other").memory_size(128).handler("main")
    });
    d.tags = None;
    assert_eq!(
        differences(&d, &spec, &stack),
        [
            FunctionDrift::Code,
            FunctionDrift::Handler,
            FunctionDrift::Memory,
            FunctionDrift::StackTag
        ]
    );
}

#[test]
fn a_changed_secret_is_named_never_shown() {
    let (stack, spec) = (stack(), spec(false));
    let mut variables: HashMap<String, String> = spec.environment.clone().into_iter().collect();
    variables.insert("WEBHOOK_SECRET".into(), "old-secret-value".into());
    variables.insert("STRAY".into(), "x".into());
    let d = deployed_with(&spec, &stack, |b| {
        b.environment(
            EnvironmentResponse::builder()
                .set_variables(Some(variables))
                .build(),
        )
    });
    let drift = differences(&d, &spec, &stack);
    assert_eq!(
        drift,
        [FunctionDrift::Environment(vec![
            "STRAY".into(),
            "WEBHOOK_SECRET".into()
        ])]
    );
    let words = drift[0].to_string();
    assert!(!words.contains("secret-value"), "{words}");
    assert!(drift[0].is_configuration());
}

#[test]
fn a_function_that_runs_alone_needs_reserved_concurrency_unless_it_relies_on_the_lease() {
    let (stack, spec) = (stack(), spec(true));
    let mut d = deployed(&spec, &stack);
    d.reserved = None;
    d.async_retries = Some((0, ASYNC_MAX_AGE_S));
    assert_eq!(
        differences(&d, &spec, &stack),
        [FunctionDrift::Concurrency, FunctionDrift::AsyncRetries]
    );
    if let Some(tags) = d.tags.as_mut() {
        tags.insert(LEASE_ONLY_TAG.to_owned(), "lease".to_owned());
    }
    assert_eq!(
        differences(&d, &spec, &stack),
        [FunctionDrift::AsyncRetries]
    );
    // A function that may run side by side is not asked for either.
    let spec = FunctionSpec {
        runs_alone: false,
        ..spec
    };
    assert_eq!(differences(&d, &spec, &stack), []);
}
