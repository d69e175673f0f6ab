//! The report as one HTML page that needs nothing else: no script, no font, no image to fetch
//! (a Content-Security-Policy forbids any load, so a name in the data cannot make one either).
//!
//! Charts are HTML tables with CSS bars, and one inline SVG for the days: text stays text (found
//! by the browser's search, read by screen readers, sized for a phone), the page weighs kilobytes,
//! and the binary carries no chart library. Every figure a chart draws is in a table whose
//! `data-analysis` names the analysis and whose numeric cells hold the answer's value in
//! `data-value`, so that a test (or a script) can read the page back.

use std::fmt::Write as _;

use chrono::Datelike;

mod people;
mod time;

use self::people::{replies, senders, types, users, words};
use self::time::{days, week};
use super::Report;

/// The weekdays, Monday first, as `day_of_week` numbers them (1 = Monday).
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// How many rows a ranked chart draws; its table below holds them all.
const BARS_SHOWN: usize = 15;
const WORDS_SHOWN: usize = 25;

const STYLE: &str = r#"
:root{--fg:#1b1f24;--muted:#56606b;--bg:#fff;--card:#f4f6f9;--bar:#2b6fd6;--line:#d5dbe3;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--fg:#e7eaee;--muted:#a3adb9;--bg:#111418;--card:#1b1f26;--bar:#5b9cff;--line:#313843}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
main{max-width:980px;margin:0 auto;padding:12px}
header{padding:8px 4px}
h1{font-size:1.7rem;line-height:1.2;margin:.1em 0;overflow-wrap:anywhere}
h2{font-size:1.25rem;margin:0}
.kicker,.source,.analysis{color:var(--muted);font-size:.875rem;margin:0}
.period{margin:.3em 0}
section{background:var(--card);border-radius:12px;padding:14px;margin:14px 0}
.lead{margin:.4em 0 .8em}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{padding:3px 6px;vertical-align:middle}
thead th{font-size:.8rem;color:var(--muted);font-weight:600;text-align:left;border-bottom:1px solid var(--line)}
tbody th{font-weight:normal;text-align:left;overflow-wrap:anywhere}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.bars th{width:32%}
.bars .bar{width:50%}
.bar span{display:block;height:.9em;min-width:2px;background:var(--bar);border-radius:3px}
details{margin-top:.8em}
summary{cursor:pointer;color:var(--muted)}
details table{margin-top:.4em;font-size:.9rem}
details tbody tr:nth-child(odd){background:rgba(127,127,127,.08)}
.days svg{display:block;width:100%;height:180px;border-bottom:1px solid var(--line)}
.days rect{fill:var(--bar)}
.axis{display:flex;justify-content:space-between;color:var(--muted);font-size:.8rem}
.heat{table-layout:fixed;min-width:640px;font-size:.7rem}
.heat td{text-align:center;padding:4px 0;font-variant-numeric:tabular-nums;border:1px solid var(--card)}
.heat thead th{text-align:center;padding:0;font-weight:normal}
.heat tr>:first-child{width:3em;font-size:.8rem;white-space:nowrap}
.heat td.dark{color:#fff}
.heat td.zero{color:var(--muted)}
footer{color:var(--muted);font-size:.85rem;padding:8px 4px 24px}
code{font-size:.9em}
"#;

/// The page. Every text from the data is escaped.
pub fn render(report: &Report) -> String {
    let title = report.title();
    let mut page = String::with_capacity(64 * 1024);
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"generator\" content=\"tgpipe {}\">\n\
         <title>{} · {} to {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        env!("CARGO_PKG_VERSION"),
        esc(&title),
        report.first_day,
        report.last_day,
    );
    header(&mut page, report, &title);
    days(&mut page, report);
    week(&mut page, report);
    words(&mut page, report);
    users(&mut page, report);
    replies(&mut page, report);
    types(&mut page, report);
    senders(&mut page, report);
    let _ = write!(
        page,
        "<footer><p>Made by tgpipe {} at {} from {}. Each chart is one analysis, named under its title; <code>{}</code> answers the same figures.</p></footer>\n</main>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION"),
        esc(&report.about.made_at),
        esc(&report.about.source),
        esc(&report.about.query),
    );
    page
}

fn header(page: &mut String, r: &Report, title: &str) {
    let span = span_days(r);
    let people = r.users.len();
    let _ = write!(
        page,
        "<header>\n<p class=\"kicker\">Telegram group report</p>\n<h1 id=\"title\">{}</h1>\n\
         <p class=\"period\"><strong id=\"messages\" data-value=\"{}\">{}</strong> messages from <time>{}</time> to <time>{}</time> ({} {}), {} {} wrote. Hours and weekdays are in {}.</p>\n",
        esc(title),
        r.messages(),
        count(r.messages()),
        r.first_day,
        r.last_day,
        count(span),
        plural(span, "day", "days"),
        count(people as i64),
        plural(people as i64, "member", "members"),
        esc(&r.about.zone),
    );
    if r.chats.len() > 1 {
        page.push_str("<p class=\"source\">Chats: ");
        let listed: Vec<String> = r
            .chats
            .iter()
            .map(|c| {
                format!(
                    "{} ({}, {} messages)",
                    esc(c.title.as_deref().unwrap_or("untitled")),
                    c.id,
                    count(c.messages)
                )
            })
            .collect();
        page.push_str(&listed.join("; "));
        page.push_str("</p>\n");
    }
    page.push_str("</header>\n");
}

/// Days from the first to the last, both counted.
fn span_days(r: &Report) -> i64 {
    (r.last_day - r.first_day).num_days() + 1
}

fn section_start(page: &mut String, id: &str, heading: &str, analysis: &str, lead: &str) {
    let _ = write!(
        page,
        "<section id=\"{id}\" aria-labelledby=\"{id}-h\">\n<h2 id=\"{id}-h\">{heading}</h2>\n\
         <p class=\"analysis\">Analysis <code>{analysis}</code></p>\n<p class=\"lead\">{lead}</p>\n"
    );
}

/// A ranked chart whose figures are in a table below it: hidden from screen readers, which
/// read that table instead.
fn bar_chart(page: &mut String, label: &str, rows: &[(String, f64, String)]) {
    let _ = writeln!(
        page,
        "<table class=\"bars\" aria-hidden=\"true\" title=\"{}\"><tbody>",
        esc(label)
    );
    for (name, ratio, value) in rows {
        let _ = writeln!(
            page,
            "<tr><th>{name}</th><td class=\"bar\"><span style=\"width:{:.1}%\"></span></td><td class=\"num\">{value}</td></tr>",
            ratio.clamp(0.0, 1.0) * 100.0
        );
    }
    page.push_str("</tbody></table>\n");
}

/// A bar chart that is also the analysis's table: (key, label, count, shown value) per row; the
/// key goes in `data-value` of the row's heading, the count in that of its last cell.
fn data_bars(
    page: &mut String,
    analysis: &str,
    headers: [&str; 2],
    rows: &[(String, String, i64, String)],
) {
    let max = rows.iter().map(|r| r.2).max().unwrap_or(0).max(1);
    let _ = writeln!(
        page,
        "<table class=\"bars\" data-analysis=\"{analysis}\"><thead><tr><th scope=\"col\">{}</th><th></th><th scope=\"col\" class=\"num\">{}</th></tr></thead><tbody>",
        headers[0], headers[1]
    );
    for (key, label, n, shown) in rows {
        let _ = writeln!(
            page,
            "<tr><th scope=\"row\" data-value=\"{key}\">{label}</th><td class=\"bar\"><span style=\"width:{:.1}%\"></span></td><td class=\"num\" data-value=\"{n}\">{shown}</td></tr>",
            *n as f64 / max as f64 * 100.0
        );
    }
    page.push_str("</tbody></table>\n");
}

/// A table of every row of an analysis, folded away under `summary`.
fn details(page: &mut String, summary: &str, analysis: &str, headers: &[&str], rows: &[String]) {
    let _ = write!(
        page,
        "<details>\n<summary>{}</summary>\n<div class=\"scroll\"><table data-analysis=\"{analysis}\"><thead><tr>",
        esc(summary)
    );
    for h in headers {
        let _ = write!(page, "<th scope=\"col\">{h}</th>");
    }
    page.push_str("</tr></thead><tbody>\n");
    for row in rows {
        page.push_str(row);
        page.push('\n');
    }
    page.push_str("</tbody></table></div>\n</details>\n");
}

/// A count's cell: grouped digits shown, the plain number in `data-value`.
fn num(n: i64) -> String {
    format!("<td class=\"num\" data-value=\"{n}\">{}</td>", count(n))
}

/// Text safe in HTML content and in a quoted attribute.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// 12345 → "12,345".
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// 0.1234 → "12.3 %".
fn percent(part: f64) -> String {
    format!("{:.1} %", part * 100.0)
}

/// A share as the analysis rounds it (4 decimals): 0.1234 → "12.34 %", exactly.
fn share(share: f64) -> String {
    format!("{:.2} %", share * 100.0)
}

/// One decimal, without a useless ".0".
fn decimal(x: f64) -> String {
    let text = format!("{x:.1}");
    text.strip_suffix(".0").map(str::to_owned).unwrap_or(text)
}

fn plural<'a>(n: i64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// Seconds in words: "42 s", "4 min 12 s", "3 h 05 min", "2 d 4 h".
pub fn duration(seconds: f64) -> String {
    if seconds < 60.0 {
        return format!("{} s", decimal(seconds));
    }
    let s = seconds.round() as i64;
    match s {
        0..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86400 => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86400, s % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_group_cannot_become_markup() {
        assert_eq!(
            esc("<img src=x onerror=\"a('b')\"> & co"),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt; &amp; co"
        );
    }

    #[test]
    fn counts_durations_and_shares_read_as_people_write_them() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(-1234), "-1,234");
        assert_eq!(duration(12.5), "12.5 s");
        assert_eq!(duration(42.0), "42 s");
        assert_eq!(duration(252.0), "4 min 12 s");
        assert_eq!(duration(3600.0 + 300.0), "1 h 05 min");
        assert_eq!(duration(2.0 * 86400.0 + 4.0 * 3600.0 + 59.0), "2 d 4 h");
        assert_eq!(share(0.1234), "12.34 %");
        assert_eq!(share(1.0), "100.00 %");
    }
}
