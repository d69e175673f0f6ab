//! The embedded engine: DataFusion over a local lake's Parquet, with Trino's semantics.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_schema::DataType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::ListingOptions;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::{DFParser, Statement as DFStatement};
use lake::layout::{ENRICHED_STORE, PARTITION_COLUMN, TABLE_PREFIX};

use super::output::Answer;

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("no lake at {0}: give --local the directory that holds enriched/{TABLE_PREFIX}/")]
    NoLake(PathBuf),
    #[error(
        "the lake at {0} is empty: there is no Parquet under {1}; turn raw updates into Parquet first with `tgpipe local etl DIR`"
    )]
    Empty(PathBuf, PathBuf),
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0}")]
    Sql(String),
}

/// The table's directory in a lake: `DIR/enriched/telegram/`.
pub fn table_dir(lake: &Path) -> PathBuf {
    lake.join(ENRICHED_STORE).join(TABLE_PREFIX)
}

/// A session with the `telegram` table of the lake at `dir` and Trino's functions.
pub async fn open(dir: &Path) -> Result<SessionContext, LocalError> {
    if !dir.is_dir() {
        return Err(LocalError::NoLake(dir.to_owned()));
    }
    let table = table_dir(dir);
    if !has_parts(&table)? {
        return Err(LocalError::Empty(dir.to_owned(), table));
    }
    let table = std::path::absolute(&table).map_err(|e| LocalError::Io(table.clone(), e))?;
    // Names are case-sensitive as in the files; the session reads the lake and writes nothing.
    let mut config = SessionConfig::new().with_information_schema(false);
    // An equi-join never matches a NULL key, so rows with one are dropped before the join: a
    // message that is not a reply has no `reply_to_message_id`, and this halves `reply_time`.
    config.options_mut().optimizer.filter_null_join_keys = true;
    let ctx = SessionContext::new_with_config(config);
    super::trino::register(&ctx);
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(vec![(PARTITION_COLUMN.to_owned(), DataType::Date32)]);
    let url = format!("{}/", table.display());
    ctx.register_listing_table(
        lake::schema::TABLE_NAME,
        &url,
        options,
        Some(lake::schema::schema()),
        None,
    )
    .await
    .map_err(|e| LocalError::Sql(message(e)))?;
    Ok(ctx)
}

/// Runs one read-only statement.
pub async fn run(ctx: &SessionContext, sql: &str) -> Result<Answer, LocalError> {
    let read_only = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let frame = plan(ctx, sql)
        .await
        .and_then(|plan| read_only.verify_plan(&plan).map(|()| plan))
        .map_err(|e| LocalError::Sql(message(e)))?;
    let frame = ctx
        .execute_logical_plan(frame)
        .await
        .map_err(|e| LocalError::Sql(message(e)))?;
    let schema = frame.schema().as_arrow().clone();
    let batches = frame
        .collect()
        .await
        .map_err(|e| LocalError::Sql(message(e)))?;
    Answer::from_batches(&schema, &batches).map_err(|e| LocalError::Sql(e.to_string()))
}

/// Parses one statement, adapts what DataFusion plans differently from Trino, and plans it.
async fn plan(ctx: &SessionContext, sql: &str) -> datafusion::error::Result<LogicalPlan> {
    let dialect = datafusion::sql::sqlparser::dialect::GenericDialect {};
    let mut statements = DFParser::parse_sql_with_dialect(sql, &dialect)?;
    if statements.len() != 1 {
        return datafusion::common::plan_err!("give one SQL statement, not {}", statements.len());
    }
    let mut statement = statements.pop_front().expect("one statement");
    if let DFStatement::Statement(inner) = &mut statement {
        super::trino::rewrite_lateral_unnest(inner)?;
    }
    ctx.state().statement_to_plan(statement).await
}

/// The engine's own message, without the layers of wrapping around it.
fn message(error: DataFusionError) -> String {
    match error.find_root() {
        DataFusionError::SQL(parser, _) => format!("SQL error: {parser}"),
        root => root.to_string(),
    }
}

/// Whether any day of the table holds a Parquet part.
fn has_parts(table: &Path) -> Result<bool, LocalError> {
    let days = match std::fs::read_dir(table) {
        Ok(days) => days,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(LocalError::Io(table.to_owned(), e)),
    };
    for day in days.flatten() {
        let Ok(parts) = std::fs::read_dir(day.path()) else {
            continue;
        };
        let key = |p: PathBuf| p.to_string_lossy().replace('\\', "/");
        if parts.flatten().any(|p| {
            let k = key(p.path());
            lake::layout::is_enriched_part(&k) && lake::layout::day_of_key(&k).is_some()
        }) {
            return Ok(true);
        }
    }
    Ok(false)
}
