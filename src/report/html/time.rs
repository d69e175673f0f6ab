//! The sections about time: messages per day, and the hour × weekday heatmap.

use super::*;

pub(super) fn days(page: &mut String, r: &Report) {
    let busiest = r
        .days
        .iter()
        .max_by_key(|(day, n)| (*n, std::cmp::Reverse(*day)))
        .copied();
    section_start(
        page,
        "days",
        "Messages per day",
        "messages_per_day",
        &days_lead(r, busiest),
    );
    days_chart(page, r, busiest.map_or(1, |(_, n)| n.max(1)));
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

/// The days' figures in words: the total, the average, the busiest day, the quiet days.
fn days_lead(r: &Report, busiest: Option<(chrono::NaiveDate, i64)>) -> String {
    let total = r.messages();
    let span = span_days(r);
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
    lead
}

/// The days as bars of one SVG, `max` messages the full height, with the axis in HTML.
fn days_chart(page: &mut String, r: &Report, max: i64) {
    let span = span_days(r);
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
}

pub(super) fn week(page: &mut String, r: &Report) {
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
