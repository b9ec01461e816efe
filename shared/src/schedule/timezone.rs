//! `scheduleTimezone`: an IANA time zone name, as CreateSchedule's
//! `ScheduleExpressionTimezone` takes (1–50 characters).

use jiff::tz::TimeZone;

const MAX_CHARS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not an IANA time zone name such as Europe/Berlin (EventBridge Scheduler takes 1–{MAX_CHARS} characters)"
)]
pub struct TimezoneError(pub String);

/// The zone and its canonical IANA name.
pub fn parse_timezone(name: &str) -> Result<(TimeZone, String), TimezoneError> {
    let invalid = || TimezoneError(name.to_owned());
    if !(1..=MAX_CHARS).contains(&name.len()) {
        return Err(invalid());
    }
    let zone = TimeZone::get(name).map_err(|_| invalid())?;
    let canonical = zone.iana_name().unwrap_or(name).to_owned();
    Ok((zone, canonical))
}
