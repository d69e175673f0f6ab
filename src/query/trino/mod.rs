//! Trino (Athena) semantics for the embedded engine, so that one SQL text gives one answer.
//!
//! DataFusion differs from Trino where the analyses care: it has no `hour()`, `day_of_week()`,
//! `week()`…, its `regexp_replace` replaces only the first match, it lacks
//! `regexp_extract_all`, and its CAST from a floating-point number to an integer truncates where
//! Trino rounds. Each difference is registered here; the SQL text is never rewritten.

use std::sync::Arc;

use arrow_array::Array;
use arrow_array::builder::Int64Builder;
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_schema::{DataType, TimeUnit};
use chrono::{DateTime, Datelike, Timelike, Utc};
use datafusion::common::{DataFusionError, Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

mod regexp;
mod rewrite;

use regexp::{RegexpExtractAll, RegexpReplace};
use rewrite::RoundingCasts;
pub use rewrite::rewrite_lateral_unnest;

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
