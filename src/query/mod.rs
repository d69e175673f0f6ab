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
    fn the_zone_is_bound_everywhere_it_is_named() {
        let zone = lake::day::parse_time_zone("America/Sao_Paulo").expect("zone");
        let sql = bind(find("busiest_hours").expect("analysis").sql, zone);
        assert!(sql.contains("'America/Sao_Paulo'") && !sql.contains(TIMEZONE_PARAMETER));
    }
}
