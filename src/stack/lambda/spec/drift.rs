//! How a deployed function differs from its spec: decided without AWS, from what was read.

use std::collections::BTreeMap;

use aws_sdk_lambda::types::Runtime;

use super::{Deployed, FunctionSpec};
use crate::stack::Stack;
use crate::stack::permission::Invoker;

/// How a function differs from its spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionDrift {
    Code,
    Runtime,
    Handler,
    Role,
    Memory,
    Timeout,
    /// The names of the variables that differ, never their values (one is the secret).
    Environment(Vec<String>),
    StackTag,
    Concurrency,
    AsyncRetries,
    /// Statements of its policy that are not the stack's: who else may invoke it.
    Invokers(Vec<Invoker>),
}

impl FunctionDrift {
    /// Whether UpdateFunctionConfiguration repairs it.
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            FunctionDrift::Runtime
                | FunctionDrift::Handler
                | FunctionDrift::Role
                | FunctionDrift::Memory
                | FunctionDrift::Timeout
                | FunctionDrift::Environment(_)
        )
    }
}

impl std::fmt::Display for FunctionDrift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FunctionDrift::Code => f.write_str("code differs"),
            FunctionDrift::Runtime => f.write_str("runtime differs"),
            FunctionDrift::Handler => f.write_str("handler differs"),
            FunctionDrift::Role => f.write_str("role differs"),
            FunctionDrift::Memory => f.write_str("memory differs"),
            FunctionDrift::Timeout => f.write_str("timeout differs"),
            FunctionDrift::Environment(names) => {
                write!(f, "environment differs ({})", names.join(", "))
            }
            FunctionDrift::StackTag => f.write_str("stack tag missing"),
            FunctionDrift::Concurrency => f.write_str("reserved concurrency is not 1"),
            FunctionDrift::AsyncRetries => f.write_str("asynchronous retries differ"),
            FunctionDrift::Invokers(others) => {
                let others: Vec<String> = others.iter().map(|o| o.to_string()).collect();
                write!(f, "may also be invoked by {}", others.join(", "))
            }
        }
    }
}

/// What differs between a deployed function and its spec; never the values of the environment.
pub(in crate::stack::lambda) fn differences(
    deployed: &Deployed,
    spec: &FunctionSpec,
    stack: &Stack,
) -> Vec<FunctionDrift> {
    let current = &deployed.config;
    let mut drift = Vec::new();
    let mut check = |differs: bool, what: FunctionDrift| {
        if differs {
            drift.push(what);
        }
    };
    check(
        current.code_sha256() != Some(spec.code_sha256.as_str()),
        FunctionDrift::Code,
    );
    check(
        current.runtime() != Some(&Runtime::Providedal2023),
        FunctionDrift::Runtime,
    );
    check(
        current.handler() != Some("bootstrap"),
        FunctionDrift::Handler,
    );
    check(
        current.role() != Some(spec.role_arn.as_str()),
        FunctionDrift::Role,
    );
    check(
        current.memory_size() != Some(spec.memory_mb),
        FunctionDrift::Memory,
    );
    check(
        current.timeout() != Some(spec.timeout_s),
        FunctionDrift::Timeout,
    );
    let env: BTreeMap<String, String> = current
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if env != spec.environment {
        let mut keys: Vec<&String> = env.keys().chain(spec.environment.keys()).collect();
        keys.sort();
        keys.dedup();
        let changed = keys
            .into_iter()
            .filter(|k| env.get(*k) != spec.environment.get(*k))
            .cloned()
            .collect();
        drift.push(FunctionDrift::Environment(changed));
    }
    if !stack.owns_map(deployed.tags.as_ref()) {
        drift.push(FunctionDrift::StackTag);
    }
    if spec.runs_alone {
        drift.extend(deployed.run_drift());
    }
    if !deployed.invokers.is_empty() {
        drift.push(FunctionDrift::Invokers(deployed.invokers.clone()));
    }
    drift
}
