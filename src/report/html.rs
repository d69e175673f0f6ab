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

use super::{Report, UserShare};

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

fn days(page: &mut String, r: &Report) {
    let total = r.messages();
    let span = span_days(r);
    let busiest = r
        .days
        .iter()
        .max_by_key(|(day, n)| (*n, std::cmp::Reverse(*day)))
        .copied();
    let mut lead = format!(
        "{} messages over {} {}: {} a day on average.",
        count(total),
        count(span),
        plural(span, "day", "days"),
        decimal(total as f64 / span.max(1) as f64),
    );
    if let Some((day, n)) = busiest {
        let _ = write!(
            lead,
            " The busiest day was {} {day}, with {} messages.",
            WEEKDAYS[day.weekday().num_days_from_monday() as usize],
            count(n)
        );
    }
    let quiet = span - r.days.len() as i64;
    if quiet > 0 {
        let _ = write!(
            lead,
            " {} {} had none.",
            count(quiet),
            plural(quiet, "day", "days")
        );
    }
    section_start(page, "days", "Messages per day", "messages_per_day", &lead);
    let max = busiest.map_or(1, |(_, n)| n.max(1));
    let width = span.max(1);
    let _ = write!(
        page,
        "<figure class=\"days\" style=\"margin:0\">\n<div class=\"axis\"><span>{} at most</span></div>\n\
         <svg viewBox=\"0 0 {width} 100\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"Messages per day, from {} to {}: at most {} a day\">\n",
        count(max),
        r.first_day,
        r.last_day,
        count(max),
    );
    for (day, n) in &r.days {
        let x = (*day - r.first_day).num_days();
        if x < 0 || x >= width {
            continue;
        }
        // A day with a few messages still shows as a sliver.
        let height = (*n as f64 / max as f64 * 100.0).max(0.8);
        let _ = writeln!(
            page,
            "<rect x=\"{}\" y=\"{:.2}\" width=\"0.8\" height=\"{height:.2}\"><title>{day}: {} messages</title></rect>",
            x as f64 + 0.1,
            100.0 - height,
            count(*n)
        );
    }
    let middle = r.first_day + chrono::Duration::days(span / 2);
    let _ = write!(
        page,
        "</svg>\n<div class=\"axis\"><span>{}</span>{}<span>{}</span></div>\n</figure>\n",
        r.first_day,
        if span > 2 {
            format!("<span>{middle}</span>")
        } else {
            String::new()
        },
        r.last_day
    );
    let rows: Vec<String> = r
        .days
        .iter()
        .map(|(day, n)| format!("<tr><th scope=\"row\">{day}</th>{}</tr>", num(*n)))
        .collect();
    details(
        page,
        &format!("Every day with messages ({})", count(r.days.len() as i64)),
        "messages_per_day",
        &["Day", "Messages"],
        &rows,
    );
    page.push_str("</section>\n");
}

fn week(page: &mut String, r: &Report) {
    let zone = esc(&r.about.zone);
    let cells = (0..7).flat_map(|d| (0..24).map(move |h| (d, h)));
    let (bd, bh) = cells
        .max_by_key(|&(d, h)| (r.week[d][h], std::cmp::Reverse((d, h))))
        .unwrap_or((0, 0));
    let by_day: Vec<i64> = r.week.iter().map(|hours| hours.iter().sum()).collect();
    let by_hour: Vec<i64> = (0..24).map(|h| r.week.iter().map(|d| d[h]).sum()).collect();
    let top_day = (0..7)
        .max_by_key(|&d| (by_day[d], std::cmp::Reverse(d)))
        .unwrap_or(0);
    let top_hour = (0..24)
        .max_by_key(|&h| (by_hour[h], std::cmp::Reverse(h)))
        .unwrap_or(0);
    let lead = format!(
        "The busiest hour of the week is {} {bh:02}:00–{:02}:00, with {} messages. {} is the busiest day ({} messages) and {top_hour:02}:00–{:02}:00 the busiest hour ({}). Hours are in {zone}.",
        WEEKDAYS[bd],
        (bh + 1) % 24,
        count(r.week[bd][bh]),
        WEEKDAYS[top_day],
        count(by_day[top_day]),
        (top_hour + 1) % 24,
        count(by_hour[top_hour]),
    );
    section_start(
        page,
        "week",
        "When the group writes",
        "activity_by_hour_weekday_week",
        &lead,
    );
    let max = r.week.iter().flatten().copied().max().unwrap_or(0).max(1);
    page.push_str(
        "<div class=\"scroll\">\n<table class=\"heat\" data-analysis=\"activity_by_hour_weekday_week\">\n",
    );
    let _ = write!(
        page,
        "<caption class=\"source\" style=\"text-align:left\">Messages by weekday and hour ({zone}), summed over every week</caption>\n<thead><tr><th></th>"
    );
    for h in 0..24 {
        let _ = write!(page, "<th scope=\"col\">{h}</th>");
    }
    page.push_str("</tr></thead>\n<tbody>\n");
    for (d, hours) in r.week.iter().enumerate() {
        let _ = write!(
            page,
            "<tr><th scope=\"row\" title=\"{}\">{}</th>",
            WEEKDAYS[d],
            &WEEKDAYS[d][..3]
        );
        for (h, n) in hours.iter().enumerate() {
            let strength = *n as f64 / max as f64;
            let alpha = if *n == 0 { 0.0 } else { 0.1 + 0.9 * strength };
            let _ = write!(
                page,
                "<td data-value=\"{n}\" class=\"{}\" style=\"background:rgba(43,111,214,{alpha:.2})\" title=\"{} {h:02}:00–{:02}:00: {} messages\">{}</td>",
                match (*n, alpha > 0.55) {
                    (0, _) => "zero",
                    (_, true) => "dark",
                    _ => "",
                },
                WEEKDAYS[d],
                (h + 1) % 24,
                count(*n),
                count(*n)
            );
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}

fn words(page: &mut String, r: &Report) {
    let quoted = |(w, n): &(String, i64)| format!("“{}” ({})", esc(w), count(*n));
    let lead = match r.words.as_slice() {
        [] => "No words: there is no text in this period.".to_owned(),
        [first, rest @ ..] => {
            let next: Vec<String> = rest.iter().take(2).map(quoted).collect();
            format!(
                "The most used word is “{}”, {} times{}. Words are lower-cased; common Portuguese and English words are left out.",
                esc(&first.0),
                count(first.1),
                if next.is_empty() {
                    String::new()
                } else {
                    format!("; then {}", next.join(" and "))
                }
            )
        }
    };
    section_start(page, "words", "Most used words", "top_words", &lead);
    let max = r.words.first().map_or(1, |w| w.1.max(1));
    let bars: Vec<(String, f64, String)> = r
        .words
        .iter()
        .take(WORDS_SHOWN)
        .map(|(w, n)| (esc(w), *n as f64 / max as f64, count(*n)))
        .collect();
    bar_chart(page, "The most used words", &bars);
    let rows: Vec<String> = r
        .words
        .iter()
        .enumerate()
        .map(|(i, (w, n))| {
            format!(
                "<tr><td class=\"num\">{}</td><th scope=\"row\">{}</th>{}</tr>",
                i + 1,
                esc(w),
                num(*n)
            )
        })
        .collect();
    details(
        page,
        &format!("All {} words", r.words.len()),
        "top_words",
        &["#", "Word", "Times"],
        &rows,
    );
    page.push_str("</section>\n");
}

/// A user's name as the page shows it: the first name, or the id when there is none.
fn user_name(name: Option<&str>, id: i64) -> String {
    name.map_or_else(|| format!("user {id}"), esc)
}

fn users(page: &mut String, r: &Report) {
    let total: i64 = r.users.iter().map(|u| u.messages).sum();
    let lead = match r.users.as_slice() {
        [] => "No messages from people or bots in this period (channel posts have no sender)."
            .to_owned(),
        [top, ..] => {
            let shown: i64 = r.users.iter().take(3).map(|u| u.messages).sum();
            format!(
                "{} {} wrote {} messages. {} wrote the most: {} messages, {} of all.{}",
                count(r.users.len() as i64),
                plural(r.users.len() as i64, "member", "members"),
                count(total),
                user_name(top.name.as_deref(), top.id),
                count(top.messages),
                share(top.share),
                if r.users.len() > 3 {
                    format!(
                        " The three most active wrote {}.",
                        percent(shown as f64 / total.max(1) as f64)
                    )
                } else {
                    String::new()
                }
            )
        }
    };
    section_start(page, "users", "Who writes", "user_share", &lead);
    let max = r.users.first().map_or(1, |u| u.messages.max(1));
    let bar = |u: &UserShare| {
        (
            user_name(u.name.as_deref(), u.id),
            u.messages as f64 / max as f64,
            format!("{} · {}", count(u.messages), share(u.share)),
        )
    };
    let mut bars: Vec<(String, f64, String)> = r.users.iter().take(BARS_SHOWN).map(bar).collect();
    if r.users.len() > BARS_SHOWN {
        let others = &r.users[BARS_SHOWN..];
        let n: i64 = others.iter().map(|u| u.messages).sum();
        bars.push((
            format!("{} others", count(others.len() as i64)),
            0.0,
            format!("{} · {}", count(n), percent(n as f64 / total.max(1) as f64)),
        ));
    }
    bar_chart(page, "Each person's messages", &bars);
    let rows: Vec<String> = r
        .users
        .iter()
        .map(|u| {
            format!(
                "<tr><th scope=\"row\" data-value=\"{}\">{}</th>{}<td class=\"num\" data-value=\"{}\">{}</td></tr>",
                u.id,
                user_name(u.name.as_deref(), u.id),
                num(u.messages),
                u.share,
                share(u.share)
            )
        })
        .collect();
    details(
        page,
        &format!("Every person ({})", r.users.len()),
        "user_share",
        &["Person", "Messages", "Share"],
        &rows,
    );
    page.push_str("</section>\n");
}

fn replies(page: &mut String, r: &Report) {
    let total: i64 = r.replies.iter().map(|u| u.replies).sum();
    // The fastest among those who replied often enough for a median to mean something.
    let regular: Vec<_> = r.replies.iter().filter(|u| u.replies >= 3).collect();
    let pool = if regular.is_empty() {
        r.replies.iter().collect()
    } else {
        regular
    };
    let fastest = pool
        .into_iter()
        .min_by(|a, b| a.median_seconds.total_cmp(&b.median_seconds));
    let lead = match fastest {
        None => "No replies in this period.".to_owned(),
        Some(f) => format!(
            "The time from a message to a reply to it, as each person's median over {} {} by {} {}. Fastest: {}, {} (over {} {}).",
            count(total),
            plural(total, "reply", "replies"),
            count(r.replies.len() as i64),
            plural(r.replies.len() as i64, "person", "people"),
            user_name(f.name.as_deref(), f.id),
            duration(f.median_seconds),
            count(f.replies),
            plural(f.replies, "reply", "replies"),
        ),
    };
    section_start(
        page,
        "replies",
        "How fast people reply",
        "reply_time",
        &lead,
    );
    let max = r
        .replies
        .iter()
        .take(BARS_SHOWN)
        .map(|u| u.median_seconds)
        .fold(0.0f64, f64::max)
        .max(1.0);
    let bars: Vec<(String, f64, String)> = r
        .replies
        .iter()
        .take(BARS_SHOWN)
        .map(|u| {
            (
                user_name(u.name.as_deref(), u.id),
                u.median_seconds / max,
                format!(
                    "{} · {} {}",
                    duration(u.median_seconds),
                    count(u.replies),
                    plural(u.replies, "reply", "replies")
                ),
            )
        })
        .collect();
    if !bars.is_empty() {
        bar_chart(
            page,
            "Median time to reply, for those who reply most",
            &bars,
        );
    }
    let rows: Vec<String> = r
        .replies
        .iter()
        .map(|u| {
            format!(
                "<tr><th scope=\"row\" data-value=\"{}\">{}</th>{}<td class=\"num\" data-value=\"{}\">{}</td></tr>",
                u.id,
                user_name(u.name.as_deref(), u.id),
                num(u.replies),
                u.median_seconds,
                duration(u.median_seconds)
            )
        })
        .collect();
    details(
        page,
        &format!("Every person who replied ({})", r.replies.len()),
        "reply_time",
        &["Person", "Replies", "Median time to reply"],
        &rows,
    );
    page.push_str("</section>\n");
}

fn types(page: &mut String, r: &Report) {
    let total: i64 = r.types.iter().map(|t| t.1).sum();
    let of = |n: i64| percent(n as f64 / total.max(1) as f64);
    let lead = match r.types.as_slice() {
        [] => "No messages.".to_owned(),
        [(t, n), rest @ ..] => {
            let next: Vec<String> = rest
                .iter()
                .take(2)
                .map(|(t, n)| format!("{} ({})", esc(t), of(*n)))
                .collect();
            format!(
                "{} of messages are {}{}.",
                of(*n),
                esc(t),
                if next.is_empty() {
                    String::new()
                } else {
                    format!("; then {}", next.join(" and "))
                }
            )
        }
    };
    section_start(page, "types", "Kinds of messages", "message_types", &lead);
    let rows: Vec<(String, String, i64, String)> = r
        .types
        .iter()
        .map(|(t, n)| (esc(t), esc(t), *n, format_pair(*n, &of(*n))))
        .collect();
    data_bars(page, "message_types", ["Kind", "Messages"], &rows);
    page.push_str("</section>\n");
}

fn senders(page: &mut String, r: &Report) {
    let total = r.people + r.bots;
    let of = |n: i64| percent(n as f64 / total.max(1) as f64);
    let lead = format!(
        "People sent {} messages ({}), bots {} ({}). Channel posts and messages sent as the group have no sender and are left out.",
        count(r.people),
        of(r.people),
        count(r.bots),
        of(r.bots)
    );
    section_start(page, "senders", "People and bots", "bots_vs_humans", &lead);
    let rows = [("false", "People", r.people), ("true", "Bots", r.bots)]
        .map(|(key, label, n)| (key.to_owned(), label.to_owned(), n, format_pair(n, &of(n))));
    data_bars(page, "bots_vs_humans", ["Sender", "Messages"], &rows);
    page.push_str("</section>\n");
}

fn format_pair(n: i64, share: &str) -> String {
    format!("{} · {share}", count(n))
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
