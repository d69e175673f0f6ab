//! `tgpipe query`: the analyses of `sql/` (built into the binary), run on the stack's Athena
//! workgroup or locally on a lake directory, with the same SQL text and the same answers.

pub mod athena;
pub mod local;
pub mod output;
pub mod trino;

use lake::day::TimeZone;

/// One analysis: a file of `sql/`, by its stem.
#[derive(Debug, Clone, Copy)]
pub struct Analysis {
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! analyses {
    ($($name:literal),* $(,)?) => {
        &[$(Analysis { name: $name, sql: include_str!(concat!("../../sql/", $name, ".sql")) }),*]
    };
}

/// Every file of `sql/` (a unit test checks that none is missing here).
pub const ANALYSES: &[Analysis] = analyses!(
    "messages_per_day",
    "messages_per_user_per_day",
    "avg_length_per_user_per_day",
    "activity_by_hour_weekday_week",
    "top_words",
    "busiest_hours",
    "bots_vs_humans",
    "user_share",
    "reply_time",
    "message_types",
    "chats",
);

/// Where a query names the time zone of hours and weekdays: `from_unixtime("date", '${timezone}')`.
/// `tgpipe query` puts the stack's zone there (or `--timezone`), on Athena and locally alike.
pub const TIMEZONE_PARAMETER: &str = "${timezone}";

impl Analysis {
    /// What it answers: its first line, without the comment marker.
    pub fn summary(&self) -> &'static str {
        self.sql
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("--")
            .trim()
    }
}

/// The analysis called `name`, or an error that lists the known ones.
pub fn find(name: &str) -> Result<&'static Analysis, String> {
    let stem = name.strip_suffix(".sql").unwrap_or(name);
    ANALYSES.iter().find(|a| a.name == stem).ok_or_else(|| {
        let known = ANALYSES
            .iter()
            .map(|a| a.name)
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "no analysis named {name:?}; the analyses are: {known} (see `tgpipe query --list`, or run your own with --file or --sql)"
        )
    })
}

/// The SQL text with the time zone in place. The zone is a parsed IANA name, so it holds no quote.
pub fn bind(sql: &str, zone: TimeZone) -> String {
    sql.replace(TIMEZONE_PARAMETER, zone.name())
}

/// Which rows an analysis reads: a range of days (the partition, so Athena scans only those days)
/// and a set of chats. The analyses name the table `telegram`; [`Scope::apply`] reads it through
/// a filtered common table expression instead, so that every analysis takes a scope unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
    pub chats: Vec<i64>,
}

/// The name the scoped table goes by inside a scoped statement.
const SCOPED_TABLE: &str = "telegram_in_scope";

impl Scope {
    /// The rows in scope, as a WHERE condition on the table; `None` for all of them.
    fn condition(&self) -> Option<String> {
        let day = lake::layout::PARTITION_COLUMN;
        let mut terms = Vec::new();
        if let Some(from) = self.from {
            terms.push(format!("{day} >= DATE '{}'", from.format("%Y-%m-%d")));
        }
        if let Some(to) = self.to {
            terms.push(format!("{day} <= DATE '{}'", to.format("%Y-%m-%d")));
        }
        if !self.chats.is_empty() {
            let ids: Vec<String> = self.chats.iter().map(i64::to_string).collect();
            terms.push(format!("chat_id IN ({})", ids.join(", ")));
        }
        (!terms.is_empty()).then(|| terms.join(" AND "))
    }

    /// `sql` reading only the rows in scope: each `FROM telegram` / `JOIN telegram` reads the
    /// filtered table instead. Days and chats are typed values, so the condition holds no text
    /// from outside.
    pub fn apply(&self, sql: &str) -> String {
        let Some(condition) = self.condition() else {
            return sql.to_owned();
        };
        let table = lake::schema::TABLE_NAME;
        let reference = regex::Regex::new(&format!(r"(?i)\b(FROM|JOIN)(\s+){table}\b"))
            .expect("a valid pattern");
        let body = reference.replace_all(sql, format!("${{1}}${{2}}{SCOPED_TABLE}"));
        let scoped = format!("{SCOPED_TABLE} AS (SELECT * FROM {table} WHERE {condition})");
        // The statement's own WITH takes the scoped table first; otherwise one is added.
        let with =
            regex::Regex::new(r"(?i)^((?:\s*--[^\n]*\n)*\s*)WITH\b").expect("a valid pattern");
        if with.is_match(&body) {
            with.replace(&body, format!("${{1}}WITH {scoped},"))
                .into_owned()
        } else {
            format!("WITH {scoped}\n{body}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sql_file_is_built_in_with_a_summary() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("sql/")
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".sql"))
                    .map(str::to_owned)
            })
            .collect();
        files.sort();
        let mut built: Vec<String> = ANALYSES.iter().map(|a| a.name.to_owned()).collect();
        built.sort();
        assert_eq!(files, built, "sql/ and ANALYSES differ");
        for a in ANALYSES {
            assert!(a.sql.starts_with("-- "), "{} has no first comment", a.name);
            assert!(a.summary().len() > 10, "{}", a.name);
        }
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        assert_eq!(find("top_words.sql").map(|a| a.name), Ok("top_words"));
        let error = find("top_word").unwrap_err();
        assert!(
            error.contains("top_words") && error.contains("messages_per_day"),
            "{error}"
        );
    }

    #[test]
    fn a_scope_reads_every_analysis_through_the_filtered_table() {
        let scope = Scope {
            from: lake::layout::parse_day("2024-05-01"),
            to: lake::layout::parse_day("2024-05-31"),
            chats: vec![-1001234567890],
        };
        let table = regex::Regex::new(r"(?i)\b(FROM|JOIN)\s+telegram\b").expect("pattern");
        for a in ANALYSES {
            let sql = scope.apply(a.sql);
            assert_eq!(table.find_iter(&sql).count(), 1, "{}: {sql}", a.name);
            assert!(
                sql.contains("context_date >= DATE '2024-05-01' AND context_date <= DATE '2024-05-31' AND chat_id IN (-1001234567890)"),
                "{sql}"
            );
            assert_eq!(
                sql.matches("WITH").count(),
                1,
                "{}: one WITH list: {sql}",
                a.name
            );
        }
        assert_eq!(
            Scope::default().apply("SELECT 1 FROM telegram"),
            "SELECT 1 FROM telegram"
        );
        let day = Scope {
            from: lake::layout::parse_day("2024-05-01"),
            ..Scope::default()
        };
        assert_eq!(
            day.apply("-- x\nwith a AS (SELECT * FROM telegram t) SELECT * FROM a JOIN telegram_x ON 1 = 1"),
            "-- x\nWITH telegram_in_scope AS (SELECT * FROM telegram WHERE context_date >= DATE '2024-05-01'), a AS (SELECT * FROM telegram_in_scope t) SELECT * FROM a JOIN telegram_x ON 1 = 1"
        );
    }

    #[test]
    fn the_zone_is_bound_everywhere_it_is_named() {
        let zone = lake::day::parse_time_zone("America/Sao_Paulo").expect("zone");
        let sql = bind(find("busiest_hours").expect("analysis").sql, zone);
        assert!(sql.contains("'America/Sao_Paulo'") && !sql.contains(TIMEZONE_PARAMETER));
    }
}
