//! The sections about what is said and by whom: words, people, replies, types, bots.

use super::super::UserShare;
use super::*;

pub(super) fn words(page: &mut String, r: &Report) {
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

pub(super) fn users(page: &mut String, r: &Report) {
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

pub(super) fn replies(page: &mut String, r: &Report) {
    section_start(
        page,
        "replies",
        "How fast people reply",
        "reply_time",
        &replies_lead(r),
    );
    replies_chart(page, r);
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

/// The replies in words: how many, by how many people, and who replies fastest.
fn replies_lead(r: &Report) -> String {
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
    match fastest {
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
    }
}

/// The median times of those who reply most, as bars.
fn replies_chart(page: &mut String, r: &Report) {
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
}

pub(super) fn types(page: &mut String, r: &Report) {
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

pub(super) fn senders(page: &mut String, r: &Report) {
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
