//! Open-loop load: each tenant's events are sent at a set rate whatever the API's
//! pace (a slow answer never slows the next event), except that one entity's
//! events are sent one after the other, so their order is the order the service
//! accepted them in (the FIFO check needs it).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use super::api::Api;

/// Text every payload carries, to be found exactly so in what arrives: an id
/// past f64's 53 bits and an amount with more digits than f64 keeps.
pub const EXACT_INTEGER: &str = "123456789012345678901234";
pub const EXACT_DECIMAL: &str = "0.12345678901234567890";

/// One tenant's share of the load.
#[derive(Debug, Clone)]
pub struct TenantLoad {
    pub tenant: String,
    /// Events a second.
    pub rate: f64,
    /// Entities its events are spread over (round robin).
    pub entities: usize,
}

/// An event the API accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub tenant: String,
    pub event_id: String,
    pub entity: String,
    /// Its place among its entity's events.
    pub seq: u64,
    /// When its POST was sent.
    pub sent: Instant,
}

/// What a load run did.
#[derive(Debug, Default)]
pub struct Sent {
    pub accepted: Vec<Accepted>,
    /// POSTs answered with anything but 201 (or not answered), with the reason.
    pub refused: Vec<String>,
}

/// Sends `loads` for `duration`; returns once every POST has been answered.
pub async fn run(api: &Api, loads: &[TenantLoad], duration: Duration) -> Sent {
    let sent = Arc::new(Mutex::new(Sent::default()));
    let tenants = loads.iter().map(|load| {
        let (api, sent, load) = (api.clone(), sent.clone(), load.clone());
        tokio::spawn(async move { tenant_load(&api, &load, duration, &sent).await })
    });
    for tenant in futures_util::future::join_all(tenants).await {
        if let Err(panic) = tenant {
            tracing::error!(%panic, "a load task panicked");
        }
    }
    std::mem::take(&mut *sent.lock().unwrap_or_else(PoisonError::into_inner))
}

async fn tenant_load(api: &Api, load: &TenantLoad, duration: Duration, sent: &Arc<Mutex<Sent>>) {
    let entities: Vec<Arc<tokio::sync::Mutex<()>>> = (0..load.entities.max(1)).map(|_| Arc::default()).collect();
    let interval = Duration::from_secs_f64(1.0 / load.rate.max(0.01));
    let started = Instant::now();
    let mut posts = Vec::new();
    let mut n: u64 = 0;
    while started.elapsed() < duration {
        let index = usize::try_from(n).unwrap_or(0) % entities.len();
        let entity = format!("ORD-{index}");
        let seq = n / entities.len() as u64;
        // Held until the POST is answered: the entity's next event waits for it.
        let turn = entities[index].clone().lock_owned().await;
        let (api, sent, tenant) = (api.clone(), sent.clone(), load.tenant.clone());
        let event_id = format!("{tenant}-{n}");
        posts.push(tokio::spawn(async move {
            let at = Instant::now();
            let answer = api
                .post(&tenant, "/api/v1/events", &event(&event_id, &entity, seq))
                .await;
            drop(turn);
            let mut sent = sent.lock().unwrap_or_else(PoisonError::into_inner);
            match answer {
                Ok(answer) if answer.status == 201 => sent.accepted.push(Accepted {
                    tenant,
                    event_id,
                    entity,
                    seq,
                    sent: at,
                }),
                Ok(answer) => sent
                    .refused
                    .push(format!("{event_id}: {} {}", answer.status, answer.body)),
                Err(err) => sent.refused.push(format!("{event_id}: {err}")),
            }
        }));
        n += 1;
        let next = started + interval.mul_f64(n as f64);
        tokio::time::sleep_until(next.into()).await;
    }
    futures_util::future::join_all(posts).await;
}

/// An ORDER create in the seed's request shape.
fn event(id: &str, entity: &str, seq: u64) -> Value {
    let payload = format!(
        r#"{{"entity":"{entity}","seq":{seq},"ref":{EXACT_INTEGER},"amount":{EXACT_DECIMAL},"currency":"EUR"}}"#
    );
    json!({
        "id": id,
        "entity_id": entity,
        "entity_name": "ORDER",
        "event_source": "APPLICATION",
        "event_type": "ENTITY_EVENT",
        "event_payload": {
            "operation": "CREATE",
            "entity_id": entity,
            "base64_encoded_payload_json": base64::engine::general_purpose::STANDARD.encode(payload),
        }
    })
}
