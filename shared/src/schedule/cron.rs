//! AWS cron: six fields, minutes to year, day-of-week 1-7 from Sunday, and exactly
//! one of day-of-month / day-of-week set to `?`. croner parses and evaluates it in
//! its Quartz mode; the AWS-only rules (which characters and names each field
//! takes, the year range) are checked here first.

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

const AWS_YEARS: std::ops::RangeInclusive<i64> = 1970..=2199;
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const FIELD_NAMES: [&str; 6] = ["minutes", "hours", "day-of-month", "month", "day-of-week", "year"];

fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Required)
        .alternative_weekdays(true)
        .sloppy_ranges(true)
        .build()
}

/// croner reads a lone `L` in day-of-week as nothing; AWS means Saturday (7).
fn compile(fields: &[String]) -> Result<Cron, String> {
    let day_of_week = if fields[4] == "L" { "7" } else { fields[4].as_str() };
    let pattern = format!(
        "0 {} {} {} {} {day_of_week} {}",
        fields[0], fields[1], fields[2], fields[3], fields[5]
    );
    parser().parse(&pattern).map_err(|e| format!("invalid cron: {e}"))
}

/// Checks six AWS cron fields and returns them normalised (upper case, single spaces).
pub fn aws_fields(raw: &str) -> Result<String, String> {
    if !raw.is_ascii() {
        return Err("cron(…) fields are ASCII only".to_owned());
    }
    let fields: Vec<String> = raw.split_whitespace().map(str::to_ascii_uppercase).collect();
    if fields.len() != 6 {
        return Err(format!(
            "cron(…) needs 6 fields (minutes hours day-of-month month day-of-week year), got {}",
            fields.len()
        ));
    }
    for (index, field) in fields.iter().enumerate() {
        check_characters(index, field)?;
    }
    if (fields[2] == "?") == (fields[4] == "?") {
        return Err("exactly one of day-of-month and day-of-week must be '?'".to_owned());
    }
    check_years(&fields[5])?;
    compile(&fields)?;
    Ok(fields.join(" "))
}

/// Which characters and names each field takes in Scheduler's cron.
fn check_characters(index: usize, field: &str) -> Result<(), String> {
    let (names, letters, symbols): (&[&str], &str, &str) = match index {
        2 => (&[], "LW", ",-*/?"),
        3 => (&MONTHS, "", ",-*/"),
        4 => (&WEEKDAYS, "L", ",-*/?#"),
        _ => (&[], "", ",-*/"),
    };
    let mut rest = field.to_owned();
    for name in names {
        rest = rest.replace(name, "");
    }
    match rest
        .chars()
        .find(|c| !(c.is_ascii_digit() || letters.contains(*c) || symbols.contains(*c)))
    {
        Some(c) => Err(format!(
            "the {} field does not take {c:?} (in {field:?})",
            FIELD_NAMES[index]
        )),
        None => Ok(()),
    }
}

/// Years are within Scheduler's range; in `a/n` only `a` is a year.
fn check_years(field: &str) -> Result<(), String> {
    let years = field
        .split(',')
        .flat_map(|item| item.split('/').next().unwrap_or_default().split('-'))
        .filter(|part| *part != "*");
    for year in years {
        match year.parse::<i64>() {
            Ok(y) if AWS_YEARS.contains(&y) => {}
            _ => {
                return Err(format!(
                    "years must be within {}-{}",
                    AWS_YEARS.start(),
                    AWS_YEARS.end()
                ));
            }
        }
    }
    Ok(())
}

/// Converts a five-field Unix cron (day-of-week 0-7 from Sunday) to AWS fields.
pub fn from_unix(raw: &str) -> Result<String, String> {
    let fields: Vec<&str> = raw.split_whitespace().collect();
    let [minutes, hours, day_of_month, month, day_of_week] = fields.as_slice() else {
        return Err("a bare cron needs 5 or 6 fields".to_owned());
    };
    let (day_of_month, day_of_week) = match (*day_of_month, *day_of_week) {
        (dom, "*" | "?") => (dom.to_owned(), "?".to_owned()),
        ("*" | "?", dow) => ("?".to_owned(), unix_weekdays(dow)?),
        _ => return Err("AWS cron cannot restrict both day-of-month and day-of-week; use '*' in one".to_owned()),
    };
    aws_fields(&format!("{minutes} {hours} {day_of_month} {month} {day_of_week} *"))
}

/// Unix day-of-week (0 or 7 = Sunday) in AWS terms: numbers, ranges and steps
/// become explicit day names (which both dialects share); `nL` and `n#k` shift
/// to AWS numbering.
fn unix_weekdays(field: &str) -> Result<String, String> {
    let invalid = || format!("{field:?} is not a Unix day-of-week");
    let day =
        |text: &str| -> Result<usize, String> { text.parse::<usize>().ok().filter(|d| *d <= 7).ok_or_else(invalid) };
    let mut days: Vec<String> = Vec::new();
    for item in field.to_ascii_uppercase().split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (
                range,
                step.parse::<usize>().ok().filter(|s| *s >= 1).ok_or_else(invalid)?,
            ),
            None => (item, 1),
        };
        if let Some(last) = range.strip_suffix('L') {
            days.push(format!("{}L", day(last)? % 7 + 1));
            continue;
        }
        if let Some((weekday, nth)) = range.split_once('#') {
            days.push(format!("{}#{nth}", day(weekday)? % 7 + 1));
            continue;
        }
        let (from, to) = match range {
            "*" => (0, 6),
            _ => match range.split_once('-') {
                Some((from, to)) => match (day(from), day(to)) {
                    (Ok(from), Ok(to)) if from <= to => (from, to),
                    (Ok(_), Ok(_)) => return Err(invalid()),
                    // Names (MON-FRI) mean the same in both dialects.
                    _ => {
                        days.push(item.to_owned());
                        continue;
                    }
                },
                None => match day(range) {
                    Ok(d) => (d, d),
                    Err(_) => {
                        days.push(item.to_owned());
                        continue;
                    }
                },
            },
        };
        if step == 1 && from < to && to <= 6 {
            days.push(format!("{}-{}", WEEKDAYS[from], WEEKDAYS[to]));
            continue;
        }
        for d in (from..=to).step_by(step) {
            let name = WEEKDAYS[d % 7].to_owned();
            if !days.contains(&name) {
                days.push(name);
            }
        }
    }
    Ok(days.join(","))
}

/// The next time the fields match, strictly after `now` (in `now`'s timezone).
pub fn next_after(fields: &str, now: &jiff::Zoned) -> Option<DateTime<Utc>> {
    let fields: Vec<String> = fields.split_whitespace().map(str::to_owned).collect();
    let next = compile(&fields).ok()?.find_next_occurrence(now, false).ok()?;
    super::to_chrono(next.timestamp())
}
