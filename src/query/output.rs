//! A query's answer, whichever engine gave it, and how it is printed: an aligned table, CSV,
//! JSON or a Markdown table. Numbers are plain digits with a `.` (no exponent, no grouping), dates
//! `YYYY-MM-DD` and booleans `true`/`false`, so that a spreadsheet imports them as numbers, dates
//! and booleans. Text that a spreadsheet would run as a formula is defused in CSV: group members
//! write the messages.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Schema};
use clap::ValueEnum;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use unicode_width::UnicodeWidthStr;

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Text, and dates and timestamps in ISO 8601.
    Text(String),
}

/// Column names and rows of cells.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    /// A Markdown table, for pasting into an issue or a chat.
    Markdown,
}

impl Answer {
    /// The rows of Arrow batches (the embedded engine's answer).
    pub fn from_batches(
        schema: &Schema,
        batches: &[RecordBatch],
    ) -> Result<Answer, arrow_schema::ArrowError> {
        let columns = schema.fields().iter().map(|f| f.name().clone()).collect();
        let mut rows = Vec::new();
        let options = FormatOptions::default().with_null("");
        for batch in batches {
            let mut columns: Vec<std::vec::IntoIter<Cell>> = batch
                .columns()
                .iter()
                .map(|array| column_cells(array, &options).map(Vec::into_iter))
                .collect::<Result<_, _>>()?;
            // Each column yields one cell a row: moved into its row, not copied.
            for _ in 0..batch.num_rows() {
                rows.push(columns.iter_mut().filter_map(Iterator::next).collect());
            }
        }
        Ok(Answer { columns, rows })
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Table => self.table(Fit::ALL),
            Format::Csv => self.csv(),
            Format::Json => self.json(),
            Format::Markdown => self.markdown(),
        }
    }

    /// Whether every cell of column `i` is a number (or null), and one at least is.
    fn numeric(&self, i: usize) -> bool {
        self.rows
            .iter()
            .any(|r| matches!(r[i], Cell::Int(_) | Cell::Float(_)))
            && self
                .rows
                .iter()
                .all(|r| matches!(r[i], Cell::Int(_) | Cell::Float(_) | Cell::Null))
    }

    fn markdown(&self) -> String {
        let cell = |text: &str| one_line(text).replace('|', "\\|");
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let rule: Vec<&str> = (0..self.columns.len())
            .map(|i| if self.numeric(i) { "---:" } else { "---" })
            .collect();
        let _ = writeln!(out, "|{}|", rule.join("|"));
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|c| cell(&plain(c))).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out
    }

    /// An aligned table, as wide as `fit.width` at most (long text cut with `…`; numbers are
    /// never cut) and, past `fit.max_rows`, the first and last rows around "… N more rows".
    pub fn table(&self, fit: Fit) -> String {
        // Rows shown before the "… N more rows" line, and the rows hidden there.
        let (head, hidden) = match fit.max_rows {
            Some(max) if self.rows.len() > max => (max.div_ceil(2), self.rows.len() - max),
            _ => (self.rows.len(), 0),
        };
        let shown = self.rows[..head].iter().chain(&self.rows[head + hidden..]);
        // One line per row: line breaks in a message show as ↵.
        let texts: Vec<Vec<String>> = shown
            .map(|r| r.iter().map(|c| one_line(&plain(c))).collect())
            .collect();
        let width = |i: usize| {
            texts
                .iter()
                .map(|r| r[i].width())
                .chain([self.columns[i].width()])
                .max()
                .unwrap_or(0)
        };
        // Numbers right-aligned, as a spreadsheet shows them.
        let numeric: Vec<bool> = (0..self.columns.len()).map(|i| self.numeric(i)).collect();
        let mut widths: Vec<usize> = (0..self.columns.len()).map(width).collect();
        if let Some(max) = fit.width {
            narrow(&mut widths, &numeric, max);
        }
        let line = |cells: &[String], out: &mut String| {
            let padded: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let c = cut(c, widths[i]);
                    let pad = " ".repeat(widths[i].saturating_sub(c.width()));
                    if numeric[i] {
                        format!("{pad}{c}")
                    } else {
                        format!("{c}{pad}")
                    }
                })
                .collect();
            out.push_str(padded.join("  ").trim_end());
            out.push('\n');
        };
        let mut out = String::new();
        line(&self.columns, &mut out);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&rule.join("  "));
        out.push('\n');
        for (n, row) in texts.iter().enumerate() {
            if hidden > 0 && n == head {
                let _ = writeln!(out, "… {hidden} more rows");
            }
            line(row, &mut out);
        }
        out
    }

    fn csv(&self) -> String {
        fn field(text: &str) -> String {
            if text.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", text.replace('"', "\"\""))
            } else {
                text.to_owned()
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|c| field(c)).collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .map(|c| match c {
                    Cell::Text(t) => field(&defused(t)),
                    other => field(&plain(other)),
                })
                .collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }

    /// An array of objects, one a line, keys in column order.
    fn json(&self) -> String {
        let key = |c: &String| serde_json::Value::String(c.clone()).to_string();
        let keys: Vec<String> = self.columns.iter().map(key).collect();
        let mut out = String::from("[");
        for (n, row) in self.rows.iter().enumerate() {
            out.push_str(if n == 0 { "\n  {" } else { ",\n  {" });
            for (i, cell) in row.iter().enumerate() {
                let value = match cell {
                    Cell::Null => "null".to_owned(),
                    Cell::Int(v) => v.to_string(),
                    Cell::Float(v) if v.is_finite() => plain(cell),
                    Cell::Float(_) => "null".to_owned(),
                    Cell::Bool(v) => v.to_string(),
                    Cell::Text(t) => serde_json::Value::String(t.clone()).to_string(),
                };
                let _ = write!(
                    out,
                    "{}{}: {value}",
                    if i == 0 { "" } else { ", " },
                    keys[i]
                );
            }
            out.push('}');
        }
        out.push_str(if self.rows.is_empty() { "]\n" } else { "\n]\n" });
        out
    }
}

/// How much of an answer a table shows: at most `width` columns of characters and `max_rows`
/// rows (the first and the last ones); `None` for no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    pub width: Option<usize>,
    pub max_rows: Option<usize>,
}

impl Fit {
    pub const ALL: Fit = Fit {
        width: None,
        max_rows: None,
    };
}

/// The narrowest a text column is cut to: enough to recognise a word.
const MIN_TEXT_WIDTH: usize = 8;

/// Narrows the widest text columns, one character at a time, until the table (with two spaces
/// between columns) fits `max`, or no text column can give more.
fn narrow(widths: &mut [usize], numeric: &[bool], max: usize) {
    let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * w.len().saturating_sub(1);
    while total(widths) > max {
        let widest = (0..widths.len())
            .filter(|&i| !numeric[i] && widths[i] > MIN_TEXT_WIDTH)
            .max_by_key(|&i| widths[i]);
        match widest {
            Some(i) => widths[i] -= 1,
            None => break,
        }
    }
}

/// `text` cut to `width` columns of the terminal, ending in `…` when cut.
fn cut(text: &str, width: usize) -> std::borrow::Cow<'_, str> {
    if text.width() <= width {
        return text.into();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out.into()
}

fn one_line(text: &str) -> String {
    text.replace("\r\n", "↵")
        .chars()
        .map(|c| match c {
            '\n' | '\r' => '↵',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// A cell as a spreadsheet reads it: nulls empty, floats without exponent.
fn plain(cell: &Cell) -> String {
    match cell {
        Cell::Null => String::new(),
        Cell::Int(v) => v.to_string(),
        // Rust prints the shortest text that reads back as the same f64, never in exponent form.
        Cell::Float(v) => v.to_string(),
        Cell::Bool(v) => v.to_string(),
        Cell::Text(t) => t.clone(),
    }
}

fn column_cells(
    array: &Arc<dyn Array>,
    options: &FormatOptions,
) -> Result<Vec<Cell>, arrow_schema::ArrowError> {
    let n = array.len();
    let cell =
        |i: usize, f: &dyn Fn(usize) -> Cell| if array.is_null(i) { Cell::Null } else { f(i) };
    Ok(match array.data_type() {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32 => {
            let ints = datafusion::arrow::compute::cast(array, &DataType::Int64)?;
            let ints = ints.as_primitive::<arrow_array::types::Int64Type>();
            (0..n)
                .map(|i| cell(i, &|i| Cell::Int(ints.value(i))))
                .collect()
        }
        DataType::Float64 => {
            let v = array.as_primitive::<Float64Type>();
            (0..n)
                .map(|i| cell(i, &|i| Cell::Float(v.value(i))))
                .collect()
        }
        DataType::Float32 => {
            let v = array.as_primitive::<Float32Type>();
            (0..n)
                .map(|i| cell(i, &|i| Cell::Float(f64::from(v.value(i)))))
                .collect()
        }
        DataType::Boolean => {
            let v = array.as_boolean();
            (0..n)
                .map(|i| cell(i, &|i| Cell::Bool(v.value(i))))
                .collect()
        }
        _ => {
            // Strings, dates, timestamps, decimals, lists…: Arrow's own text of them.
            let formatter = ArrayFormatter::try_new(array.as_ref(), options)?;
            (0..n)
                .map(|i| cell(i, &|i| Cell::Text(formatter.value(i).to_string())))
                .collect()
        }
    })
}

/// Text a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, or a tab or carriage return
/// first) gets a `'` in front, which spreadsheets show as text; numbers are cells of their own
/// and stay numbers, so a negative chat id is still a number (as does text that is a number).
fn defused(text: &str) -> std::borrow::Cow<'_, str> {
    // A number that reached us as text (a decimal, say) is no formula: it stays a number.
    let number = text.parse::<f64>().is_ok_and(f64::is_finite);
    if !number && text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer() -> Answer {
        Answer {
            columns: vec!["word".into(), "total".into(), "share".into(), "bot".into()],
            rows: vec![
                vec![
                    Cell::Text("café, \"forte\"".into()),
                    Cell::Int(12),
                    Cell::Float(0.125),
                    Cell::Bool(false),
                ],
                vec![
                    Cell::Text("ação".into()),
                    Cell::Null,
                    Cell::Float(1e20),
                    Cell::Null,
                ],
            ],
        }
    }

    #[test]
    fn csv_quotes_what_needs_it_and_leaves_nulls_empty() {
        assert_eq!(
            answer().render(Format::Csv),
            "word,total,share,bot\n\"café, \"\"forte\"\"\",12,0.125,false\nação,,100000000000000000000,\n"
        );
    }

    #[test]
    fn json_keeps_column_order_and_types() {
        let json = answer().render(Format::Json);
        let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(value[0]["total"], 12);
        assert_eq!(value[1]["total"], serde_json::Value::Null);
        assert!(json.find("\"word\"") < json.find("\"total\""));
        assert_eq!(
            Answer {
                columns: vec!["a".into()],
                rows: vec![]
            }
            .render(Format::Json),
            "[]\n"
        );
    }

    #[test]
    fn table_aligns_numbers_right_and_text_left() {
        let table = answer().render(Format::Table);
        let lines: Vec<&str> = table.lines().collect();
        let expected = [
            "word           total                  share  bot",
            "-------------  -----  ---------------------  -----",
            "café, \"forte\"     12                  0.125  false",
            "ação                  100000000000000000000",
        ];
        assert_eq!(lines, expected);
    }

    #[test]
    fn table_keeps_one_line_per_row_and_counts_wide_characters() {
        let answer = Answer {
            columns: vec!["text".into(), "n".into()],
            rows: vec![
                vec![Cell::Text("bom dia\nmundo".into()), Cell::Int(1)],
                vec![Cell::Text("🚀🚀".into()), Cell::Int(22)],
            ],
        };
        let table = answer.render(Format::Table);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert_eq!(lines[2], "bom dia↵mundo   1");
        assert_eq!(lines[3], "🚀🚀           22");
    }

    fn words(n: usize) -> Answer {
        Answer {
            columns: vec!["n".into(), "text".into()],
            rows: (0..n)
                .map(|i| {
                    vec![
                        Cell::Int(i as i64 * 1000),
                        Cell::Text(format!("message number {i} says a good deal about 🚀")),
                    ]
                })
                .collect(),
        }
    }

    #[test]
    fn a_table_fits_the_width_by_cutting_text_never_numbers() {
        let table = words(3).table(Fit {
            width: Some(30),
            max_rows: None,
        });
        let lines: Vec<&str> = table.lines().collect();
        for line in &lines {
            assert!(line.width() <= 30, "{line:?} is wider than 30");
        }
        assert_eq!(lines[4], "2000  message number 2 says a…");
        // Too narrow for anything: text stops at 8 columns, numbers whole.
        let narrow = words(3).table(Fit {
            width: Some(5),
            max_rows: None,
        });
        assert_eq!(narrow.lines().nth(4), Some("2000  message…"));
        assert_eq!(cut("🚀🚀🚀", 4), "🚀…");
    }

    #[test]
    fn a_long_table_shows_its_first_and_last_rows() {
        let fit = Fit {
            width: None,
            max_rows: Some(5),
        };
        let table = words(12).table(fit);
        let firsts: Vec<&str> = table
            .lines()
            .map(|l| l.split_whitespace().next().unwrap_or(""))
            .collect();
        assert_eq!(
            firsts,
            ["n", "-----", "0", "1000", "2000", "…", "10000", "11000"]
        );
        assert!(table.contains("… 7 more rows"), "{table}");
        // As many rows as the limit: all of them, no note.
        assert!(!words(5).table(fit).contains("more rows"));
        assert_eq!(words(5).table(fit).lines().count(), 7);
    }

    #[test]
    fn csv_defuses_formulas_in_text_and_keeps_numbers() {
        let answer = Answer {
            columns: vec!["text".into(), "chat_id".into()],
            rows: vec![
                vec![
                    Cell::Text("=HYPERLINK(\"http://x\")".into()),
                    Cell::Int(-1001234567890),
                ],
                vec![Cell::Text("+1 for that".into()), Cell::Float(-0.5)],
                vec![Cell::Text("-".into()), Cell::Null],
                vec![Cell::Text("-12.5".into()), Cell::Int(5)],
                vec![Cell::Text("@here".into()), Cell::Int(3)],
                vec![Cell::Text("plain, text".into()), Cell::Int(4)],
            ],
        };
        assert_eq!(
            answer.render(Format::Csv),
            "text,chat_id\n\"'=HYPERLINK(\"\"http://x\"\")\",-1001234567890\n'+1 for that,-0.5\n'-,\n-12.5,5\n'@here,3\n\"plain, text\",4\n"
        );
    }

    #[test]
    fn markdown_is_a_table_with_numbers_right_aligned() {
        let answer = Answer {
            columns: vec!["word".into(), "total".into()],
            rows: vec![
                vec![Cell::Text("a|b\nc".into()), Cell::Int(2)],
                vec![Cell::Text("ação".into()), Cell::Null],
            ],
        };
        assert_eq!(
            answer.render(Format::Markdown),
            "| word | total |\n|---|---:|\n| a\\|b↵c | 2 |\n| ação |  |\n"
        );
    }
}
