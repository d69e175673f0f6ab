//! Athena: the stack's workgroup (results in the athena bucket, settings enforced, bytes scanned
//! capped), and the Glue database and `telegram` table over the enriched bucket, with partition
//! projection on `context_date` so that new days need no `MSCK REPAIR`. The columns come from
//! the one schema definition, `lake::schema::COLUMNS`.

use aws_sdk_athena::types::{
    EncryptionConfiguration, EncryptionOption, ResultConfiguration, ResultConfigurationUpdates,
    Tag as AthenaTag, WorkGroupConfiguration, WorkGroupConfigurationUpdates,
};
use aws_sdk_glue::types::DatabaseInput;
use lake::schema::TABLE_NAME;

use crate::aws::{AlreadyExists, AwsResultExt, NotFound};
use crate::plan::{Kind, Removal, Removed, Resource, State};
use crate::stack::ownership::{Claim, Foreign};
use crate::stack::{Clients, Desired, Note, Outputs, Part, STACK_TAG, Stack};

pub mod glue;

use glue::{database_owned, destroy_database, table_input, table_state};
pub use glue::{table_location, table_parameters};

/// The most a query may scan: 10 GB (about $0.05 at Athena's price).
pub const BYTES_SCANNED_CUTOFF: i64 = 10_000_000_000;
pub fn results_location(stack: &Stack) -> String {
    format!("s3://{}/{RESULTS_PREFIX}", stack.athena_bucket())
}

/// Where in the Athena bucket the workgroup writes query results.
pub const RESULTS_PREFIX: &str = "results/";
/// Where Athena writes the data of a table made by `CREATE TABLE AS` without a location: under
/// the results, but the user's table, not a query's result.
pub const CTAS_PREFIX: &str = "results/tables/";

/// Query results: in the athena bucket, encrypted with SSE-S3.
fn results_encryption() -> anyhow::Result<EncryptionConfiguration> {
    Ok(EncryptionConfiguration::builder()
        .encryption_option(EncryptionOption::SseS3)
        .build()?)
}

fn workgroup_configuration(stack: &Stack) -> anyhow::Result<WorkGroupConfiguration> {
    Ok(WorkGroupConfiguration::builder()
        .result_configuration(
            ResultConfiguration::builder()
                .output_location(results_location(stack))
                .encryption_configuration(results_encryption()?)
                .build(),
        )
        .enforce_work_group_configuration(true)
        .publish_cloud_watch_metrics_enabled(true)
        .bytes_scanned_cutoff_per_query(BYTES_SCANNED_CUTOFF)
        .build())
}

/// The same settings, in the shape UpdateWorkGroup takes.
fn workgroup_updates(stack: &Stack) -> anyhow::Result<WorkGroupConfigurationUpdates> {
    Ok(WorkGroupConfigurationUpdates::builder()
        .result_configuration_updates(
            ResultConfigurationUpdates::builder()
                .output_location(results_location(stack))
                .encryption_configuration(results_encryption()?)
                .build(),
        )
        .enforce_work_group_configuration(true)
        .publish_cloud_watch_metrics_enabled(true)
        .bytes_scanned_cutoff_per_query(BYTES_SCANNED_CUTOFF)
        .build())
}

/// The stack's workgroup as found: `None` when missing, else how it differs (words: a drifted
/// workgroup is updated whole) and whether it is the stack's.
async fn read_workgroup(
    client: &aws_sdk_athena::Client,
    stack: &Stack,
) -> anyhow::Result<Option<(State, bool)>> {
    let name = stack.workgroup();
    let wg = match client.get_work_group().work_group(&name).send().await {
        Ok(out) => out.work_group().cloned(),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e).aws(format!("Athena GetWorkGroup {name}")),
    };
    let Some(wg) = wg else {
        return Ok(None);
    };
    let owned = workgroup_owned(client, stack).await?;
    Ok(Some((workgroup_drift(&wg, stack), owned)))
}

/// Whether the stack's workgroup exists and is configured as `up` leaves it.
pub async fn workgroup_state(
    client: &aws_sdk_athena::Client,
    stack: &Stack,
) -> anyhow::Result<State> {
    let name = stack.workgroup();
    let wg = match client.get_work_group().work_group(&name).send().await {
        Ok(out) => out.work_group().cloned(),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e).aws(format!("Athena GetWorkGroup {name}")),
    };
    Ok(wg.map_or(State::Missing, |wg| workgroup_drift(&wg, stack)))
}

fn workgroup_drift(wg: &aws_sdk_athena::types::WorkGroup, stack: &Stack) -> State {
    let c = wg.configuration();
    let mut drift = Vec::new();
    if c.and_then(|c| c.result_configuration())
        .and_then(|r| r.output_location())
        != Some(results_location(stack).as_str())
    {
        drift.push("result location differs".to_owned());
    }
    if c.and_then(|c| c.enforce_work_group_configuration()) != Some(true) {
        drift.push("settings not enforced".to_owned());
    }
    if c.and_then(|c| c.bytes_scanned_cutoff_per_query()) != Some(BYTES_SCANNED_CUTOFF) {
        drift.push("bytes scanned cap differs".to_owned());
    }
    if drift.is_empty() {
        State::Present
    } else {
        State::Drifted(drift)
    }
}

/// Athena's workgroup, and Glue's database and table.
pub struct Analytics;

/// The workgroup (its state, whether it is the stack's), the database (whether it is the
/// stack's; `None` when missing) and the table as read.
pub struct Found {
    workgroup: Option<(State, bool)>,
    database: Option<bool>,
    table: State,
}

impl Part for Analytics {
    type Found = Found;
    const LABEL: &'static str = "Athena and Glue";
    const STAGE: usize = 0;

    async fn read(&self, c: &Clients, stack: &Stack) -> anyhow::Result<Found> {
        let (workgroup, database, table) = tokio::try_join!(
            read_workgroup(&c.athena, stack),
            database_owned(&c.glue, stack),
            table_state(&c.glue, stack)
        )?;
        Ok(Found {
            workgroup,
            database,
            table,
        })
    }

    /// The table lives in the database: it is the stack's when the database is.
    fn claims(&self, found: &Found, stack: &Stack) -> Vec<Claim> {
        vec![
            Claim::new(
                Kind::Workgroup,
                stack.workgroup(),
                found.workgroup.as_ref().map(|w| w.1),
            ),
            Claim::new(Kind::GlueDatabase, stack.glue_database(), found.database),
        ]
    }

    fn states(&self, found: &Found, stack: &Stack, _: Option<&Desired>) -> Vec<Resource> {
        vec![
            Resource {
                kind: Kind::Workgroup,
                name: stack.workgroup(),
                state: found
                    .workgroup
                    .as_ref()
                    .map_or(State::Missing, |w| w.0.clone()),
            },
            Resource {
                kind: Kind::GlueDatabase,
                name: stack.glue_database(),
                state: found.database.map_or(State::Missing, |_| State::Present),
            },
            Resource {
                kind: Kind::GlueTable,
                name: format!("{}.{TABLE_NAME}", stack.glue_database()),
                state: found.table.clone(),
            },
        ]
    }

    async fn apply(
        &self,
        c: &Clients,
        stack: &Stack,
        _: &Desired,
        found: &Found,
        _: &Outputs,
        _: Note<'_>,
    ) -> anyhow::Result<Outputs> {
        let workgroup = found
            .workgroup
            .as_ref()
            .map_or(State::Missing, |w| w.0.clone());
        ensure_workgroup(&c.athena, stack, &workgroup).await?;
        if found.database.is_none() {
            create_database(&c.glue, stack).await?;
        }
        ensure_table(&c.glue, stack, &found.table).await?;
        Ok(Outputs::default())
    }

    async fn remove(
        &self,
        c: &Clients,
        stack: &Stack,
        foreign: &Foreign,
        delete_data: bool,
    ) -> anyhow::Result<Vec<Removed>> {
        destroy(&c.athena, &c.glue, stack, foreign, delete_data).await
    }
}

async fn ensure_workgroup(
    athena: &aws_sdk_athena::Client,
    stack: &Stack,
    state: &State,
) -> anyhow::Result<()> {
    let name = stack.workgroup();
    match state {
        // The stack always wants these: never unwanted.
        State::Present | State::Unwanted => {}
        State::Missing => {
            let created = athena
                .create_work_group()
                .name(&name)
                .description(format!("tgpipe stack {}", stack.name))
                .configuration(workgroup_configuration(stack)?)
                .tags(
                    AthenaTag::builder()
                        .key(STACK_TAG)
                        .value(stack.name.as_str())
                        .build(),
                )
                .send()
                .await;
            match created {
                // A retry of a create AWS carried out but did not answer: it is this one.
                Err(e) if !e.is_already_exists() => {
                    return Err(e).aws(format!("Athena CreateWorkGroup {name}"));
                }
                _ => {}
            }
        }
        State::Drifted(_) => {
            athena
                .update_work_group()
                .work_group(&name)
                .configuration_updates(workgroup_updates(stack)?)
                .send()
                .await
                .aws(format!("Athena UpdateWorkGroup {name}"))?;
        }
    }
    Ok(())
}

async fn create_database(glue: &aws_sdk_glue::Client, stack: &Stack) -> anyhow::Result<()> {
    let db = stack.glue_database();
    let created = glue
        .create_database()
        .database_input(
            DatabaseInput::builder()
                .name(&db)
                .description(format!("tgpipe stack {}", stack.name))
                .build()?,
        )
        .tags(STACK_TAG, stack.name.as_str())
        .send()
        .await;
    match created {
        Err(e) if !e.is_already_exists() => Err(e).aws(format!("Glue CreateDatabase {db}")),
        _ => Ok(()),
    }
}

async fn ensure_table(
    glue: &aws_sdk_glue::Client,
    stack: &Stack,
    state: &State,
) -> anyhow::Result<()> {
    let db = stack.glue_database();
    match state {
        // The stack always wants these: never unwanted.
        State::Present | State::Unwanted => {}
        State::Missing => {
            let created = glue
                .create_table()
                .database_name(&db)
                .table_input(table_input(stack)?)
                .send()
                .await;
            match created {
                // A retry of a create AWS carried out but did not answer.
                Err(e) if !e.is_already_exists() => {
                    return Err(e).aws(format!("Glue CreateTable {db}.{TABLE_NAME}"));
                }
                _ => {}
            }
        }
        State::Drifted(_) => {
            glue.update_table()
                .database_name(&db)
                .table_input(table_input(stack)?)
                .send()
                .await
                .aws(format!("Glue UpdateTable {db}.{TABLE_NAME}"))?;
        }
    }
    Ok(())
}

/// The workgroup's saved queries, which deleting it would take with it (none when it is gone).
pub async fn saved_queries(
    athena: &aws_sdk_athena::Client,
    stack: &Stack,
) -> anyhow::Result<usize> {
    let name = stack.workgroup();
    match athena.list_named_queries().work_group(&name).send().await {
        Ok(out) => Ok(out.named_query_ids().len()),
        // A workgroup that is not there has none.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_invalid_request_exception()) =>
        {
            Ok(0)
        }
        Err(e) => Err(e).aws(format!("Athena ListNamedQueries {name}")),
    }
}

/// Removes the table, the database and the workgroup (with its query history); a database or
/// workgroup that is not the stack's is kept, and so is a table in such a database. Unless
/// `delete_data`, a database that holds tables of the user's own and a workgroup with saved
/// queries are kept too.
async fn destroy(
    athena: &aws_sdk_athena::Client,
    glue: &aws_sdk_glue::Client,
    stack: &Stack,
    foreign: &Foreign,
    delete_data: bool,
) -> anyhow::Result<Vec<Removed>> {
    let db = stack.glue_database();
    let mut out = Vec::new();
    let table = format!("{db}.{TABLE_NAME}");
    if foreign.contains(Kind::GlueDatabase, &db) {
        out.push(Removed::new(Kind::GlueTable, table, Removal::NotOurs));
        out.push(Removed::new(Kind::GlueDatabase, db, Removal::NotOurs));
    } else {
        destroy_database(glue, &db, &table, delete_data, &mut out).await?;
    }
    let name = stack.workgroup();
    if foreign.contains(Kind::Workgroup, &name) {
        out.push(Removed::new(Kind::Workgroup, name, Removal::NotOurs));
    } else if workgroup_state(athena, stack).await? == State::Missing {
        out.push(Removed::new(Kind::Workgroup, name, Removal::AlreadyGone));
    } else if !delete_data && saved_queries(athena, stack).await? > 0 {
        out.push(Removed::new(Kind::Workgroup, name, Removal::KeptWithData));
    } else {
        athena
            .delete_work_group()
            .work_group(&name)
            .recursive_delete_option(true)
            .send()
            .await
            .aws(format!("Athena DeleteWorkGroup {name}"))?;
        out.push(Removed::new(Kind::Workgroup, name, Removal::Deleted));
    }
    Ok(out)
}

/// Whether the stack's tag is on its workgroup, which exists.
async fn workgroup_owned(athena: &aws_sdk_athena::Client, stack: &Stack) -> anyhow::Result<bool> {
    let workgroup = stack.workgroup();
    let arn = stack.arn("athena", &format!("workgroup/{workgroup}"));
    match athena
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
    {
        Ok(tags) => Ok(stack.owns(
            tags.tags()
                .iter()
                .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
        )),
        // An emulator answers this for a workgroup without tags: not the stack's either way.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_invalid_request_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(e).aws(format!("Athena ListTagsForResource {workgroup}")),
    }
}
