//! Trino (Athena) semantics for the embedded engine, so that one SQL text gives one answer.
//!
//! DataFusion differs from Trino where the analyses care: it has no `hour()`, `day_of_week()`,
//! `week()`…, its `regexp_replace` replaces only the first match, it lacks
//! `regexp_extract_all`, and its CAST from a floating-point number to an integer truncates where
//! Trino rounds. Each difference is registered here; the SQL text is never rewritten.

use std::sync::Arc;

use arrow_array::builder::{Int64Builder, ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, TimeUnit};
use chrono::{DateTime, Datelike, Timelike, Utc};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DataFusionError, Result, ScalarValue, exec_err, plan_err};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr::{Cast, TryCast};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ExprSchemable, LogicalPlan, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, Volatility,
};
use datafusion::optimizer::AnalyzerRule;
use datafusion::prelude::SessionContext;
use regex::Regex;

/// Registers every Trino-compatible function and rule on `ctx`.
pub fn register(ctx: &SessionContext) {
    for part in Part::ALL {
        ctx.register_udf(ScalarUDF::new_from_impl(TimePart::new(part)));
    }
    ctx.register_udf(ScalarUDF::new_from_impl(RegexpReplace::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(RegexpExtractAll::new()));
    ctx.add_analyzer_rule(Arc::new(RoundingCasts));
}

/// A field of a timestamp, as Trino's functions of the same names compute it: in the
/// timestamp's own time zone, weeks and weekdays by ISO 8601 (1 = Monday … 7 = Sunday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Part {
    Year,
    Quarter,
    Month,
    Week,
    YearOfWeek,
    Day,
    DayOfWeek,
    DayOfYear,
    Hour,
    Minute,
    Second,
}

impl Part {
    const ALL: [Part; 11] = [
        Part::Year,
        Part::Quarter,
        Part::Month,
        Part::Week,
        Part::YearOfWeek,
        Part::Day,
        Part::DayOfWeek,
        Part::DayOfYear,
        Part::Hour,
        Part::Minute,
        Part::Second,
    ];

    /// Trino's name and aliases.
    fn names(self) -> &'static [&'static str] {
        match self {
            Part::Year => &["year"],
            Part::Quarter => &["quarter"],
            Part::Month => &["month"],
            Part::Week => &["week", "week_of_year"],
            Part::YearOfWeek => &["year_of_week", "yow"],
            Part::Day => &["day", "day_of_month"],
            Part::DayOfWeek => &["day_of_week", "dow"],
            Part::DayOfYear => &["day_of_year", "doy"],
            Part::Hour => &["hour"],
            Part::Minute => &["minute"],
            Part::Second => &["second"],
        }
    }

    fn of<T: Datelike + Timelike>(self, t: &T) -> i64 {
        i64::from(match self {
            Part::Year => t.year(),
            Part::Quarter => (t.month0() / 3 + 1) as i32,
            Part::Month => t.month() as i32,
            Part::Week => t.iso_week().week() as i32,
            Part::YearOfWeek => t.iso_week().year(),
            Part::Day => t.day() as i32,
            Part::DayOfWeek => t.weekday().number_from_monday() as i32,
            Part::DayOfYear => t.ordinal() as i32,
            Part::Hour => t.hour() as i32,
            Part::Minute => t.minute() as i32,
            Part::Second => t.second() as i32,
        })
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TimePart {
    part: Part,
    aliases: Vec<String>,
    signature: Signature,
}

impl TimePart {
    fn new(part: Part) -> TimePart {
        TimePart {
            part,
            aliases: part.names()[1..].iter().map(|s| s.to_string()).collect(),
            // Any one argument: timestamps of every unit and zone, and dates, are told apart
            // in `invoke_with_args`, so nothing is coerced to a zone-less timestamp first.
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for TimePart {
    fn name(&self) -> &str {
        self.part.names()[0]
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args.first() {
            Some(
                DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 | DataType::Null,
            ) => Ok(DataType::Int64),
            Some(other) => plan_err!(
                "{}() takes a timestamp or a date, not {other}; for a Unix time in seconds use {}(from_unixtime(x, 'Zone/Name'))",
                self.name(),
                self.name()
            ),
            None => plan_err!("{}() takes one argument", self.name()),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        let zone = match input.data_type() {
            DataType::Timestamp(_, Some(zone)) => Some(zone.clone()),
            _ => None,
        };
        // Milliseconds in the same zone: one representation for every input type.
        let millis = datafusion::arrow::compute::cast(
            &input,
            &DataType::Timestamp(TimeUnit::Millisecond, zone.clone()),
        )?;
        let millis = millis.as_primitive::<TimestampMillisecondType>();
        let zone = match zone.as_deref() {
            Some(name) => Some(lake::day::parse_time_zone(name).map_err(|_| {
                DataFusionError::Execution(format!(
                    "{}(): unknown time zone {name:?}; use an IANA name such as Europe/Lisbon",
                    self.name()
                ))
            })?),
            None => None,
        };
        let mut out = Int64Builder::with_capacity(millis.len());
        for value in millis.iter() {
            let Some(ms) = value else {
                out.append_null();
                continue;
            };
            let Some(utc) = DateTime::<Utc>::from_timestamp_millis(ms) else {
                return exec_err!("{}(): timestamp {ms} ms is out of range", self.name());
            };
            out.append_value(match zone {
                Some(zone) => self.part.of(&utc.with_timezone(&zone)),
                // A timestamp without a zone is wall-clock time already.
                None => self.part.of(&utc.naive_utc()),
            });
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// The pattern of a regexp function, row by row: compiled once when it is a constant, and once
/// per distinct run of equal values otherwise. The `Regex` is lent, never cloned: each clone gets
/// a fresh search cache, which for Unicode classes costs more than the search itself.
enum Patterns<'a> {
    Constant(Option<Regex>),
    PerRow {
        name: &'a str,
        strings: ArrayRef,
        current: Option<(String, Regex)>,
    },
}

impl<'a> Patterns<'a> {
    fn new(name: &'a str, pattern: &ColumnarValue, rows: usize) -> Result<Patterns<'a>> {
        Ok(match pattern {
            ColumnarValue::Scalar(value) => {
                Patterns::Constant(scalar_str(value).map(|p| compile(name, p)).transpose()?)
            }
            ColumnarValue::Array(_) => Patterns::PerRow {
                name,
                strings: utf8(pattern, rows)?,
                current: None,
            },
        })
    }

    /// The pattern of row `i` (none where it is null).
    fn at(&mut self, i: usize) -> Result<Option<&Regex>> {
        match self {
            Patterns::Constant(regex) => Ok(regex.as_ref()),
            Patterns::PerRow {
                name,
                strings,
                current,
            } => {
                let strings = strings.as_string::<i32>();
                if strings.is_null(i) {
                    return Ok(None);
                }
                let text = strings.value(i);
                if current.as_ref().is_none_or(|(p, _)| p != text) {
                    *current = Some((text.to_owned(), compile(name, text)?));
                }
                Ok(current.as_ref().map(|(_, regex)| regex))
            }
        }
    }
}

fn compile(name: &str, pattern: &str) -> Result<Regex> {
    Regex::new(pattern).map_err(|e| {
        DataFusionError::Execution(format!("{name}(): invalid regular expression: {e}"))
    })
}

fn scalar_str(value: &ScalarValue) -> Option<&str> {
    value.try_as_str().flatten()
}

/// Strings of any string type, as one Utf8 array.
fn utf8(value: &ColumnarValue, rows: usize) -> Result<ArrayRef> {
    Ok(datafusion::arrow::compute::cast(
        &value.to_array(rows)?,
        &DataType::Utf8,
    )?)
}

/// Trino's `regexp_replace(string, pattern[, replacement])`: replaces every match (DataFusion's
/// replaces the first unless given the `g` flag); without a replacement it removes them.
#[derive(Debug, PartialEq, Eq, Hash)]
struct RegexpReplace {
    signature: Signature,
}

impl RegexpReplace {
    fn new() -> RegexpReplace {
        RegexpReplace {
            signature: Signature::one_of(
                vec![
                    datafusion::logical_expr::TypeSignature::String(2),
                    datafusion::logical_expr::TypeSignature::String(3),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for RegexpReplace {
    fn name(&self) -> &str {
        "regexp_replace"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let input = utf8(&args.args[0], rows)?;
        let input = input.as_string::<i32>();
        let mut patterns = Patterns::new(self.name(), &args.args[1], rows)?;
        let replacement = match args.args.get(2) {
            Some(r) => Some(utf8(r, rows)?),
            None => None,
        };
        let mut out = StringBuilder::with_capacity(input.len(), input.value_data().len());
        for i in 0..input.len() {
            let with = match &replacement {
                Some(r) if r.is_null(i) => None,
                Some(r) => Some(r.as_string::<i32>().value(i)),
                None => Some(""),
            };
            match (input.is_null(i), patterns.at(i)?, with) {
                (false, Some(regex), Some(with)) => {
                    out.append_value(regex.replace_all(input.value(i), with))
                }
                _ => out.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// Trino's `regexp_extract_all(string, pattern[, group])`: every match (or group of it), in order.
#[derive(Debug, PartialEq, Eq, Hash)]
struct RegexpExtractAll {
    signature: Signature,
}

impl RegexpExtractAll {
    fn new() -> RegexpExtractAll {
        use datafusion::logical_expr::TypeSignature::{Exact, String};
        RegexpExtractAll {
            signature: Signature::one_of(
                vec![
                    String(2),
                    Exact(vec![DataType::Utf8, DataType::Utf8, DataType::Int64]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for RegexpExtractAll {
    fn name(&self) -> &str {
        "regexp_extract_all"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(DataType::Utf8, true))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let input = utf8(&args.args[0], rows)?;
        let input = input.as_string::<i32>();
        let mut patterns = Patterns::new(self.name(), &args.args[1], rows)?;
        let group = match args.args.get(2) {
            Some(ColumnarValue::Scalar(ScalarValue::Int64(Some(g)))) => usize::try_from(*g)
                .map_err(|_| {
                    DataFusionError::Execution(format!("{}(): negative group {g}", self.name()))
                })?,
            Some(_) => return exec_err!("{}(): the group must be a constant", self.name()),
            None => 0,
        };
        let mut out = ListBuilder::new(StringBuilder::new());
        for i in 0..input.len() {
            let Some(regex) = patterns.at(i)?.filter(|_| !input.is_null(i)) else {
                out.append_null();
                continue;
            };
            if group >= regex.captures_len() {
                return exec_err!(
                    "{}(): pattern has {} groups, not {group}",
                    self.name(),
                    regex.captures_len() - 1
                );
            }
            if group == 0 {
                // Whole matches need no capture groups: the much faster search.
                for found in regex.find_iter(input.value(i)) {
                    out.values().append_value(found.as_str());
                }
            } else {
                for captures in regex.captures_iter(input.value(i)) {
                    out.values()
                        .append_option(captures.get(group).map(|m| m.as_str()));
                }
            }
            out.append(true);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// Trino rounds a floating-point number cast to an integer type (half away from zero:
/// `CAST(2.5 AS INT)` is 3); DataFusion truncates. This rule wraps such casts in `round()`,
/// which rounds the same way, after type coercion has settled every type.
#[derive(Debug)]
struct RoundingCasts;

impl AnalyzerRule for RoundingCasts {
    fn name(&self) -> &str {
        "trino_rounding_casts"
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|plan| {
            let schema = merge_schema(&plan.inputs());
            let names = NamePreserver::new(&plan);
            plan.map_expressions(|expr| {
                let name = names.save(&expr);
                expr.transform_up(|e| round_float_to_int(e, &schema))
                    .map(|t| t.update_data(|e| name.restore(e)))
            })
        })
        .map(|t| t.data)
    }
}

fn round_float_to_int(
    expr: Expr,
    schema: &datafusion::common::DFSchema,
) -> Result<Transformed<Expr>> {
    let rounds = |inner: &Expr, to: &DataType| -> bool {
        to.is_integer()
            && inner.get_type(schema).is_ok_and(|from| {
                matches!(
                    from,
                    DataType::Float16 | DataType::Float32 | DataType::Float64
                )
            })
    };
    let round = |inner: Expr| datafusion::functions::math::round().call(vec![inner]);
    Ok(match expr {
        Expr::Cast(Cast { expr, field }) if rounds(&expr, field.data_type()) => Transformed::yes(
            Expr::Cast(Cast::new_from_field(Box::new(round(*expr)), field)),
        ),
        Expr::TryCast(TryCast { expr, field }) if rounds(&expr, field.data_type()) => {
            Transformed::yes(Expr::TryCast(TryCast::new_from_field(
                Box::new(round(*expr)),
                field,
            )))
        }
        other => Transformed::no(other),
    })
}

/// Trino's `FROM t CROSS JOIN UNNEST(array) AS u (x)` reads a column of `t` inside UNNEST (a
/// lateral join), which DataFusion cannot plan. Its equivalent there is
/// `FROM (SELECT t.*, unnest(array) AS x FROM t) AS t`: the same rows, arrays of several
/// UNNEST arguments zipped alike. This rewrites the parsed statement, never the SQL text.
pub fn rewrite_lateral_unnest(
    statement: &mut datafusion::sql::sqlparser::ast::Statement,
) -> Result<()> {
    use datafusion::sql::sqlparser::ast::VisitMut;
    let mut rewriter = UnnestRewriter;
    match statement.visit(&mut rewriter) {
        std::ops::ControlFlow::Continue(()) => Ok(()),
        std::ops::ControlFlow::Break(message) => plan_err!("{message}"),
    }
}

struct UnnestRewriter;

impl datafusion::sql::sqlparser::ast::VisitorMut for UnnestRewriter {
    type Break = String;

    fn post_visit_query(
        &mut self,
        query: &mut datafusion::sql::sqlparser::ast::Query,
    ) -> std::ops::ControlFlow<String> {
        match rewrite_set_expr(&mut query.body) {
            Ok(()) => std::ops::ControlFlow::Continue(()),
            Err(message) => std::ops::ControlFlow::Break(message),
        }
    }
}

fn rewrite_set_expr(
    body: &mut datafusion::sql::sqlparser::ast::SetExpr,
) -> std::result::Result<(), String> {
    use datafusion::sql::sqlparser::ast::SetExpr;
    match body {
        SetExpr::Select(select) => {
            for from in &mut select.from {
                rewrite_from(from)?;
            }
            Ok(())
        }
        SetExpr::SetOperation { left, right, .. } => {
            rewrite_set_expr(left)?;
            rewrite_set_expr(right)
        }
        _ => Ok(()),
    }
}

fn rewrite_from(
    from: &mut datafusion::sql::sqlparser::ast::TableWithJoins,
) -> std::result::Result<(), String> {
    use datafusion::sql::sqlparser::ast::{JoinOperator, SetExpr, Statement, TableFactor};
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    // Each UNNEST right after the relation folds into it; the next may then follow.
    while let Some(join) = from.joins.first() {
        let (
            TableFactor::UNNEST {
                alias,
                array_exprs,
                with_offset: false,
                with_ordinality: false,
                ..
            },
            JoinOperator::CrossJoin(_),
        ) = (&join.relation, &join.join_operator)
        else {
            return Ok(());
        };
        let base = match &from.relation {
            TableFactor::Table { alias: Some(a), .. }
            | TableFactor::Derived { alias: Some(a), .. } => a.name.to_string(),
            TableFactor::Table {
                name, alias: None, ..
            } => match name.0.last() {
                Some(part) => part.to_string(),
                None => return Ok(()),
            },
            _ => return Ok(()),
        };
        let columns: Vec<String> = alias
            .iter()
            .flat_map(|a| a.columns.iter().map(|c| c.name.to_string()))
            .collect();
        if columns.len() != array_exprs.len() {
            return Err(format!(
                "name the columns of UNNEST, one for each array: CROSS JOIN UNNEST({}) AS t (…)",
                array_exprs
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let unnests: Vec<String> = array_exprs
            .iter()
            .zip(&columns)
            .map(|(e, c)| format!("unnest({e}) AS {c}"))
            .collect();
        let sql = format!(
            "SELECT * FROM (SELECT {base}.*, {} FROM {}) AS {base}",
            unnests.join(", "),
            from.relation
        );
        let parsed = Parser::parse_sql(&GenericDialect {}, &sql).map_err(|e| e.to_string())?;
        let Some(Statement::Query(query)) = parsed.into_iter().next() else {
            return Err(format!("cannot rewrite UNNEST as {sql}"));
        };
        let SetExpr::Select(select) = *query.body else {
            return Err(format!("cannot rewrite UNNEST as {sql}"));
        };
        let Some(derived) = select.from.into_iter().next() else {
            return Err(format!("cannot rewrite UNNEST as {sql}"));
        };
        from.relation = derived.relation;
        from.joins.remove(0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one string column of `sql`'s answer, row by row (lists joined with `|`).
    async fn strings(sql: &str) -> Vec<Option<String>> {
        let ctx = SessionContext::new();
        register(&ctx);
        let batches = ctx
            .sql(sql)
            .await
            .expect("plans")
            .collect()
            .await
            .expect("runs");
        let mut rows = Vec::new();
        for batch in batches {
            let column = batch.column(0);
            for i in 0..column.len() {
                rows.push((!column.is_null(i)).then(|| match column.data_type() {
                    DataType::List(_) => {
                        let list = column.as_list::<i32>().value(i);
                        let list = list.as_string::<i32>();
                        (0..list.len())
                            .map(|j| list.value(j))
                            .collect::<Vec<_>>()
                            .join("|")
                    }
                    _ => column.as_string::<i32>().value(i).to_owned(),
                }));
            }
        }
        rows
    }

    fn some(values: &[&str]) -> Vec<Option<String>> {
        values.iter().map(|v| Some(v.to_string())).collect()
    }

    #[tokio::test]
    async fn regexp_functions_take_every_match_with_constant_and_per_row_patterns() {
        let table = "(VALUES ('ab1 cd22 é3', '[a-zé]+'), ('x-y-z', '-'), ('x-y-z', '-'), \
                     (CAST(NULL AS VARCHAR), 'a'), ('q', CAST(NULL AS VARCHAR)), ('aaa', 'a(a)')) \
                     AS t (s, p)";
        assert_eq!(
            strings(&format!("SELECT regexp_replace(s, '[0-9]+') FROM {table}")).await,
            [
                Some("ab cd é".into()),
                Some("x-y-z".into()),
                Some("x-y-z".into()),
                None,
                Some("q".into()),
                Some("aaa".into()),
            ]
        );
        assert_eq!(
            strings(&format!("SELECT regexp_replace(s, p, '_') FROM {table}")).await,
            [
                Some("_1 _22 _3".into()),
                Some("x_y_z".into()),
                Some("x_y_z".into()),
                None,
                None,
                Some("_a".into()),
            ]
        );
        assert_eq!(
            strings(&format!("SELECT regexp_extract_all(s, p) FROM {table}")).await,
            [
                Some("ab|cd|é".into()),
                Some("-|-".into()),
                Some("-|-".into()),
                None,
                None,
                Some("aa".into()),
            ]
        );
        assert_eq!(
            strings("SELECT regexp_extract_all('k1=v1 k2=v2', '(\\w+)=(\\w+)', 2)").await,
            some(&["v1|v2"])
        );
    }

    #[tokio::test]
    async fn regexp_functions_name_a_bad_pattern_and_group() {
        let ctx = SessionContext::new();
        register(&ctx);
        for (sql, expected) in [
            (
                "SELECT regexp_extract_all(s, '(') FROM (VALUES ('a')) AS t (s)",
                "regexp_extract_all(): invalid regular expression",
            ),
            (
                "SELECT regexp_extract_all(s, '(a)', 2) FROM (VALUES ('a')) AS t (s)",
                "regexp_extract_all(): pattern has 1 groups, not 2",
            ),
        ] {
            let error = match ctx.sql(sql).await {
                Ok(frame) => frame.collect().await.expect_err(sql).to_string(),
                Err(e) => e.to_string(),
            };
            assert!(error.contains(expected), "{sql}: {error}");
        }
    }
}
