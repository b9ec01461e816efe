//! The OAuth scopes the API asks for: one per kind of thing a call can change
//! or reveal, so a token can be given exactly what its holder needs (a read-only
//! console token stores nothing, spends no points and sees no personal data).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Storing events: `POST /api/v1/events`, the typed endpoints, baskets.
    Events,
    /// Earning or spending a customer's points: redemptions, and every event
    /// the loyalty assessor applies.
    Points,
    /// Creating or changing configuration: subscriptions, event definitions,
    /// jobs, settings, rules and customers' locks.
    Write,
    /// Sending personal data out: subscriptions with `includePsi: true` (which
    /// need the personal-data scope as well).
    Admin,
    /// Reading personal data: answers show `isPsiData` fields in the clear. Also
    /// what lets a token send them out in the clear or stop them being masked:
    /// `includePsi: true`, and a definition change that drops a field's
    /// `isPsiData` (or deactivates a definition that has some).
    PersonalData,
}

impl Scope {
    pub const ALL: [Self; 5] = [Self::Events, Self::Points, Self::Write, Self::Admin, Self::PersonalData];

    /// The template parameter naming it.
    pub const fn parameter(self) -> &'static str {
        match self {
            Self::Events => "EventsScope",
            Self::Points => "PointsScope",
            Self::Write => "WriteScope",
            Self::Admin => "AdminScope",
            Self::PersonalData => "PersonalDataScope",
        }
    }

    /// The function variable the template sets from that parameter.
    pub const fn variable(self) -> &'static str {
        match self {
            Self::Events => "EVENTS_SCOPE",
            Self::Points => "POINTS_SCOPE",
            Self::Write => "WRITE_SCOPE",
            Self::Admin => "ADMIN_SCOPE",
            Self::PersonalData => "PERSONAL_DATA_SCOPE",
        }
    }

    /// The parameter's default.
    pub const fn default_name(self) -> &'static str {
        match self {
            Self::Events => "event-collector/events",
            Self::Points => "event-collector/points",
            Self::Write => "event-collector/write",
            Self::Admin => "event-collector/admin",
            Self::PersonalData => "event-collector/personal-data",
        }
    }

    /// What a refusal says the call was doing.
    pub const fn guards(self) -> &'static str {
        match self {
            Self::Events => "storing events",
            Self::Points => "earning or spending a customer's points",
            Self::Write => "this route changes configuration",
            Self::Admin => "includePsi: true",
            Self::PersonalData => "reading personal data",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.parameter())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn each_scope_has_its_own_parameter_variable_and_default() {
        for names in [
            Scope::ALL.map(Scope::parameter),
            Scope::ALL.map(Scope::variable),
            Scope::ALL.map(Scope::default_name),
        ] {
            assert_eq!(
                names.iter().collect::<BTreeSet<_>>().len(),
                Scope::ALL.len(),
                "{names:?}"
            );
        }
    }
}
