//! EventBridge schedule expressions: which ones EventBridge takes (checked before anything is
//! made, since EventBridge would refuse a bad one only at the end of a first `up`), and how long
//! one waits between runs.

use super::DAILY;

/// The longest time between two runs of an EventBridge schedule expression: `rate(N unit)`
/// exactly; a `cron(...)` by its fields (every N hours, daily, weekly on named days, monthly on
/// set days of the month). `None` when it cannot tell.
pub fn period(schedule: &str) -> Option<chrono::TimeDelta> {
    use chrono::TimeDelta;
    let schedule = schedule.trim();
    if schedule.starts_with("cron(") {
        return cron_period(schedule);
    }
    let rate = schedule.strip_prefix("rate(")?.strip_suffix(')')?;
    let (n, unit) = rate.trim().split_once(' ')?;
    let n: i64 = n.parse().ok().filter(|n| *n > 0)?;
    match unit.trim().trim_end_matches('s') {
        "minute" => Some(TimeDelta::minutes(n)),
        "hour" => Some(TimeDelta::hours(n)),
        "day" => Some(TimeDelta::days(n)),
        _ => None,
    }
}

/// [`period`] of a `cron(minutes hours day-of-month month day-of-week year)` expression.
fn cron_period(schedule: &str) -> Option<chrono::TimeDelta> {
    use chrono::TimeDelta;
    let body = schedule.strip_prefix("cron(")?.strip_suffix(')')?;
    let fields: Vec<&str> = body.split_whitespace().collect();
    let [_, hours, day_of_month, _, day_of_week, _] = fields.as_slice() else {
        return None;
    };
    let any = |f: &str| f == "*" || f == "?";
    if !any(day_of_month) {
        // Set days of the month: at worst a month and a few days between two of them.
        return Some(TimeDelta::days(31));
    }
    if !any(day_of_week) {
        // Named days of the week: at worst a week between two of them.
        return Some(TimeDelta::days(7));
    }
    if *hours == "*" {
        return Some(TimeDelta::hours(1));
    }
    if let Some(step) = hours
        .split_once('/')
        .and_then(|(_, n)| n.parse::<i64>().ok())
    {
        return Some(TimeDelta::hours(step.max(1)));
    }
    // One or several hours a day: at worst a day between two runs.
    Some(DAILY)
}

/// Whether EventBridge takes `expression` as a rule's schedule: `rate(N unit)` (a singular unit
/// for 1, plural above) or `cron(minutes hours day-of-month month day-of-week year)` with `?` in
/// exactly one of the two day fields. The error says what is wrong and shows one that works.
pub fn check(expression: &str) -> Result<(), String> {
    let e = expression.trim();
    let why = if let Some(rate) = e.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
        check_rate(rate.trim())
    } else if let Some(cron) = e.strip_prefix("cron(").and_then(|c| c.strip_suffix(')')) {
        check_cron(cron)
    } else {
        Err("it is neither rate(…) nor cron(…)".to_owned())
    };
    why.map_err(|why| {
        format!(
            "--schedule {expression:?} is not an EventBridge schedule: {why}; e.g. \"cron(30 0 * * ? *)\" (00:30 UTC daily) or \"rate(12 hours)\""
        )
    })
}

fn check_rate(rate: &str) -> Result<(), String> {
    let (n, unit) = rate
        .split_once(' ')
        .ok_or_else(|| "a rate is a number and a unit".to_owned())?;
    let n: u64 = n
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{n:?} is not a positive whole number"))?;
    let unit = unit.trim();
    let units = ["minute", "hour", "day"];
    let ok = if n == 1 {
        units.contains(&unit)
    } else {
        units.iter().any(|u| unit.strip_suffix('s') == Some(u))
    };
    if ok {
        Ok(())
    } else if n == 1 {
        Err(format!(
            "the unit of rate(1 …) is minute, hour or day, not {unit:?}"
        ))
    } else {
        Err(format!(
            "the unit of rate({n} …) is minutes, hours or days, not {unit:?}"
        ))
    }
}

/// The six fields, their names, and the values each takes (`?`, `L`, `W`, `#` where allowed).
fn check_cron(cron: &str) -> Result<(), String> {
    const NAMES: [&str; 6] = [
        "minutes",
        "hours",
        "day-of-month",
        "month",
        "day-of-week",
        "year",
    ];
    let fields: Vec<&str> = cron.split_whitespace().collect();
    if fields.len() != 6 {
        return Err(format!(
            "a cron expression has 6 fields ({}), this one {}",
            NAMES.join(" "),
            fields.len()
        ));
    }
    let (dom, dow) = (fields[2], fields[4]);
    if (dom == "?") == (dow == "?") {
        return Err(
            "exactly one of day-of-month and day-of-week must be ? (the other says which days)"
                .to_owned(),
        );
    }
    for (field, name) in fields.iter().zip(NAMES) {
        let extra = match name {
            "day-of-month" => "?LW",
            "day-of-week" => "?L#",
            _ => "",
        };
        let named = matches!(name, "month" | "day-of-week");
        let fine = field.chars().all(|c| {
            c.is_ascii_digit()
                || ",-*/".contains(c)
                || extra.contains(c)
                || (named && c.is_ascii_alphabetic())
        });
        if !fine {
            return Err(format!(
                "its {name} field {field:?} has characters cron does not take"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_s_period_is_the_longest_wait_between_two_runs() {
        use chrono::TimeDelta;
        assert_eq!(period(super::super::DEFAULT_SCHEDULE), Some(DAILY));
        assert_eq!(period("rate(6 hours)"), Some(TimeDelta::hours(6)));
        assert_eq!(period("rate(1 day)"), Some(DAILY));
        assert_eq!(period("rate(30 minutes)"), Some(TimeDelta::minutes(30)));
        assert_eq!(period("cron(0 */4 * * ? *)"), Some(TimeDelta::hours(4)));
        assert_eq!(period("cron(0 3 ? * MON *)"), Some(TimeDelta::days(7)));
        assert_eq!(period("cron(0 3 1 * ? *)"), Some(TimeDelta::days(31)));
        assert_eq!(period("rate(0 hours)"), None);
        assert_eq!(period("at(2024-01-01T00:00:00)"), None);
    }

    #[test]
    fn eventbridge_s_expressions_pass_and_a_bad_one_is_named_with_an_example() {
        for good in [
            super::super::DEFAULT_SCHEDULE,
            "rate(1 day)",
            "rate(12 hours)",
            "rate(5 minutes)",
            "cron(0 3 ? * MON-FRI *)",
            "cron(0/15 * * * ? *)",
            "cron(0 3 L * ? *)",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("cron(0 3 * *)", "6 fields"),
            ("cron(0 3 * * * *)", "exactly one of"),
            ("cron(0 3 ? * ? *)", "exactly one of"),
            ("rate(1 days)", "minute, hour or day"),
            ("rate(2 hour)", "minutes, hours or days"),
            ("rate(0 hours)", "positive whole number"),
            ("daily", "neither"),
            ("cron(0 3 * * ? $)", "characters"),
        ] {
            let e = check(bad).unwrap_err();
            assert!(
                e.contains(why) && e.contains("cron(30 0 * * ? *)"),
                "{bad}: {e}"
            );
        }
    }
}
