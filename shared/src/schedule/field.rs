//! One field of an AWS cron expression, as the EventBridge user guide's cron
//! table gives it: its values, its names and the wildcards it takes. A field is
//! checked here and turned into what croner evaluates, so croner never sees a
//! name, a wrapped range or a form AWS does not document.

use std::collections::BTreeSet;
use std::fmt;

use super::error::FieldProblem;

/// Day names, Sunday first, as both AWS and Unix cron spell them.
pub(super) const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
/// Characters that join or qualify values; each field takes some of them.
const SYMBOLS: &str = ",-*/?#";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CronField {
    Minutes,
    Hours,
    DayOfMonth,
    Month,
    DayOfWeek,
    Year,
}

impl CronField {
    /// In the order `cron(…)` takes them.
    pub const ALL: [Self; 6] = [
        Self::Minutes,
        Self::Hours,
        Self::DayOfMonth,
        Self::Month,
        Self::DayOfWeek,
        Self::Year,
    ];

    fn bounds(self) -> (u32, u32) {
        match self {
            Self::Minutes => (0, 59),
            Self::Hours => (0, 23),
            Self::DayOfMonth => (1, 31),
            Self::Month => (1, 12),
            Self::DayOfWeek => (1, 7),
            Self::Year => (1970, 2199),
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            Self::Month => &MONTHS,
            Self::DayOfWeek => &WEEKDAYS,
            _ => &[],
        }
    }

    /// The wildcards of AWS's table for this field.
    fn wildcards(self) -> &'static str {
        match self {
            Self::DayOfMonth => ",-*?/LW",
            Self::DayOfWeek => ",-*?L#",
            _ => ",-*/",
        }
    }

    /// What AWS allows here, for error messages.
    pub fn rule(self) -> &'static str {
        match self {
            Self::Minutes => "minutes is 0–59, with , - * /",
            Self::Hours => "hours is 0–23, with , - * /",
            Self::DayOfMonth => "day-of-month is 1–31, with , - * ? / L W",
            Self::Month => "month is 1–12 or JAN–DEC, with , - * /",
            Self::DayOfWeek => "day-of-week is 1–7 or SUN–SAT (1 = SUN), with , - * ? L #",
            Self::Year => "year is 1970–2199, with , - * /",
        }
    }

    /// The largest step after `/`: a step past the field's end could never repeat.
    fn max_step(self) -> u32 {
        match self {
            Self::Year => 2199 - 1970,
            _ => self.bounds().1,
        }
    }

    fn takes(self, wildcard: char) -> bool {
        self.wildcards().contains(wildcard)
    }

    /// Checks `text` (upper case) and returns what croner is to evaluate for it.
    pub fn compile(self, text: &str) -> Result<String, FieldProblem> {
        if let Some(symbol) = text.chars().find(|c| SYMBOLS.contains(*c) && !self.takes(*c)) {
            return Err(FieldProblem::Wildcard(symbol));
        }
        if text == "?" {
            // croner reads `?` as `*`; the other day field then decides.
            return Ok("*".to_owned());
        }
        if text.contains('?') {
            return Err(FieldProblem::QuestionInList);
        }
        if text.split(',').any(|item| self.is_special(item)) {
            if text.contains(',') {
                return Err(FieldProblem::OnlyOne(text.to_owned()));
            }
            return self.special(text);
        }
        if text == "*" {
            return Ok("*".to_owned());
        }
        let mut values = BTreeSet::new();
        for item in text.split(',') {
            values.extend(self.item(item)?);
        }
        Ok(values.iter().map(u32::to_string).collect::<Vec<_>>().join(","))
    }

    /// `L`, `nW`, `dL` and `d#n`: day forms that stand alone in their field.
    fn is_special(self, item: &str) -> bool {
        (self.takes('L') && item.ends_with('L')) || (self.takes('W') && item.ends_with('W')) || item.contains('#')
    }

    fn special(self, item: &str) -> Result<String, FieldProblem> {
        match (self, item) {
            (Self::DayOfMonth, "L") => Ok("L".to_owned()),
            (Self::DayOfMonth, _) => match item.strip_suffix('W') {
                Some(day) if !day.ends_with('L') => Ok(format!("{}W", self.value_in(item, day)?)),
                _ => Err(FieldProblem::NotAValue(item.to_owned())),
            },
            // A lone L is the week's last day, Saturday.
            (_, "L") => Ok("7".to_owned()),
            (_, _) => {
                if let Some(day) = item.strip_suffix('L') {
                    return Ok(format!("{}L", self.value_in(item, day)?));
                }
                let (day, nth) = item.split_once('#').unwrap_or((item, ""));
                match nth.parse::<u32>() {
                    Ok(n @ 1..=5) if nth.bytes().all(|b| b.is_ascii_digit()) => {
                        Ok(format!("{}#{n}", self.value_in(item, day)?))
                    }
                    _ => Err(FieldProblem::Nth(item.to_owned())),
                }
            }
        }
    }

    /// `*`, `v`, `a-b`, each optionally `/step`: the values it covers. A range
    /// whose end is below its start wraps past the field's end (hours `20-2`
    /// is 20, 21, 22, 23, 0, 1, 2), except in years, which run forwards.
    fn item(self, item: &str) -> Result<Vec<u32>, FieldProblem> {
        let (min, max) = self.bounds();
        let (base, step) = match item.split_once('/') {
            Some((base, step)) => (base, self.step(item, step)?),
            None => (item, 1),
        };
        let value = |text| self.value_in(item, text);
        let (from, to) = match base.split_once('-') {
            _ if base == "*" => (min, max),
            Some((from, to)) => (value(from)?, value(to)?),
            // `v/step` runs from v to the field's end.
            None if item.contains('/') => (value(base)?, max),
            None => (value(base)?, value(base)?),
        };
        if from > to && self == Self::Year {
            return Err(FieldProblem::Backwards(item.to_owned()));
        }
        let span = max - min + 1;
        let count = (to + span - from) % span + 1;
        Ok((0..count)
            .step_by(step as usize)
            .map(|offset| min + (from - min + offset) % span)
            .collect())
    }

    fn step(self, item: &str, step: &str) -> Result<u32, FieldProblem> {
        let max = self.max_step();
        step.parse::<u32>()
            .ok()
            .filter(|s| step.bytes().all(|b| b.is_ascii_digit()) && (1..=max).contains(s))
            .ok_or_else(|| FieldProblem::Step(item.to_owned(), max))
    }

    /// `value(text)`, where a text that is no value at all is reported as the
    /// whole `item` it stands in, which says more.
    fn value_in(self, item: &str, text: &str) -> Result<u32, FieldProblem> {
        self.value(text).map_err(|problem| match problem {
            FieldProblem::NotAValue(_) => FieldProblem::NotAValue(item.to_owned()),
            problem => problem,
        })
    }

    /// A number within the field's bounds, or one of its names.
    fn value(self, text: &str) -> Result<u32, FieldProblem> {
        let (min, max) = self.bounds();
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return text
                .parse::<u32>()
                .ok()
                .filter(|v| (min..=max).contains(v))
                .ok_or_else(|| FieldProblem::OutOfRange(text.to_owned()));
        }
        if let Some(index) = self.names().iter().position(|name| *name == text) {
            // Names count from 1 in both fields that have them.
            return Ok(index as u32 + 1);
        }
        match ['L', 'W'].into_iter().find(|c| text.contains(*c) && !self.takes(*c)) {
            Some(letter) => Err(FieldProblem::Wildcard(letter)),
            None => Err(FieldProblem::NotAValue(text.to_owned())),
        }
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Minutes => "minutes",
            Self::Hours => "hours",
            Self::DayOfMonth => "day-of-month",
            Self::Month => "month",
            Self::DayOfWeek => "day-of-week",
            Self::Year => "year",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::CronField::*;
    use super::*;

    #[test]
    fn ranges_that_wrap_are_expanded_with_their_steps() {
        assert_eq!(Hours.compile("20-2").as_deref(), Ok("0,1,2,20,21,22,23"));
        assert_eq!(Hours.compile("20-2/2").as_deref(), Ok("0,2,20,22"));
        assert_eq!(Hours.compile("22-2/3").as_deref(), Ok("1,22"));
        assert_eq!(DayOfWeek.compile("FRI-MON").as_deref(), Ok("1,2,6,7"));
        assert_eq!(Month.compile("NOV-FEB").as_deref(), Ok("1,2,11,12"));
        assert_eq!(DayOfMonth.compile("30-2").as_deref(), Ok("1,2,30,31"));
        assert_eq!(Minutes.compile("0/30").as_deref(), Ok("0,30"));
        assert_eq!(Minutes.compile("*/20").as_deref(), Ok("0,20,40"));
        assert_eq!(Minutes.compile("5-5").as_deref(), Ok("5"));
        assert_eq!(Year.compile("2026/50").as_deref(), Ok("2026,2076,2126,2176"));
    }

    #[test]
    fn day_forms_are_handed_on_in_croner_terms() {
        assert_eq!(DayOfMonth.compile("L").as_deref(), Ok("L"));
        assert_eq!(DayOfMonth.compile("3W").as_deref(), Ok("3W"));
        assert_eq!(DayOfWeek.compile("L").as_deref(), Ok("7"));
        assert_eq!(DayOfWeek.compile("FRIL").as_deref(), Ok("6L"));
        assert_eq!(DayOfWeek.compile("MON#2").as_deref(), Ok("2#2"));
        assert_eq!(DayOfWeek.compile("?").as_deref(), Ok("*"));
    }

    #[test]
    fn each_problem_is_named() {
        let cases = [
            (Year, "2030-2026", FieldProblem::Backwards("2030-2026".into())),
            (Hours, "24", FieldProblem::OutOfRange("24".into())),
            (Minutes, "5/0", FieldProblem::Step("5/0".into(), 59)),
            (Minutes, "5/60", FieldProblem::Step("5/60".into(), 59)),
            (Minutes, "5/+1", FieldProblem::Step("5/+1".into(), 59)),
            (Minutes, "+5", FieldProblem::NotAValue("+5".into())),
            (Minutes, "1,,2", FieldProblem::NotAValue(String::new())),
            (Minutes, "L", FieldProblem::Wildcard('L')),
            (Hours, "?", FieldProblem::Wildcard('?')),
            (DayOfWeek, "2/2", FieldProblem::Wildcard('/')),
            (DayOfWeek, "1W", FieldProblem::Wildcard('W')),
            (DayOfMonth, "3#2", FieldProblem::Wildcard('#')),
            (DayOfMonth, "LW", FieldProblem::NotAValue("LW".into())),
            (DayOfMonth, "1,?", FieldProblem::QuestionInList),
            (DayOfMonth, "L,15", FieldProblem::OnlyOne("L,15".into())),
            (DayOfWeek, "3#1,6#3", FieldProblem::OnlyOne("3#1,6#3".into())),
            (DayOfWeek, "3#6", FieldProblem::Nth("3#6".into())),
            (DayOfWeek, "0", FieldProblem::OutOfRange("0".into())),
            (DayOfWeek, "JAN", FieldProblem::NotAValue("JAN".into())),
            (Month, "MON", FieldProblem::NotAValue("MON".into())),
            (Year, "JAN", FieldProblem::NotAValue("JAN".into())),
        ];
        for (field, text, problem) in cases {
            assert_eq!(field.compile(text), Err(problem), "{field} {text:?}");
        }
    }
}
