//! The policies on a role beside the stack's own inline one, which widen what its function may
//! do: drift that `status` names and `up` removes.

use aws_sdk_iam::Client;

use super::POLICY_NAME;
use crate::aws::{AwsResultExt, NotFound};

/// A policy on a role beside the stack's own inline one: another inline policy, or an attached
/// managed policy (its ARN). Such a policy widens what the function may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum OtherPolicy {
    Inline(String),
    Attached(String),
}

/// Every policy on the role but the stack's own (none when the role is missing).
pub(super) async fn other_policies(
    client: &Client,
    name: &str,
) -> anyhow::Result<Vec<OtherPolicy>> {
    let (inline, attached) = tokio::join!(
        client.list_role_policies().role_name(name).send(),
        client.list_attached_role_policies().role_name(name).send()
    );
    let mut out = Vec::new();
    match inline {
        Ok(o) => out.extend(
            o.policy_names()
                .iter()
                .filter(|p| *p != POLICY_NAME)
                .map(|p| OtherPolicy::Inline(p.clone())),
        ),
        Err(e) if e.is_not_found() => return Ok(Vec::new()),
        Err(e) => return Err(e).aws(format!("IAM ListRolePolicies {name}")),
    }
    match attached {
        Ok(o) => out.extend(
            o.attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn())
                .map(|arn| OtherPolicy::Attached(arn.to_owned())),
        ),
        Err(e) if e.is_not_found() => return Ok(Vec::new()),
        Err(e) => return Err(e).aws(format!("IAM ListAttachedRolePolicies {name}")),
    }
    Ok(out)
}

/// Removes the policies `other_policies` finds (the stack's own inline one stays).
pub(super) async fn remove_other_policies(client: &Client, name: &str) -> anyhow::Result<()> {
    // Listed again here: the read kept only that there are some.
    for policy in other_policies(client, name).await? {
        match policy {
            OtherPolicy::Inline(p) => client
                .delete_role_policy()
                .role_name(name)
                .policy_name(&p)
                .send()
                .await
                .map(|_| ())
                .aws(format!("IAM DeleteRolePolicy {name} {p}"))?,
            OtherPolicy::Attached(arn) => client
                .detach_role_policy()
                .role_name(name)
                .policy_arn(&arn)
                .send()
                .await
                .map(|_| ())
                .aws(format!("IAM DetachRolePolicy {name} {arn}"))?,
        }
    }
    Ok(())
}
