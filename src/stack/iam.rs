//! The functions' IAM roles, whole lifecycle: trusted by Lambda only, with one inline policy each
//! scoped to exactly what the function does (see ARCHITECTURE.md).

use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;
use serde_json::{Value, json};

mod policies;

use crate::aws::{AlreadyExists, AwsResultExt, NotFound};
use crate::plan::{Kind, Removal, Removed, Resource};
use crate::stack::ownership::{Claim, Foreign};
use crate::stack::{Clients, Desired, Function, Note, Outputs, Part, STACK_TAG, Stack};
use policies::{other_policies, remove_other_policies};

/// The name of the inline policy on each role.
pub const POLICY_NAME: &str = "tgpipe";

/// Lambda, and nothing else, may assume the roles.
pub fn trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole"
        }]
    })
}

/// Least privilege: the ingest function writes raw objects (updates, quarantined bodies, marks of
/// late changes, notes of migrations and of chats not kept) and reads those notes; the ETL reads raw, deletes the
/// marks it handled, and rewrites enriched (the table and its own records); both write their own
/// log group (which `up` creates, so no CreateLogGroup).
pub fn permissions(stack: &Stack, f: Function) -> Value {
    use lake::layout::{
        BUILT_PREFIX, CHANGED_PREFIX, MIGRATED_PREFIX, QUARANTINE_PREFIX, SEEN_PREFIX,
    };
    let under = |bucket: &str, prefix: &str| {
        stack.s3_arn(&format!("{bucket}/{}/*", prefix.trim_end_matches('/')))
    };
    let table = |bucket: &str| under(bucket, lake::layout::TABLE_PREFIX);
    let bucket = |bucket: String| stack.s3_arn(&bucket);
    let (raw, enriched) = (stack.raw_bucket(), stack.enriched_bucket());
    let logs = json!({
        "Sid": "OwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": stack.arn("logs", &format!("log-group:{}:*", stack.log_group(f)))
    });
    let etl_records = BUILT_PREFIX.split('/').next().unwrap_or("etl");
    let statements = match f {
        Function::Ingest => vec![
            json!({"Sid": "StoreRaw", "Effect": "Allow", "Action": "s3:PutObject",
                   "Resource": [table(&raw), under(&raw, QUARANTINE_PREFIX),
                                under(&raw, CHANGED_PREFIX), under(&raw, MIGRATED_PREFIX),
                                under(&raw, SEEN_PREFIX)]}),
            // Listing makes a missing note a 404, not a 403 (S3 hides absence otherwise).
            json!({"Sid": "ReadNotes", "Effect": "Allow", "Action": "s3:GetObject",
                   "Resource": [under(&raw, MIGRATED_PREFIX), under(&raw, SEEN_PREFIX)]}),
            json!({"Sid": "ListRaw", "Effect": "Allow", "Action": "s3:ListBucket",
                   "Resource": bucket(raw.clone())}),
            logs,
        ],
        Function::Etl => vec![
            json!({"Sid": "ListBuckets", "Effect": "Allow", "Action": "s3:ListBucket",
                   "Resource": [bucket(raw.clone()), bucket(enriched.clone())]}),
            json!({"Sid": "ReadRaw", "Effect": "Allow", "Action": "s3:GetObject",
                   "Resource": table(&raw)}),
            json!({"Sid": "ClearMarks", "Effect": "Allow", "Action": "s3:DeleteObject",
                   "Resource": under(&raw, CHANGED_PREFIX)}),
            json!({"Sid": "WriteEnriched", "Effect": "Allow",
                   "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                   "Resource": [table(&enriched), under(&enriched, etl_records)]}),
            logs,
        ],
    };
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// IAM hands policy documents back URL-encoded; emulators may not.
fn parse_document(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok().or_else(|| {
        let decoded = url::form_urlencoded::parse(format!("d={text}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())?;
        serde_json::from_str(&decoded).ok()
    })
}

/// What differs on an existing role; `None` when the role does not exist.
async fn drift(
    client: &Client,
    stack: &Stack,
    f: Function,
) -> anyhow::Result<Option<Vec<RoleDrift>>> {
    let name = stack.role(f);
    // The role (with its tags), its inline policy and any other policy at once; a missing role
    // fails them all.
    let (role, policy, others) = tokio::join!(
        client.get_role().role_name(&name).send(),
        client
            .get_role_policy()
            .role_name(&name)
            .policy_name(POLICY_NAME)
            .send(),
        other_policies(client, &name)
    );
    let role = match role {
        Ok(out) => out.role().cloned(),
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e).aws(format!("IAM GetRole {name}")),
    };
    let Some(role) = role else { return Ok(None) };
    let mut drift = Vec::new();
    if role.assume_role_policy_document().and_then(parse_document) != Some(trust_policy()) {
        drift.push(RoleDrift::Trust);
    }
    match policy {
        Ok(out) if parse_document(out.policy_document()) == Some(permissions(stack, f)) => {}
        Ok(_) => drift.push(RoleDrift::Permissions),
        Err(e) if e.is_not_found() => drift.push(RoleDrift::PermissionsMissing),
        Err(e) => return Err(e).aws(format!("IAM GetRolePolicy {name}")),
    }
    if !stack.owns(role.tags().iter().map(|t| (t.key(), t.value()))) {
        drift.push(RoleDrift::StackTag);
    }
    if !others?.is_empty() {
        drift.push(RoleDrift::OtherPolicies);
    }
    Ok(Some(drift))
}

/// How a role differs from what the stack wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleDrift {
    Trust,
    Permissions,
    PermissionsMissing,
    StackTag,
    /// Another inline policy, or an attached managed one (an AdministratorAccess, say).
    OtherPolicies,
}

impl std::fmt::Display for RoleDrift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RoleDrift::Trust => "trust policy differs",
            RoleDrift::Permissions => "permissions differ",
            RoleDrift::PermissionsMissing => "permissions missing",
            RoleDrift::StackTag => "stack tag missing",
            RoleDrift::OtherPolicies => "other policies attached",
        })
    }
}

fn stack_tag(stack: &Stack) -> anyhow::Result<Tag> {
    Ok(Tag::builder()
        .key(STACK_TAG)
        .value(stack.name.as_str())
        .build()?)
}

/// The functions' roles.
pub struct Roles;

impl Part for Roles {
    /// Each role, in [`Function::ALL`]'s order: `None` when missing, else what differs.
    type Found = Vec<Option<Vec<RoleDrift>>>;
    const LABEL: &'static str = "roles";
    const STAGE: usize = 0;

    async fn read(&self, c: &Clients, stack: &Stack) -> anyhow::Result<Self::Found> {
        futures::future::try_join_all(Function::ALL.map(|f| drift(&c.iam, stack, f))).await
    }

    /// A role without the stack's tag is not the stack's.
    fn claims(&self, found: &Self::Found, stack: &Stack) -> Vec<Claim> {
        Function::ALL
            .iter()
            .zip(found)
            .map(|(f, drift)| {
                let owned = drift.as_ref().map(|d| !d.contains(&RoleDrift::StackTag));
                Claim::new(Kind::Role, stack.role(*f), owned)
            })
            .collect()
    }

    fn states(&self, found: &Self::Found, stack: &Stack, _: Option<&Desired>) -> Vec<Resource> {
        Function::ALL
            .iter()
            .zip(found)
            .map(|(f, drift)| Resource::with_drift(Kind::Role, stack.role(*f), drift.clone()))
            .collect()
    }

    /// Creates missing roles and repairs drifted ones.
    async fn apply(
        &self,
        c: &Clients,
        stack: &Stack,
        _: &Desired,
        found: &Self::Found,
        _: &Outputs,
        _: Note<'_>,
    ) -> anyhow::Result<Outputs> {
        for (f, drift) in Function::ALL.into_iter().zip(found) {
            repair(&c.iam, stack, f, drift.as_deref()).await?;
        }
        Ok(Outputs::default())
    }

    async fn remove(
        &self,
        c: &Clients,
        stack: &Stack,
        _: &Foreign,
        _: bool,
    ) -> anyhow::Result<Vec<Removed>> {
        destroy(&c.iam, stack).await
    }
}

/// Creates the role of `f` (`drift` is `None`) or repairs what differs.
async fn repair(
    client: &Client,
    stack: &Stack,
    f: Function,
    drift: Option<&[RoleDrift]>,
) -> anyhow::Result<()> {
    let name = &stack.role(f);
    let (trust, perms, tag) = match drift {
        Some([]) => return Ok(()),
        None => {
            match client
                .create_role()
                .role_name(name)
                .description(format!(
                    "tgpipe stack {}: the {} Lambda function",
                    stack.name,
                    f.suffix()
                ))
                .assume_role_policy_document(trust_policy().to_string())
                .tags(stack_tag(stack)?)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if e.is_already_exists() => {}
                Err(e) => return Err(e).aws(format!("IAM CreateRole {name}")),
            }
            (false, true, false)
        }
        Some(d) => (
            d.contains(&RoleDrift::Trust),
            d.contains(&RoleDrift::Permissions) || d.contains(&RoleDrift::PermissionsMissing),
            d.contains(&RoleDrift::StackTag),
        ),
    };
    if trust {
        client
            .update_assume_role_policy()
            .role_name(name)
            .policy_document(trust_policy().to_string())
            .send()
            .await
            .aws(format!("IAM UpdateAssumeRolePolicy {name}"))?;
    }
    if perms {
        client
            .put_role_policy()
            .role_name(name)
            .policy_name(POLICY_NAME)
            .policy_document(permissions(stack, f).to_string())
            .send()
            .await
            .aws(format!("IAM PutRolePolicy {name}"))?;
    }
    if drift.is_some_and(|d| d.contains(&RoleDrift::OtherPolicies)) {
        remove_other_policies(client, name).await?;
    }
    if tag {
        client
            .tag_role()
            .role_name(name)
            .tags(stack_tag(stack)?)
            .send()
            .await
            .aws(format!("IAM TagRole {name}"))?;
    }
    Ok(())
}

/// Deletes the stack's roles (their inline and attached policies first). A role of that name
/// that does not carry this stack's tag is not ours: it is left alone and named.
async fn destroy(client: &Client, stack: &Stack) -> anyhow::Result<Vec<Removed>> {
    let mut out = Vec::new();
    for f in Function::ALL {
        let name = stack.role(f);
        let tags = match client.list_role_tags().role_name(&name).send().await {
            Ok(t) => t,
            Err(e) if e.is_not_found() => {
                out.push(Removed::new(Kind::Role, name, Removal::AlreadyGone));
                continue;
            }
            Err(e) => return Err(e).aws(format!("IAM ListRoleTags {name}")),
        };
        if !stack.owns(tags.tags().iter().map(|t| (t.key(), t.value()))) {
            out.push(Removed::new(Kind::Role, name, Removal::NotOurs));
            continue;
        }
        let inline = client
            .list_role_policies()
            .role_name(&name)
            .send()
            .await
            .aws(format!("IAM ListRolePolicies {name}"))?;
        for policy in inline.policy_names() {
            client
                .delete_role_policy()
                .role_name(&name)
                .policy_name(policy)
                .send()
                .await
                .aws(format!("IAM DeleteRolePolicy {name} {policy}"))?;
        }
        let attached = client
            .list_attached_role_policies()
            .role_name(&name)
            .send()
            .await
            .aws(format!("IAM ListAttachedRolePolicies {name}"))?;
        for policy in attached.attached_policies() {
            if let Some(arn) = policy.policy_arn() {
                client
                    .detach_role_policy()
                    .role_name(&name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .aws(format!("IAM DetachRolePolicy {name} {arn}"))?;
            }
        }
        match client.delete_role().role_name(&name).send().await {
            Ok(_) => out.push(Removed::new(Kind::Role, name, Removal::Deleted)),
            Err(e) if e.is_not_found() => {
                out.push(Removed::new(Kind::Role, name, Removal::AlreadyGone))
            }
            Err(e) => return Err(e).aws(format!("IAM DeleteRole {name}")),
        }
    }
    Ok(out)
}
