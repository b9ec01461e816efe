//! The delivery loop every destination shares: batches of ten, and the entries a
//! batch call reports as failed are retried with backoff; permanent failures and
//! the last attempt's leftovers come back as `Undelivered`.

use std::future::Future;
use std::time::Duration;

use futures_util::{StreamExt, stream};

// The SDKs' shared error types, re-exported by each.
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use super::message::{OutgoingMessage, Undelivered, batches};

/// Entry error codes that say the message itself is wrong (malformed, too
/// long): no destination, fixed or not, will ever take it. Anything else a
/// destination refuses (access, a disabled KMS key, a missing resource) its owner
/// can fix, so that delivery waits on the retry queue.
const MESSAGE_FAULTS: &[&str] = &[
    "InvalidParameterValue",
    "InvalidParameter",
    "InvalidMessageContents",
    "MalformedDetail",
    "InvalidArgument",
    "MessageTooLong",
    "BatchEntryTooLong",
];

/// Codes that say the destination is missing or refuses this service. They
/// read the same to the tenant, so a failed delivery never tells whether some
/// other account's queue or topic exists.
const UNREACHABLE: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",
    "AuthorizationErrorException",
    "NonExistentQueue",
    "QueueDoesNotExist",
    "NotFound",
    "NotFoundException",
    "ResourceNotFoundException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
];

/// What the tenant reads (`delivery.lastError`) for a failure coded `code`: a
/// short code and message, never the SDK's whole report (that goes to the log).
pub(super) fn tenant_reason(code: &str, message: Option<&str>) -> String {
    let code = code.rsplit('.').next().unwrap_or(code);
    if UNREACHABLE.contains(&code) {
        return "DESTINATION_UNREACHABLE: it does not exist, or does not let this service deliver to it".into();
    }
    let message: String = message.unwrap_or_default().chars().take(200).collect();
    format!("{code}: {message}")
}

/// A batch call that failed as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CallFailed {
    /// What the tenant reads; the detail is logged.
    pub reason: String,
    /// Whether trying again within this invocation can help: not for a
    /// destination that is missing or refuses access (its owner must act), so a
    /// failing subscriber costs one call a batch, not one a try.
    pub transient: bool,
}

/// A batch that could not even be built (an attribute SQS or SNS would refuse):
/// no try will build it.
impl From<String> for CallFailed {
    fn from(reason: String) -> Self {
        Self {
            reason,
            transient: false,
        }
    }
}

/// The tenant's reason for a call that failed as a whole; the detail is logged.
pub(super) fn call_failure<E, R>(err: SdkError<E, R>) -> CallFailed
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let (reason, transient) = match &err {
        SdkError::ServiceError(_) => {
            let code = err.code().unwrap_or("Unknown");
            (tenant_reason(code, err.message()), !is_unreachable(code))
        }
        SdkError::TimeoutError(_) => ("TIMEOUT: the destination's service did not answer in time".into(), true),
        SdkError::DispatchFailure(_) => (
            "UNREACHABLE: the destination's service could not be reached".into(),
            true,
        ),
        _ => (
            "FAILED: the destination's service gave an answer that could not be read".into(),
            true,
        ),
    };
    tracing::warn!(error = %DisplayErrorContext(&err), %reason, "delivery call failed");
    CallFailed { reason, transient }
}

/// Whether `code` says the destination is missing or refuses this service.
fn is_unreachable(code: &str) -> bool {
    UNREACHABLE.contains(&code.rsplit('.').next().unwrap_or(code))
}

/// One entry a batch call refused, by its index in the batch.
pub(super) struct EntryFailure {
    pub index: usize,
    pub reason: String,
    /// Sending it again within this invocation cannot help (a sender fault).
    pub permanent: bool,
    /// The message itself is wrong: it can never be delivered (see `MESSAGE_FAULTS`).
    pub undeliverable: bool,
}

impl EntryFailure {
    /// From an SQS or SNS batch error entry, whose id is the entry's index.
    pub(super) fn from_batch_error(id: &str, code: &str, message: Option<&str>, sender_fault: bool) -> Option<Self> {
        Some(Self {
            index: id.parse().ok()?,
            reason: tenant_reason(code, message),
            permanent: sender_fault,
            undeliverable: sender_fault && is_message_fault(code),
        })
    }
}

/// Whether `code` (possibly service-prefixed, e.g. `AWS.SimpleQueueService.…`)
/// says the message itself is wrong.
pub(super) fn is_message_fault(code: &str) -> bool {
    MESSAGE_FAULTS.contains(&code.rsplit('.').next().unwrap_or(code))
}

/// Batch calls in flight at once to one destination that keeps no order: a
/// hundred messages (a tenant's burst, or a failing subscription's parked
/// deliveries) take one round trip rather than ten.
const BATCHES_AT_ONCE: usize = 8;

/// Whether a destination keeps the order messages are sent in (a FIFO queue or
/// topic): its batches must then go one after another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Order {
    Kept,
    None,
}

impl Order {
    /// The order of the queue or topic named by `url_or_arn`.
    pub(super) fn of(url_or_arn: &str) -> Self {
        if url_or_arn.ends_with(".fifo") {
            Self::Kept
        } else {
            Self::None
        }
    }
}

/// Sends `messages` through `call` (one batch per call), up to `attempts` tries
/// each; batches one after another where `order` is kept, else a few at once.
pub(super) async fn deliver<F, Fut>(
    messages: Vec<OutgoingMessage>,
    max_batch_bytes: usize,
    attempts: u32,
    order: Order,
    call: F,
) -> Vec<Undelivered>
where
    F: Fn(&[OutgoingMessage]) -> Fut,
    Fut: Future<Output = Result<Vec<EntryFailure>, CallFailed>>,
{
    let at_once = match order {
        Order::Kept => 1,
        Order::None => BATCHES_AT_ONCE,
    };
    let call = &call;
    let per_batch: Vec<Vec<Undelivered>> = stream::iter(batches(messages, max_batch_bytes))
        .map(|batch| deliver_batch(batch, attempts, call))
        .buffered(at_once)
        .collect()
        .await;
    per_batch.into_iter().flatten().collect()
}

/// One batch, its failed entries tried again up to `attempts` tries in all.
async fn deliver_batch<F, Fut>(batch: Vec<(usize, OutgoingMessage)>, attempts: u32, call: &F) -> Vec<Undelivered>
where
    F: Fn(&[OutgoingMessage]) -> Fut,
    Fut: Future<Output = Result<Vec<EntryFailure>, CallFailed>>,
{
    let mut undelivered = Vec::new();
    let (mut positions, mut pending): (Vec<usize>, Vec<OutgoingMessage>) = batch.into_iter().unzip();
    let mut reasons = vec![String::new(); pending.len()];
    for attempt in 0..attempts.max(1) {
        if attempt > 0 {
            // 50 ms, 100 ms, 200 ms, …: enough for throttling to pass within one invocation.
            tokio::time::sleep(Duration::from_millis(50 << (attempt - 1).min(6))).await;
        }
        let failures = match call(&pending).await {
            Ok(failures) => failures,
            Err(CallFailed { reason, transient }) => {
                reasons = vec![reason; pending.len()];
                if transient {
                    continue;
                }
                break;
            }
        };
        let mut retry = (Vec::new(), Vec::new(), Vec::new());
        for failure in failures {
            let (Some(&index), Some(message)) = (positions.get(failure.index), pending.get(failure.index)) else {
                continue;
            };
            if failure.permanent {
                undelivered.push(Undelivered {
                    index,
                    message: message.clone(),
                    reason: failure.reason,
                    permanent: failure.undeliverable,
                });
            } else {
                retry.0.push(index);
                retry.1.push(message.clone());
                retry.2.push(failure.reason);
            }
        }
        (positions, pending, reasons) = retry;
        if pending.is_empty() {
            break;
        }
    }
    undelivered.extend(
        positions
            .into_iter()
            .zip(pending)
            .zip(reasons)
            .map(|((index, message), reason)| Undelivered {
                index,
                message,
                reason,
                permanent: false,
            }),
    );
    undelivered
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// The most batch calls `deliver` had in flight at once for 30 messages.
    async fn most_in_flight(order: Order) -> usize {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let undelivered = deliver(messages(30), 1000, 1, order, |_: &[OutgoingMessage]| {
            let (now, most) = (&now, &most);
            async move {
                most.fetch_max(now.fetch_add(1, SeqCst) + 1, SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                now.fetch_sub(1, SeqCst);
                Ok(Vec::new())
            }
        })
        .await;
        assert!(undelivered.is_empty());
        most.load(SeqCst)
    }

    #[tokio::test]
    async fn batches_to_an_ordered_destination_go_one_after_another_and_others_at_once() {
        assert_eq!(most_in_flight(Order::Kept).await, 1);
        assert_eq!(most_in_flight(Order::None).await, 3);
        assert_eq!(
            Order::of("https://sqs.eu-west-1.amazonaws.com/1/orders.fifo"),
            Order::Kept
        );
        assert_eq!(Order::of("arn:aws:sns:eu-west-1:1:orders"), Order::None);
    }

    fn messages(n: usize) -> Vec<OutgoingMessage> {
        (0..n)
            .map(|i| OutgoingMessage {
                body: format!("m{i}"),
                ..OutgoingMessage::default()
            })
            .collect()
    }

    #[tokio::test]
    async fn retries_transient_failures_and_gives_up_on_permanent_ones() {
        // GIVEN a destination that refuses entry 0 for good and entry 1 once
        let calls = Mutex::new(Vec::new());
        let undelivered = deliver(messages(3), 1000, 3, Order::Kept, |batch: &[OutgoingMessage]| {
            let bodies: Vec<String> = batch.iter().map(|m| m.body.clone()).collect();
            calls.lock().expect("calls").push(bodies.clone());
            let first_call = calls.lock().expect("calls").len() == 1;
            async move {
                Ok(if first_call {
                    vec![
                        EntryFailure {
                            index: 0,
                            reason: "bad".into(),
                            permanent: true,
                            undeliverable: true,
                        },
                        EntryFailure {
                            index: 1,
                            reason: "throttled".into(),
                            permanent: false,
                            undeliverable: false,
                        },
                    ]
                } else {
                    Vec::new()
                })
            }
        })
        .await;
        // THEN only the transient one is sent again, and only the permanent one is lost
        assert_eq!(*calls.lock().expect("calls"), [vec!["m0", "m1", "m2"], vec!["m1"]]);
        assert_eq!(undelivered.len(), 1);
        assert_eq!((undelivered[0].index, undelivered[0].reason.as_str()), (0, "bad"));
    }

    #[tokio::test]
    async fn a_failing_call_is_retried_then_reported_for_every_entry() {
        let calls = Mutex::new(0);
        let undelivered = deliver(messages(12), 1000, 2, Order::Kept, |_: &[OutgoingMessage]| {
            *calls.lock().expect("calls") += 1;
            async {
                Err(CallFailed {
                    reason: "down".to_owned(),
                    transient: true,
                })
            }
        })
        .await;
        assert_eq!(undelivered.len(), 12);
        assert!(undelivered.iter().all(|u| u.reason == "down" && !u.permanent));
        assert_eq!(*calls.lock().expect("calls"), 4, "two batches, two tries each");
    }

    #[tokio::test]
    async fn a_missing_destination_is_called_once_a_batch_not_once_a_try() {
        // GIVEN a destination that does not exist
        let calls = Mutex::new(0);
        let undelivered = deliver(messages(12), 1000, 3, Order::Kept, |_: &[OutgoingMessage]| {
            *calls.lock().expect("calls") += 1;
            async {
                Err(CallFailed {
                    reason: tenant_reason("AWS.SimpleQueueService.NonExistentQueue", None),
                    transient: !is_unreachable("AWS.SimpleQueueService.NonExistentQueue"),
                })
            }
        })
        .await;
        // THEN each batch is tried once, and every message waits on the retry queue
        assert_eq!(*calls.lock().expect("calls"), 2);
        assert!(
            undelivered
                .iter()
                .all(|u| !u.permanent && u.reason.starts_with("DESTINATION_UNREACHABLE"))
        );
        assert_eq!(undelivered.len(), 12);
    }

    #[test]
    fn only_a_wrong_message_is_undeliverable_a_refusing_destination_is_not() {
        let entry = |code: &str| EntryFailure::from_batch_error("0", code, None, true).expect("entry");
        assert!(entry("InvalidMessageContents").undeliverable);
        assert!(entry("AWS.SimpleQueueService.InvalidParameterValue").undeliverable);
        for fixable in [
            "KMS.AccessDeniedException",
            "KMS.DisabledException",
            "AccessDenied",
            "NotFound",
        ] {
            let failure = entry(fixable);
            assert!(failure.permanent && !failure.undeliverable, "{fixable}");
        }
    }
}
