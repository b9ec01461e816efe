//! Every HTTP route, with the Lambda function that serves it. template.yaml,
//! openapi.yaml and the local runner are checked against this table by tests.

use std::fmt;

use crate::http::Scope;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// API Gateway syntax: `{name}` matches one path segment.
    pub path: &'static str,
    /// The function that serves it (its `Handler` name, an entry of `functions::HANDLERS`).
    pub function: &'static str,
    /// Served without the JWT authorizer (the console's static files); every
    /// API route is authorized.
    pub public: bool,
}

impl Route {
    /// Whether it creates or changes subscriptions, event definitions, jobs,
    /// settings, rules or customers' locks (which needs the write scope).
    pub fn changes_configuration(&self) -> bool {
        self.method != "GET"
            && *self != TEST_FILTER
            && [
                "/api/v1/event-subscription",
                "/api/v1/event-definitions",
                "/api/v1/jobs",
                "/api/v1/settings",
                "/api/v1/rules",
                "/api/v1/customers",
            ]
            .iter()
            .any(|prefix| self.path.starts_with(prefix))
    }

    /// The scopes every call of the route needs. A generic event the loyalty
    /// assessor would apply needs the points scope too, which its handler
    /// checks once it has read the event.
    pub fn scopes(&self) -> &'static [Scope] {
        if self.changes_configuration() {
            &[Scope::Write]
        } else if [
            CREATE_ACTION_EVENT,
            CREATE_ORDER_EVENT,
            CREATE_TRANSACTION_EVENT,
            CREATE_REDEMPTION_EVENT,
        ]
        .contains(self)
        {
            // Typed events always name a customer: they earn, or spend.
            &[Scope::Events, Scope::Points]
        } else if self.method == "POST" && (self.path == "/api/v1/events" || self.path.starts_with("/api/v1/events/")) {
            &[Scope::Events]
        } else {
            &[]
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

pub const CREATE_EVENT: Route = Route {
    method: "POST",
    path: "/api/v1/events",
    function: "create-event",
    public: false,
};
pub const GET_EVENT: Route = Route {
    method: "GET",
    path: "/api/v1/events/{eventId}",
    function: "get-event",
    public: false,
};
pub const LIST_EVENTS: Route = Route {
    method: "GET",
    path: "/api/v1/events",
    function: "list-events",
    public: false,
};
/// Every attempt to deliver one event, to each of its subscriptions.
pub const LIST_EVENT_DELIVERIES: Route = Route {
    method: "GET",
    path: "/api/v1/events/{eventId}/deliveries",
    function: "list-event-deliveries",
    public: false,
};

pub const CREATE_EVENT_DEFINITION: Route = Route {
    method: "POST",
    path: "/api/v1/event-definitions",
    function: "create-event-definition",
    public: false,
};
pub const LIST_EVENT_DEFINITIONS: Route = Route {
    method: "GET",
    path: "/api/v1/event-definitions",
    function: "list-event-definitions",
    public: false,
};
pub const GET_EVENT_DEFINITION: Route = Route {
    method: "GET",
    path: "/api/v1/event-definitions/{eventName}",
    function: "get-event-definition",
    public: false,
};
pub const UPDATE_EVENT_DEFINITION: Route = Route {
    method: "PUT",
    path: "/api/v1/event-definitions/{eventName}",
    function: "update-event-definition",
    public: false,
};
pub const DEACTIVATE_EVENT_DEFINITION: Route = Route {
    method: "PUT",
    path: "/api/v1/event-definitions/{eventName}/deactivate",
    function: "deactivate-event-definition",
    public: false,
};

pub const CREATE_SUBSCRIPTION: Route = Route {
    method: "POST",
    path: "/api/v1/event-subscription",
    function: "create-subscription",
    public: false,
};
/// The seed's form: the id is in the body.
pub const UPDATE_SUBSCRIPTION: Route = Route {
    method: "PUT",
    path: "/api/v1/event-subscription",
    function: "update-subscription",
    public: false,
};
pub const UPDATE_SUBSCRIPTION_BY_ID: Route = Route {
    method: "PUT",
    path: "/api/v1/event-subscription/{id}",
    function: "update-subscription",
    public: false,
};
pub const LIST_SUBSCRIPTIONS: Route = Route {
    method: "GET",
    path: "/api/v1/event-subscription",
    function: "list-subscriptions",
    public: false,
};
pub const GET_SUBSCRIPTION: Route = Route {
    method: "GET",
    path: "/api/v1/event-subscription/{id}",
    function: "get-subscription",
    public: false,
};
pub const DEACTIVATE_SUBSCRIPTION: Route = Route {
    method: "PUT",
    path: "/api/v1/event-subscription/{id}/deactivate",
    function: "deactivate-subscription",
    public: false,
};
/// The function serving the console's files.
pub const CONSOLE_FUNCTION: &str = "console";

/// The tenant console (its page; its assets are `CONSOLE_ASSET`).
pub const CONSOLE: Route = Route {
    method: "GET",
    path: "/console",
    function: "console",
    public: true,
};
pub const CONSOLE_ASSET: Route = Route {
    method: "GET",
    path: "/console/{asset}",
    function: "console",
    public: true,
};
pub const LIST_DEAD_LETTERS: Route = Route {
    method: "GET",
    path: "/api/v1/event-subscription/{id}/dead-letters",
    function: "list-dead-letters",
    public: false,
};
pub const GET_EVENT_STATS: Route = Route {
    method: "GET",
    path: "/api/v1/event-stats",
    function: "get-event-stats",
    public: false,
};
pub const LIST_DELIVERIES: Route = Route {
    method: "GET",
    path: "/api/v1/event-subscription/{id}/deliveries",
    function: "list-deliveries",
    public: false,
};
pub const REPLAY_SUBSCRIPTION: Route = Route {
    method: "POST",
    path: "/api/v1/event-subscription/{id}/replay",
    function: "replay-subscription",
    public: false,
};
pub const GET_REPLAY: Route = Route {
    method: "GET",
    path: "/api/v1/event-subscription/{id}/replays/{replayId}",
    function: "get-replay",
    public: false,
};
pub const REDRIVE_SUBSCRIPTION: Route = Route {
    method: "POST",
    path: "/api/v1/event-subscription/{id}/redrive",
    function: "redrive-subscription",
    public: false,
};

/// Tries a content filter against a sample envelope; changes nothing.
pub const TEST_FILTER: Route = Route {
    method: "POST",
    path: "/api/v1/event-subscription/test-filter",
    function: "test-filter",
    public: false,
};

pub const CREATE_JOB: Route = Route {
    method: "POST",
    path: "/api/v1/jobs",
    function: "create-job",
    public: false,
};
pub const LIST_JOBS: Route = Route {
    method: "GET",
    path: "/api/v1/jobs",
    function: "list-jobs",
    public: false,
};
pub const GET_JOB: Route = Route {
    method: "GET",
    path: "/api/v1/jobs/{jobId}",
    function: "get-job",
    public: false,
};
pub const UPDATE_JOB: Route = Route {
    method: "PUT",
    path: "/api/v1/jobs/{jobId}",
    function: "update-job",
    public: false,
};
pub const DELETE_JOB: Route = Route {
    method: "DELETE",
    path: "/api/v1/jobs/{jobId}",
    function: "delete-job",
    public: false,
};
/// Seed 000 deletes a job with POST on its path: the same function, the same 204.
pub const DELETE_JOB_BY_POST: Route = Route {
    method: "POST",
    path: "/api/v1/jobs/{jobId}",
    function: "delete-job",
    public: false,
};

pub const LIST_JOB_RUNS: Route = Route {
    method: "GET",
    path: "/api/v1/jobs/{jobId}/runs",
    function: "list-job-runs",
    public: false,
};

/// Loyalty rules: which customer events earn what.
pub const CREATE_RULE: Route = Route {
    method: "POST",
    path: "/api/v1/rules",
    function: "create-rule",
    public: false,
};
pub const LIST_RULES: Route = Route {
    method: "GET",
    path: "/api/v1/rules",
    function: "list-rules",
    public: false,
};
pub const GET_RULE: Route = Route {
    method: "GET",
    path: "/api/v1/rules/{ruleId}",
    function: "get-rule",
    public: false,
};
pub const UPDATE_RULE: Route = Route {
    method: "PUT",
    path: "/api/v1/rules/{ruleId}",
    function: "update-rule",
    public: false,
};
pub const DEACTIVATE_RULE: Route = Route {
    method: "POST",
    path: "/api/v1/rules/{ruleId}/deactivate",
    function: "deactivate-rule",
    public: false,
};

/// A customer's points, ledger and lock.
pub const GET_CUSTOMER: Route = Route {
    method: "GET",
    path: "/api/v1/customers/{customerId}",
    function: "get-customer",
    public: false,
};
pub const LIST_CUSTOMER_LEDGER: Route = Route {
    method: "GET",
    path: "/api/v1/customers/{customerId}/ledger",
    function: "list-customer-ledger",
    public: false,
};
pub const LOCK_CUSTOMER: Route = Route {
    method: "PUT",
    path: "/api/v1/customers/{customerId}/lock",
    function: "lock-customer",
    public: false,
};

/// The tenant's own SendGrid key and sender, for its notification jobs.
pub const PUT_SENDGRID_SETTINGS: Route = Route {
    method: "PUT",
    path: "/api/v1/settings/sendgrid",
    function: "put-sendgrid-settings",
    public: false,
};
pub const GET_SENDGRID_SETTINGS: Route = Route {
    method: "GET",
    path: "/api/v1/settings/sendgrid",
    function: "get-sendgrid-settings",
    public: false,
};
pub const DELETE_SENDGRID_SETTINGS: Route = Route {
    method: "DELETE",
    path: "/api/v1/settings/sendgrid",
    function: "delete-sendgrid-settings",
    public: false,
};

pub const CREATE_ACTION_EVENT: Route = Route {
    method: "POST",
    path: "/api/v1/events/actions",
    function: "create-action-event",
    public: false,
};
pub const CREATE_ORDER_EVENT: Route = Route {
    method: "POST",
    path: "/api/v1/events/orders",
    function: "create-order-event",
    public: false,
};
pub const CREATE_TRANSACTION_EVENT: Route = Route {
    method: "POST",
    path: "/api/v1/events/transactions",
    function: "create-transaction-event",
    public: false,
};
pub const CREATE_REDEMPTION_EVENT: Route = Route {
    method: "POST",
    path: "/api/v1/events/redemptions",
    function: "create-redemption-event",
    public: false,
};
pub const ASSESS_BASKET: Route = Route {
    method: "POST",
    path: "/api/v1/events/basket",
    function: "assess-basket",
    public: false,
};

pub const ROUTES: &[Route] = &[
    CREATE_EVENT,
    GET_EVENT,
    LIST_EVENTS,
    LIST_EVENT_DELIVERIES,
    CREATE_EVENT_DEFINITION,
    LIST_EVENT_DEFINITIONS,
    GET_EVENT_DEFINITION,
    UPDATE_EVENT_DEFINITION,
    DEACTIVATE_EVENT_DEFINITION,
    CREATE_SUBSCRIPTION,
    UPDATE_SUBSCRIPTION,
    UPDATE_SUBSCRIPTION_BY_ID,
    LIST_SUBSCRIPTIONS,
    GET_SUBSCRIPTION,
    DEACTIVATE_SUBSCRIPTION,
    LIST_DEAD_LETTERS,
    LIST_DELIVERIES,
    GET_EVENT_STATS,
    REDRIVE_SUBSCRIPTION,
    TEST_FILTER,
    REPLAY_SUBSCRIPTION,
    GET_REPLAY,
    CONSOLE,
    CONSOLE_ASSET,
    CREATE_JOB,
    LIST_JOBS,
    GET_JOB,
    UPDATE_JOB,
    DELETE_JOB,
    DELETE_JOB_BY_POST,
    LIST_JOB_RUNS,
    PUT_SENDGRID_SETTINGS,
    GET_SENDGRID_SETTINGS,
    DELETE_SENDGRID_SETTINGS,
    CREATE_RULE,
    LIST_RULES,
    GET_RULE,
    UPDATE_RULE,
    DEACTIVATE_RULE,
    GET_CUSTOMER,
    LIST_CUSTOMER_LEDGER,
    LOCK_CUSTOMER,
    CREATE_ACTION_EVENT,
    CREATE_ORDER_EVENT,
    CREATE_TRANSACTION_EVENT,
    CREATE_REDEMPTION_EVENT,
    ASSESS_BASKET,
];

/// The function behind API Gateway's `$default` route (unknown paths/methods).
pub const FALLBACK_FUNCTION: &str = "route-not-found";

/// Which route a request's method and path select.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution {
    Found {
        route: &'static Route,
        path_parameters: Vec<(String, String)>,
    },
    /// The path exists, with other methods.
    MethodNotAllowed(Vec<&'static str>),
    NotFound,
}

pub fn resolve(method: &str, path: &str) -> Resolution {
    // The console's page answers with a trailing slash too (`/console/`).
    let trimmed = path.strip_suffix('/').filter(|p| !p.is_empty());
    if let Some(route) = trimmed.and_then(|trimmed| {
        ROUTES
            .iter()
            .find(|r| r.public && r.method == method && r.path == trimmed)
    }) {
        return Resolution::Found {
            route,
            path_parameters: Vec::new(),
        };
    }
    let mut allowed = Vec::new();
    for route in ROUTES {
        if let Some(path_parameters) = match_path(route.path, path) {
            if route.method == method {
                return Resolution::Found { route, path_parameters };
            }
            allowed.push(route.method);
        }
    }
    if allowed.is_empty() {
        Resolution::NotFound
    } else {
        Resolution::MethodNotAllowed(allowed)
    }
}

fn match_path(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    let mut template_segments = template.split('/');
    let mut path_segments = path.split('/');
    let mut parameters = Vec::new();
    loop {
        match (template_segments.next(), path_segments.next()) {
            (None, None) => return Some(parameters),
            (Some(t), Some(p)) => match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                Some(name) if !p.is_empty() => parameters.push((name.to_owned(), p.to_owned())),
                None if t == p => {}
                _ => return None,
            },
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_literal_and_parameterised_paths() {
        assert_eq!(
            resolve("POST", "/api/v1/events"),
            Resolution::Found {
                route: &ROUTES[0],
                path_parameters: vec![]
            }
        );
        assert_eq!(
            resolve("GET", "/api/v1/events/evt_1"),
            Resolution::Found {
                route: &ROUTES[1],
                path_parameters: vec![("eventId".into(), "evt_1".into())]
            }
        );
    }

    #[test]
    fn tells_wrong_method_from_unknown_path() {
        assert_eq!(
            resolve("DELETE", "/api/v1/events"),
            Resolution::MethodNotAllowed(vec!["POST", "GET"])
        );
        assert_eq!(resolve("GET", "/api/v1/events/"), Resolution::NotFound);
        assert_eq!(resolve("GET", "/api/v1/events/a/b"), Resolution::NotFound);
        assert_eq!(resolve("GET", "/nope"), Resolution::NotFound);
    }

    #[test]
    fn every_call_that_changes_something_needs_a_scope() {
        for route in ROUTES.iter().filter(|r| r.method != "GET" && **r != TEST_FILTER) {
            assert!(!route.scopes().is_empty(), "{route} needs no scope");
        }
        assert_eq!(CREATE_EVENT.scopes(), [Scope::Events]);
        assert_eq!(ASSESS_BASKET.scopes(), [Scope::Events]);
        assert_eq!(CREATE_REDEMPTION_EVENT.scopes(), [Scope::Events, Scope::Points]);
        assert_eq!(CREATE_ORDER_EVENT.scopes(), [Scope::Events, Scope::Points]);
        assert_eq!(REDRIVE_SUBSCRIPTION.scopes(), [Scope::Write]);
        assert!(TEST_FILTER.scopes().is_empty(), "trying a filter changes nothing");
        assert_eq!(LOCK_CUSTOMER.scopes(), [Scope::Write]);
        assert!(GET_EVENT.scopes().is_empty() && LIST_EVENTS.scopes().is_empty());
    }
}
