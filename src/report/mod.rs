//! `tgpipe report`: the analyses' answers gathered into one [`Report`], then written as one
//! self-contained HTML page ([`html::render`]). The figures come only from the analyses of
//! `sql/`, so what the page shows is what `tgpipe query NAME` answers for the same scope.

pub mod html;
mod run;

pub use run::{Answers, answers, statements, write_atomically};

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::query::output::{Answer, Cell};

/// The analyses a report runs, in the page's order (`chats` names the group and the period).
pub const ANALYSES: [&str; 8] = [
    "chats",
    "messages_per_day",
    "activity_by_hour_weekday_week",
    "top_words",
    "user_share",
    "reply_time",
    "message_types",
    "bots_vs_humans",
];

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the analysis {analysis} answered no column {column}")]
    NoColumn {
        analysis: &'static str,
        column: &'static str,
    },
    #[error("the analysis {analysis} answered {value:?} in {column}, not {wanted}")]
    Unexpected {
        analysis: &'static str,
        column: &'static str,
        value: String,
        wanted: &'static str,
    },
    #[error("the analysis {0} was not run")]
    Missing(&'static str),
    #[error("there are no messages {0}: nothing to report")]
    Empty(String),
}

/// One chat of the report, as the `chats` analysis answers.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Chat {
    pub id: i64,
    pub title: Option<String>,
    pub kind: Option<String>,
    pub messages: i64,
}

/// One user's messages and share of all users' messages (`user_share`).
#[derive(Debug, Clone, PartialEq)]
pub struct UserShare {
    pub id: i64,
    pub name: Option<String>,
    pub messages: i64,
    /// 0–1, as the analysis rounds it.
    pub share: f64,
}

/// One user's replies and median time to reply (`reply_time`).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyTime {
    pub id: i64,
    pub name: Option<String>,
    pub replies: i64,
    pub median_seconds: f64,
}

/// Where the figures came from and what they cover, for the page's header and footer.
#[derive(Debug, Clone)]
pub struct About {
    /// The days asked for (`--from`, `--to`); the data's first and last day fill what is open.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// The IANA zone of hours and weekdays.
    pub zone: String,
    /// "the lake in tgpipe-demo", "Athena (stack tgpipe, eu-west-1)".
    pub source: String,
    /// When the report was made, in UTC.
    pub made_at: String,
    /// The command that answers a chart's figures, with NAME for the analysis:
    /// `tgpipe query NAME --local demo --from 2024-05-01`.
    pub query: String,
}

impl About {
    /// What a report made now covers: the scope's days, the zone, where the figures come from
    /// and the query that gives them.
    pub fn now(
        scope: &crate::query::Scope,
        zone: lake::day::TimeZone,
        source: String,
        query: String,
    ) -> About {
        About {
            from: scope.from,
            to: scope.to,
            zone: zone.name().to_owned(),
            source,
            made_at: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            query,
        }
    }
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct Report {
    pub about: About,
    pub chats: Vec<Chat>,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// Days with messages, in order (`messages_per_day`).
    pub days: Vec<(NaiveDate, i64)>,
    /// Messages by weekday (0 = Monday) and hour, summed over the weeks.
    pub week: [[i64; 24]; 7],
    pub words: Vec<(String, i64)>,
    pub users: Vec<UserShare>,
    pub replies: Vec<ReplyTime>,
    /// Message types, most frequent first.
    pub types: Vec<(String, i64)>,
    /// Messages sent by people and by bots (`bots_vs_humans`).
    pub people: i64,
    pub bots: i64,
}

/// Messages by weekday (Monday first) and hour, summed over the weeks.
fn week_of(table: Table<'_>) -> Result<[[i64; 24]; 7], ReportError> {
    let mut week = [[0i64; 24]; 7];
    for (weekday, hour, n) in table.rows(|r| {
        Ok((
            r.int("parsed_date_weekday")?,
            r.int("parsed_date_hour")?,
            r.int("message_amount")?,
        ))
    })? {
        let (Ok(d @ 1..=7), Ok(h @ 0..=23)) = (usize::try_from(weekday), usize::try_from(hour))
        else {
            return Err(ReportError::Unexpected {
                analysis: "activity_by_hour_weekday_week",
                column: "parsed_date_weekday",
                value: format!("{weekday} at hour {hour}"),
                wanted: "a weekday 1–7 and an hour 0–23",
            });
        };
        week[d - 1][h] += n;
    }
    Ok(week)
}

/// Messages sent by people and by bots.
fn senders_of(table: Table<'_>) -> Result<(i64, i64), ReportError> {
    let (mut people, mut bots) = (0, 0);
    for (bot, n) in
        table.rows(|r| Ok((r.bool_or_null("user_is_bot")?, r.int("message_amount")?)))?
    {
        // A sender whose kind Telegram did not say is counted with the people.
        if bot == Some(true) {
            bots += n;
        } else {
            people += n;
        }
    }
    Ok((people, bots))
}

impl Report {
    /// The report of the answers, by analysis name (every one of [`ANALYSES`]).
    pub fn from_answers(
        answers: &BTreeMap<&'static str, Answer>,
        about: About,
    ) -> Result<Report, ReportError> {
        let get = |name: &'static str| {
            answers
                .get(name)
                .map(|answer| Table { name, answer })
                .ok_or(ReportError::Missing(name))
        };
        let chats = get("chats")?.rows(|r| {
            Ok(Chat {
                id: r.int("chat_id")?,
                title: r.text_or_null("chat_title")?,
                kind: r.text_or_null("chat_type")?,
                messages: r.int("message_amount")?,
            })
        })?;
        let days = get("messages_per_day")?
            .rows(|r| Ok((r.day("context_date")?, r.int("message_amount")?)))?;
        let (Some(first), Some(last)) = (days.first(), days.last()) else {
            return Err(ReportError::Empty(period_words(about.from, about.to)));
        };
        let first_day = about.from.unwrap_or(first.0);
        let last_day = about.to.unwrap_or(last.0);
        let week = week_of(get("activity_by_hour_weekday_week")?)?;
        let words = get("top_words")?.rows(|r| Ok((r.text("word")?, r.int("total")?)))?;
        let users = get("user_share")?.rows(|r| {
            Ok(UserShare {
                id: r.int("user_id")?,
                name: r.text_or_null("user_first_name")?,
                messages: r.int("message_amount")?,
                share: r.float("share")?,
            })
        })?;
        let replies = get("reply_time")?.rows(|r| {
            Ok(ReplyTime {
                id: r.int("user_id")?,
                name: r.text_or_null("user_first_name")?,
                replies: r.int("replies")?,
                median_seconds: r.float("median_reply_seconds")?,
            })
        })?;
        let types = get("message_types")?
            .rows(|r| Ok((r.text("message_type")?, r.int("message_amount")?)))?;
        let (people, bots) = senders_of(get("bots_vs_humans")?)?;
        Ok(Report {
            about,
            chats,
            first_day,
            last_day,
            days,
            week,
            words,
            users,
            replies,
            types,
            people,
            bots,
        })
    }

    /// Every message in the report.
    pub fn messages(&self) -> i64 {
        self.days.iter().map(|(_, n)| n).sum()
    }

    /// The group's name: its title, or the chats' titles when there are several.
    pub fn title(&self) -> String {
        let name = |c: &Chat| c.title.clone().unwrap_or_else(|| format!("chat {}", c.id));
        match self.chats.as_slice() {
            [one] => name(one),
            [] => "No chat".to_owned(),
            [a, b] => format!("{} and {}", name(a), name(b)),
            [a, b, rest @ ..] => format!("{}, {} and {} more chats", name(a), name(b), rest.len()),
        }
    }
}

/// "from 2024-05-01 to 2024-05-31", for a message about the scope.
pub fn period_words(from: Option<NaiveDate>, to: Option<NaiveDate>) -> String {
    match (from, to) {
        (Some(f), Some(t)) => format!("from {f} to {t}"),
        (Some(f), None) => format!("from {f} on"),
        (None, Some(t)) => format!("up to {t}"),
        (None, None) => "in the table".to_owned(),
    }
}

/// An answer read by column name, so that a column added to an analysis breaks nothing here.
struct Table<'a> {
    name: &'static str,
    answer: &'a Answer,
}

impl Table<'_> {
    fn rows<T>(
        &self,
        read: impl Fn(&RowOf) -> Result<T, ReportError>,
    ) -> Result<Vec<T>, ReportError> {
        self.answer
            .rows
            .iter()
            .map(|cells| read(&RowOf { table: self, cells }))
            .collect()
    }
}

struct RowOf<'a> {
    table: &'a Table<'a>,
    cells: &'a [Cell],
}

impl RowOf<'_> {
    fn cell(&self, column: &'static str) -> Result<&Cell, ReportError> {
        self.table
            .answer
            .columns
            .iter()
            .position(|c| c == column)
            .and_then(|i| self.cells.get(i))
            .ok_or(ReportError::NoColumn {
                analysis: self.table.name,
                column,
            })
    }

    fn unexpected(&self, column: &'static str, cell: &Cell, wanted: &'static str) -> ReportError {
        ReportError::Unexpected {
            analysis: self.table.name,
            column,
            value: format!("{cell:?}"),
            wanted,
        }
    }

    fn int(&self, column: &'static str) -> Result<i64, ReportError> {
        let cell = self.cell(column)?;
        match cell {
            Cell::Int(n) => Some(*n),
            // Athena sends a count as text when a result's column types are not given.
            Cell::Text(t) => t.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| self.unexpected(column, cell, "a whole number"))
    }

    fn float(&self, column: &'static str) -> Result<f64, ReportError> {
        match self.cell(column)? {
            Cell::Float(x) => Ok(*x),
            Cell::Int(n) => Ok(*n as f64),
            other => Err(self.unexpected(column, other, "a number")),
        }
    }

    fn text(&self, column: &'static str) -> Result<String, ReportError> {
        match self.cell(column)? {
            Cell::Text(t) => Ok(t.clone()),
            other => Err(self.unexpected(column, other, "text")),
        }
    }

    fn text_or_null(&self, column: &'static str) -> Result<Option<String>, ReportError> {
        match self.cell(column)? {
            Cell::Null => Ok(None),
            Cell::Text(t) => Ok(Some(t.clone())),
            other => Err(self.unexpected(column, other, "text")),
        }
    }

    fn bool_or_null(&self, column: &'static str) -> Result<Option<bool>, ReportError> {
        match self.cell(column)? {
            Cell::Null => Ok(None),
            Cell::Bool(b) => Ok(Some(*b)),
            other => Err(self.unexpected(column, other, "true or false")),
        }
    }

    fn day(&self, column: &'static str) -> Result<NaiveDate, ReportError> {
        let cell = self.cell(column)?;
        match cell {
            Cell::Text(t) => lake::layout::parse_day(t),
            _ => None,
        }
        .ok_or_else(|| self.unexpected(column, cell, "a day like 2024-05-01"))
    }
}
