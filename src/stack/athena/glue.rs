//! The Glue database and the `telegram` table over the enriched bucket, with partition
//! projection on `context_date` so that new days need no `MSCK REPAIR`. The columns come from
//! the one schema definition, `lake::schema::COLUMNS`.

use std::collections::HashMap;

use aws_sdk_glue::types::{Column, SerDeInfo, StorageDescriptor, TableInput};
use lake::layout::{PARTITION_COLUMN, TABLE_PREFIX};
use lake::schema::{COLUMNS, TABLE_NAME};

use crate::aws::{AwsResultExt, NotFound};
use crate::plan::{Kind, Removal, Removed, State};
use crate::stack::Stack;

const PARQUET_INPUT: &str = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat";
const PARQUET_OUTPUT: &str = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat";
const PARQUET_SERDE: &str = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";

pub fn table_location(stack: &Stack) -> String {
    format!("s3://{}/{TABLE_PREFIX}/", stack.enriched_bucket())
}

/// The table's parameters: Parquet, and partition projection on the day.
pub fn table_parameters(stack: &Stack) -> HashMap<String, String> {
    let p = PARTITION_COLUMN;
    HashMap::from([
        ("classification".into(), "parquet".into()),
        ("EXTERNAL".into(), "TRUE".into()),
        ("projection.enabled".into(), "true".into()),
        (format!("projection.{p}.type"), "date".into()),
        (format!("projection.{p}.format"), "yyyy-MM-dd".into()),
        (
            format!("projection.{p}.range"),
            // Athena reads NOW in UTC: a day after it covers "today" in zones east of UTC.
            format!("{},NOW+1DAYS", lake::layout::FIRST_DAY),
        ),
        (format!("projection.{p}.interval"), "1".into()),
        (format!("projection.{p}.interval.unit"), "DAYS".into()),
        (
            "storage.location.template".into(),
            format!("{}{p}=${{{p}}}/", table_location(stack)),
        ),
    ])
}

pub(super) fn columns() -> anyhow::Result<Vec<Column>> {
    COLUMNS
        .iter()
        .map(|(name, ty)| Ok(Column::builder().name(*name).r#type(ty.athena()).build()?))
        .collect()
}

pub(super) fn table_input(stack: &Stack) -> anyhow::Result<TableInput> {
    Ok(TableInput::builder()
        .name(TABLE_NAME)
        .description("Telegram messages, one row per message (tgpipe)")
        .table_type("EXTERNAL_TABLE")
        .set_parameters(Some(table_parameters(stack)))
        .partition_keys(
            Column::builder()
                .name(PARTITION_COLUMN)
                .r#type("date")
                .build()?,
        )
        .storage_descriptor(
            StorageDescriptor::builder()
                .set_columns(Some(columns()?))
                .location(table_location(stack))
                .input_format(PARQUET_INPUT)
                .output_format(PARQUET_OUTPUT)
                .serde_info(
                    SerDeInfo::builder()
                        .serialization_library(PARQUET_SERDE)
                        .build(),
                )
                .build(),
        )
        .build()?)
}

pub(super) async fn table_state(
    glue: &aws_sdk_glue::Client,
    stack: &Stack,
) -> anyhow::Result<State> {
    let db = stack.glue_database();
    let table = match glue
        .get_table()
        .database_name(&db)
        .name(TABLE_NAME)
        .send()
        .await
    {
        Ok(out) => out.table().cloned(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_entity_not_found_exception()) =>
        {
            None
        }
        Err(e) => return Err(e).aws(format!("Glue GetTable {db}.{TABLE_NAME}")),
    };
    let Some(table) = table else {
        return Ok(State::Missing);
    };
    let want = table_input(stack)?;
    let mut drift = Vec::new();
    let sd = table.storage_descriptor();
    let cols = |c: &[Column]| {
        c.iter()
            .map(|c| (c.name().to_owned(), c.r#type().map(str::to_owned)))
            .collect::<Vec<_>>()
    };
    if sd.map(|s| cols(s.columns())) != want.storage_descriptor().map(|s| cols(s.columns())) {
        drift.push("columns differ".to_owned());
    }
    if cols(table.partition_keys()) != cols(want.partition_keys()) {
        drift.push("partition column differs".to_owned());
    }
    if sd.and_then(|s| s.location()) != Some(table_location(stack).as_str()) {
        drift.push("location differs".to_owned());
    }
    let params = table.parameters().cloned().unwrap_or_default();
    if table_parameters(stack)
        .iter()
        .any(|(k, v)| params.get(k) != Some(v))
    {
        drift.push("partition projection differs".to_owned());
    }
    Ok(if drift.is_empty() {
        State::Present
    } else {
        State::Drifted(drift)
    })
}

/// The database's tables other than the stack's (someone's own, made in the stack's database),
/// which deleting the database would take with it.
pub async fn other_tables(glue: &aws_sdk_glue::Client, db: &str) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = match glue
            .get_tables()
            .database_name(db)
            .set_next_token(token)
            .send()
            .await
        {
            Ok(page) => page,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_entity_not_found_exception()) =>
            {
                return Ok(names);
            }
            Err(e) => return Err(e).aws(format!("Glue GetTables {db}")),
        };
        names.extend(
            page.table_list()
                .iter()
                .map(|t| t.name().to_owned())
                .filter(|n| n != TABLE_NAME),
        );
        match page.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => return Ok(names),
        }
    }
}

/// Deletes the stack's table, then the database unless it holds other tables and
/// `delete_data` is not given (then it is kept, with them).
pub(super) async fn destroy_database(
    glue: &aws_sdk_glue::Client,
    db: &str,
    table: &str,
    delete_data: bool,
    out: &mut Vec<Removed>,
) -> anyhow::Result<()> {
    match glue
        .delete_table()
        .database_name(db)
        .name(TABLE_NAME)
        .send()
        .await
    {
        Ok(_) => out.push(Removed::new(
            Kind::GlueTable,
            table.to_owned(),
            Removal::Deleted,
        )),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_entity_not_found_exception()) =>
        {
            out.push(Removed::new(
                Kind::GlueTable,
                table.to_owned(),
                Removal::AlreadyGone,
            ))
        }
        Err(e) => return Err(e).aws(format!("Glue DeleteTable {table}")),
    }
    if !delete_data && !other_tables(glue, db).await?.is_empty() {
        out.push(Removed::new(
            Kind::GlueDatabase,
            db.to_owned(),
            Removal::KeptWithData,
        ));
        return Ok(());
    }
    match glue.delete_database().name(db).send().await {
        Ok(_) => out.push(Removed::new(
            Kind::GlueDatabase,
            db.to_owned(),
            Removal::Deleted,
        )),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_entity_not_found_exception()) =>
        {
            out.push(Removed::new(
                Kind::GlueDatabase,
                db.to_owned(),
                Removal::AlreadyGone,
            ))
        }
        Err(e) => return Err(e).aws(format!("Glue DeleteDatabase {db}")),
    }
    Ok(())
}

pub(super) async fn database_owned(
    glue: &aws_sdk_glue::Client,
    stack: &Stack,
) -> anyhow::Result<Option<bool>> {
    let database = stack.glue_database();
    match glue.get_database().name(&database).send().await {
        Ok(_) => {
            let arn = stack.arn("glue", &format!("database/{database}"));
            let tags = glue
                .get_tags()
                .resource_arn(arn)
                .send()
                .await
                .aws(format!("Glue GetTags {database}"))?;
            Ok(Some(stack.owns_map(tags.tags())))
        }
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e).aws(format!("Glue GetDatabase {database}")),
    }
}
