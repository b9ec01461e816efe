//! Faults injected into the local stack's AWS calls, answered as AWS answers
//! them: moto never throttles, never fails a call and never loses a role's trust,
//! so the load harness (`crate::soak`) breaks calls here, in the same HTTP layer
//! that enforces IAM (`crate::iam`). A fault matches a function, an operation and
//! a resource named in the request, and breaks a fraction of the calls it matches.

use std::sync::{Arc, Mutex, PoisonError};

/// How an injected fault answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    /// The service's throttling error (a 400 the SDK retries with backoff).
    Throttled,
    /// A 500, as from a service having a bad moment (the SDK retries it too).
    ServerError,
    /// AccessDenied, as when a role's trust policy stops trusting the stack.
    AccessDenied,
}

/// One fault: which calls it breaks, how often, and how.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Names the fault, to lift it again.
    pub name: String,
    /// The function whose calls break; `None` for every function.
    pub function: Option<String>,
    /// The operation (`SendMessageBatch`, `AssumeRole`, …).
    pub operation: String,
    /// Text the request's body or path must contain (a queue or topic name, a
    /// role); empty for any.
    pub resource: String,
    /// Share of the matching calls that break, in [0, 1].
    pub fraction: f64,
    pub error: Injected,
}

/// The faults in force, shared by every guarded function of a stack.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<Mutex<Faulting>>);

#[derive(Debug, Default)]
struct Faulting {
    active: Vec<Fault>,
    /// Calls broken so far, by fault name.
    injected: Vec<(String, u64)>,
}

impl Faults {
    fn with<T>(&self, f: impl FnOnce(&mut Faulting) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn inject(&self, fault: Fault) {
        self.with(|f| f.active.push(fault));
    }

    /// Lifts the fault named `name`.
    pub fn lift(&self, name: &str) {
        self.with(|f| f.active.retain(|fault| fault.name != name));
    }

    /// Lifts every fault and forgets the counts.
    pub fn clear(&self) {
        self.with(|f| *f = Faulting::default());
    }

    /// How many calls each fault has broken so far.
    pub fn injected(&self) -> Vec<(String, u64)> {
        self.with(|f| f.injected.clone())
    }

    /// The error this call is to get, if a fault breaks it: each fault that
    /// matches it has its own chance.
    pub(crate) fn breaks(&self, function: &str, operation: &str, path: &str, body: &[u8]) -> Option<Injected> {
        self.with(|f| {
            let fault = f.active.iter().find(|fault| {
                fault.function.as_deref().is_none_or(|wanted| wanted == function)
                    && fault.operation == operation
                    && (fault.resource.is_empty() || mentions(path, body, &fault.resource))
                    && fastrand::f64() < fault.fraction
            })?;
            let (name, error) = (fault.name.clone(), fault.error);
            match f.injected.iter_mut().find(|(n, _)| *n == name) {
                Some((_, count)) => *count += 1,
                None => f.injected.push((name, 1)),
            }
            Some(error)
        })
    }
}

/// Whether the request names `resource`, in its path or its body (JSON, or a
/// form whose values are URL-encoded: resource names need no encoding).
fn mentions(path: &str, body: &[u8], resource: &str) -> bool {
    path.contains(resource) || body.windows(resource.len()).any(|w| w == resource.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(fraction: f64) -> Fault {
        Fault {
            name: "orders-throttled".into(),
            function: Some("fanout".into()),
            operation: "SendMessageBatch".into(),
            resource: "orders".into(),
            fraction,
            error: Injected::Throttled,
        }
    }

    #[test]
    fn a_fault_breaks_only_the_calls_it_names_and_is_counted() {
        let faults = Faults::default();
        faults.inject(fault(1.0));
        let body = br#"{"QueueUrl":"http://127.0.0.1:5000/123456789012/orders"}"#;
        assert_eq!(
            faults.breaks("fanout", "SendMessageBatch", "/", body),
            Some(Injected::Throttled)
        );
        assert_eq!(faults.breaks("fanout-retry", "SendMessageBatch", "/", body), None);
        assert_eq!(faults.breaks("fanout", "SendMessage", "/", body), None);
        assert_eq!(faults.breaks("fanout", "SendMessageBatch", "/", b"{}"), None);
        assert_eq!(faults.injected(), [("orders-throttled".to_owned(), 1)]);
        faults.lift("orders-throttled");
        assert_eq!(faults.breaks("fanout", "SendMessageBatch", "/", body), None);
    }

    #[test]
    fn an_outage_over_a_partial_fault_breaks_every_call() {
        let faults = Faults::default();
        faults.inject(fault(0.0));
        faults.inject(Fault {
            name: "outage".into(),
            error: Injected::ServerError,
            ..fault(1.0)
        });
        assert_eq!(
            faults.breaks("fanout", "SendMessageBatch", "/", b"orders"),
            Some(Injected::ServerError)
        );
    }

    #[test]
    fn a_fraction_breaks_about_that_share() {
        let faults = Faults::default();
        faults.inject(fault(0.25));
        let broken = (0..4000)
            .filter(|_| faults.breaks("fanout", "SendMessageBatch", "/", b"orders").is_some())
            .count();
        assert!((800..1200).contains(&broken), "{broken}");
    }
}
