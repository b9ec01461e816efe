//! AWS cron: six fields, minutes to year, day-of-week 1-7 from Sunday, and exactly
//! one of day-of-month / day-of-week set to `?`. croner parses and evaluates it in
//! its Quartz mode; the AWS-only rules are checked here.

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

const AWS_YEARS: std::ops::RangeInclusive<i32> = 1970..=2199;
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Required)
        .alternative_weekdays(true)
        .sloppy_ranges(true)
        .build()
}

fn compile(fields: &str) -> Result<Cron, String> {
    parser()
        .parse(&format!("0 {fields}"))
        .map_err(|e| format!("invalid cron: {e}"))
}

/// Checks six AWS cron fields and returns them normalised (single spaces).
pub fn aws_fields(raw: &str) -> Result<String, String> {
    let fields: Vec<&str> = raw.split_whitespace().collect();
    let [_, _, day_of_month, _, day_of_week, year] = fields.as_slice() else {
        return Err(format!(
            "cron(…) needs 6 fields (minutes hours day-of-month month day-of-week year), got {}",
            fields.len()
        ));
    };
    if raw.contains(['@', '+']) {
        return Err("cron(…) fields may only use digits, names, and , - * ? / L W #".to_owned());
    }
    if (*day_of_month == "?") == (*day_of_week == "?") {
        return Err("exactly one of day-of-month and day-of-week must be '?'".to_owned());
    }
    if *year != "*" {
        let years: Vec<i32> = year.split([',', '-', '/']).filter_map(|n| n.parse().ok()).collect();
        if years.iter().any(|y| !AWS_YEARS.contains(y)) {
            return Err(format!(
                "years must be within {}-{}",
                AWS_YEARS.start(),
                AWS_YEARS.end()
            ));
        }
    }
    let normalised = fields.join(" ");
    compile(&normalised)?;
    Ok(normalised)
}

/// Converts a five-field Unix cron (day-of-week 0-7 from Sunday) to AWS fields.
pub fn from_unix(raw: &str) -> Result<String, String> {
    let fields: Vec<&str> = raw.split_whitespace().collect();
    let [minutes, hours, day_of_month, month, day_of_week] = fields.as_slice() else {
        return Err("a bare cron needs 5 or 6 fields".to_owned());
    };
    let (day_of_month, day_of_week) = match (*day_of_month, *day_of_week) {
        (dom, "*" | "?") => (dom.to_owned(), "?".to_owned()),
        ("*" | "?", dow) => ("?".to_owned(), unix_weekdays(dow)),
        _ => {
            return Err("AWS cron cannot restrict both day-of-month and day-of-week; use '*' in one".to_owned());
        }
    };
    aws_fields(&format!("{minutes} {hours} {day_of_month} {month} {day_of_week} *"))
}

/// Unix weekday numbers (0 or 7 = Sunday) as names, which both dialects share.
fn unix_weekdays(field: &str) -> String {
    let name = |n: &str| n.parse::<usize>().ok().and_then(|n| WEEKDAYS.get(n % 7)).copied();
    field
        .split(',')
        .map(|item| match item.split_once('-') {
            Some((from, to)) => match (name(from), name(to)) {
                (Some(from), Some(to)) => format!("{from}-{to}"),
                _ => item.to_owned(),
            },
            None => name(item).map_or_else(|| item.to_owned(), str::to_owned),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The next time the fields match, strictly after `now` (in `now`'s timezone).
pub fn next_after(fields: &str, now: &jiff::Zoned) -> Option<DateTime<Utc>> {
    let next = compile(fields).ok()?.find_next_occurrence(now, false).ok()?;
    super::to_chrono(next.timestamp())
}
