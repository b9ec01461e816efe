//! A five-field Unix cron (day-of-week 0–7 from Sunday) turned into the six
//! fields of AWS cron, which then face the same checks as any `cron(…)`.

use super::error::{ScheduleError, UnixProblem};
use super::field::WEEKDAYS;

/// The six AWS fields for a five-field Unix cron.
pub fn to_aws_fields(raw: &str) -> Result<String, ScheduleError> {
    let fields: Vec<&str> = raw.split_whitespace().collect();
    let [minutes, hours, day_of_month, month, day_of_week] = fields.as_slice() else {
        return Err(ScheduleError::Form);
    };
    let (day_of_month, day_of_week) = match (*day_of_month, *day_of_week) {
        (dom, "*" | "?") => (dom.to_owned(), "?".to_owned()),
        ("*" | "?", dow) => ("?".to_owned(), weekdays(dow)?),
        _ => return Err(ScheduleError::Unix(UnixProblem::BothDays)),
    };
    Ok(format!("{minutes} {hours} {day_of_month} {month} {day_of_week} *"))
}

/// Unix day-of-week in AWS terms: numbers, ranges and steps become explicit
/// day names (which both dialects share); `nL` and `n#k` shift to AWS numbering.
fn weekdays(field: &str) -> Result<String, ScheduleError> {
    let invalid = || ScheduleError::Unix(UnixProblem::Weekday(field.to_owned()));
    let day = |text: &str| text.parse::<usize>().ok().filter(|d| *d <= 7).ok_or_else(invalid);
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
                    _ if has_digit(range) => return Err(invalid()),
                    // Names (MON-FRI) mean the same in both dialects.
                    _ => {
                        days.push(item.to_owned());
                        continue;
                    }
                },
                None => match day(range) {
                    Ok(d) => (d, d),
                    Err(_) if has_digit(range) => return Err(invalid()),
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

fn has_digit(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_digit())
}
