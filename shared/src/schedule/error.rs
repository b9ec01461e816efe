//! Why an expression is not one EventBridge Scheduler accepts. Each error names
//! the part at fault and what AWS allows there, so a client can fix it from the
//! message alone.

use std::fmt;

use super::field::CronField;

/// CreateSchedule's `ScheduleExpression` is 1 to this many characters.
pub const MAX_EXPRESSION_CHARS: usize = 256;

/// One problem with a schedule expression's grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("is empty; EventBridge Scheduler takes an expression of 1–{MAX_EXPRESSION_CHARS} characters")]
    Empty,
    #[error("is {0} characters; EventBridge Scheduler takes 1–{MAX_EXPRESSION_CHARS}")]
    TooLong(usize),
    #[error(
        "is not a schedule: expected cron(minutes hours day-of-month month day-of-week year), \
         rate(value unit) or at(yyyy-mm-ddThh:mm:ss), or a bare 5- or 6-field cron"
    )]
    Form,
    #[error("cron(…) takes 6 fields (minutes hours day-of-month month day-of-week year), not {0}")]
    FieldCount(usize),
    #[error("{field}: {problem}; {}", field.rule())]
    Field { field: CronField, problem: FieldProblem },
    #[error(
        "day-of-month and day-of-week: exactly one of them is ?, the other a value or * \
         (cron(0 9 ? * MON-FRI *), cron(0 9 1 * ? *))"
    )]
    DayFields,
    #[error(
        "rate(…): {0}; rate(value unit) takes a whole number from 1 and minute(s), hour(s) or day(s), singular for 1 only"
    )]
    Rate(RateProblem),
    #[error("at(…): {0:?} is not a date and time yyyy-mm-ddThh:mm:ss, e.g. at(2030-01-31T09:00:00)")]
    At(String),
    #[error("5-field (Unix) cron: {0}")]
    Unix(UnixProblem),
    /// A validated expression croner cannot evaluate: our bug, never the client's.
    #[error("cannot be evaluated here ({0}); please report it")]
    Unevaluable(String),
}

/// What is wrong inside one cron field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldProblem {
    #[error("{0:?} is out of range")]
    OutOfRange(String),
    #[error("{0:?} is not a value here")]
    NotAValue(String),
    #[error("this field does not take {0:?}")]
    Wildcard(char),
    #[error("? stands alone in its field")]
    QuestionInList,
    #[error("{0:?} is more than one expression; with L, W or # the field holds one expression only")]
    OnlyOne(String),
    #[error("{0:?}: the step after / is 1 to {1}")]
    Step(String, u32),
    #[error("{0:?}: a range of years runs forwards")]
    Backwards(String),
    #[error("{0:?}: the n of d#n is 1 to 5")]
    Nth(String),
}

/// What is wrong with a `rate(value unit)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateProblem {
    #[error("needs a value and a unit")]
    Shape,
    #[error("{0:?} is not a whole number from 1 to {max}", max = u32::MAX)]
    Value(String),
    #[error("{0:?} is not a unit")]
    Unit(String),
    #[error("{value} takes the {}: {expected}", if *value == 1 { "singular" } else { "plural" })]
    Number { value: u32, expected: String },
}

/// What a five-field Unix cron cannot be turned into.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnixProblem {
    #[error("AWS cron cannot restrict both day-of-month and day-of-week; use * in one")]
    BothDays,
    #[error("{0:?} is not a Unix day-of-week (0–7 from Sunday, or SUN–SAT)")]
    Weekday(String),
}

/// Every problem found in one expression, one error each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleErrors(pub Vec<ScheduleError>);

impl From<ScheduleError> for ScheduleErrors {
    fn from(error: ScheduleError) -> Self {
        Self(vec![error])
    }
}

impl fmt::Display for ScheduleErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScheduleErrors {}
