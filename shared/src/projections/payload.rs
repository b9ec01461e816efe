//! The payloads (decoded `base64_encoded_payload_json`) of the entity events the
//! notification projections follow. Documented in docs/api.md; unknown fields are
//! ignored so retailers can send their full objects.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::events::{Event, Operation, decode_json, key_value};
use crate::util::text::{is_email_address, is_https_link};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shopper {
    pub id: String,
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The shopper opted out of notification e-mails.
    #[serde(default)]
    pub notifications_disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WishlistItem {
    pub product_id: String,
    #[serde(default)]
    pub variant_id: Option<String>,
    #[serde(default)]
    pub sku: Option<String>,
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub price: Option<f64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub purchased: bool,
}

impl WishlistItem {
    pub fn product(&self) -> ProductKey {
        ProductKey::new(&self.product_id, self.variant_id.as_deref())
    }
}

/// A product, or one variant of it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProductKey {
    pub product_id: String,
    pub variant_id: Option<String>,
}

impl ProductKey {
    pub fn new(product_id: &str, variant_id: Option<&str>) -> Self {
        Self {
            product_id: product_id.to_owned(),
            variant_id: variant_id.filter(|v| !v.is_empty()).map(str::to_owned),
        }
    }

    /// `<product>` or `<product>#<variant>`, for keys.
    pub fn encoded(&self) -> String {
        match &self.variant_id {
            Some(variant) => format!("{}#{variant}", self.product_id),
            None => self.product_id.clone(),
        }
    }
}

#[derive(Deserialize)]
struct WishlistPayload {
    shopper: Shopper,
    #[serde(default)]
    items: Vec<WishlistItem>,
    #[serde(default)]
    occurred_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct WishlistItemPayload {
    shopper: Shopper,
    item: WishlistItem,
    #[serde(default)]
    occurred_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct ProductPayload {
    product_id: String,
    #[serde(default)]
    variant_id: Option<String>,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    price: Option<f64>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    quantity: Option<i64>,
    #[serde(default)]
    occurred_at: Option<DateTime<Utc>>,
}

/// Catalogue details of a product.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductDetails {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub url: Option<String>,
    pub image: Option<String>,
}

/// What one event says, for the projections.
#[derive(Debug, Clone, PartialEq)]
pub enum ProjectionEvent {
    /// The shopper's whole wishlist (empty for a DELETE).
    Wishlist { shopper: Shopper, items: Vec<WishlistItem> },
    /// One item added or changed (`removed: false`) or taken off (`removed: true`).
    WishlistItem {
        shopper: Shopper,
        item: WishlistItem,
        removed: bool,
    },
    /// A product's state; each part only when the event carries it.
    Product {
        product: ProductKey,
        details: Option<ProductDetails>,
        quantity: Option<i64>,
        price: Option<(f64, Option<String>)>,
    },
}

/// A projection event and when it happened (the payload's `occurred_at`, else
/// when the API accepted it): later events win, whatever order they arrive in.
#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    pub at: DateTime<Utc>,
    pub event: ProjectionEvent,
}

#[derive(Debug, thiserror::Error)]
#[error("{entity} payload: {reason}")]
pub struct PayloadError {
    pub entity: String,
    pub reason: String,
}

/// `json` read as `T`, or where it differs, without quoting values: serde's
/// messages quote them, and payloads carry shoppers' data, which is logged.
fn schema<T: serde::de::DeserializeOwned>(json: serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(json).map_err(|err| {
        let inner = err.inner().to_string();
        let problem = if inner.starts_with("missing field") {
            inner
        } else {
            "wrong type or value".to_owned()
        };
        format!("{}: {problem}", err.path())
    })
}

/// The projection event `event` carries; `None` for entities the projections
/// do not follow, and for READ operations.
pub fn projection_event(event: &Event) -> Result<Option<Timed>, PayloadError> {
    let Some(timed) = parse(event)? else { return Ok(None) };
    // A wishlist removal stores no item: it may name the item as it was stored
    // before links were checked. Its shopper is stored, so the address is checked.
    let removal = matches!(event.event_payload.operation, Operation::Delete | Operation::BulkDelete);
    check_keys(&timed.event, removal).map_err(|reason| PayloadError {
        entity: event.entity_name.clone(),
        reason,
    })?;
    Ok(Some(timed))
}

/// Refuses, at ingest, an event the projections would read with an id unfit
/// for a key, a shopper e-mail that is not an address, or a link for e-mails
/// that is not `https`. Other payload problems are not refused: the event is
/// still stored and delivered, and the projector parks it with the reason.
pub fn check_projected_keys(event: &Event) -> Result<(), PayloadError> {
    projection_event(event).map(|_| ()).or_else(|err| match parse(event) {
        Ok(_) => Err(err),
        Err(_) => Ok(()),
    })
}

fn parse(event: &Event) -> Result<Option<Timed>, PayloadError> {
    let entity = event.entity_name.as_str();
    if !matches!(
        entity,
        "WISHLIST" | "WISHLIST_ITEM" | "INVENTORY_LEVEL" | "PRODUCT" | "VARIANT_PRODUCT" | "PRICE"
    ) || event.event_payload.operation == Operation::Read
    {
        return Ok(None);
    }
    let fail = |reason: String| PayloadError {
        entity: entity.to_owned(),
        reason,
    };
    let raw = event
        .event_payload
        .base64_encoded_payload_json
        .as_deref()
        .ok_or_else(|| fail("base64_encoded_payload_json is required".into()))?;
    let json = decode_json(raw).map_err(|e| fail(e.to_string()))?;
    let removed = matches!(event.event_payload.operation, Operation::Delete | Operation::BulkDelete);
    let (occurred_at, projected) = match entity {
        "WISHLIST" => {
            let p: WishlistPayload = schema(json).map_err(fail)?;
            let items = if removed { Vec::new() } else { p.items };
            (
                p.occurred_at,
                ProjectionEvent::Wishlist {
                    shopper: p.shopper,
                    items,
                },
            )
        }
        "WISHLIST_ITEM" => {
            let p: WishlistItemPayload = schema(json).map_err(fail)?;
            (
                p.occurred_at,
                ProjectionEvent::WishlistItem {
                    shopper: p.shopper,
                    item: p.item,
                    removed,
                },
            )
        }
        _ => {
            let p: ProductPayload = schema(json).map_err(fail)?;
            let details = (entity != "INVENTORY_LEVEL" && entity != "PRICE").then_some(ProductDetails {
                sku: p.sku,
                name: p.name,
                url: p.url,
                image: p.image,
            });
            let quantity = if entity == "PRICE" { None } else { p.quantity };
            if entity == "INVENTORY_LEVEL" && quantity.is_none() {
                return Err(fail("quantity is required".into()));
            }
            let price = if entity == "INVENTORY_LEVEL" {
                None
            } else {
                p.price.map(|amount| (amount, p.currency))
            };
            if entity == "PRICE" && price.is_none() {
                return Err(fail("price is required".into()));
            }
            (
                p.occurred_at,
                ProjectionEvent::Product {
                    product: ProductKey::new(&p.product_id, p.variant_id.as_deref()),
                    details,
                    quantity,
                    price,
                },
            )
        }
    };
    Ok(Some(Timed {
        at: occurred_at.unwrap_or(event.created_at),
        event: projected,
    }))
}

/// The ids the projections put in keys (shopper, product, variant) held to the
/// entity id rules, so every key fits DynamoDB's limits; the shopper's e-mail
/// address; and the links e-mails will carry (but a wishlist `removal`'s,
/// which stores no item).
fn check_keys(projected: &ProjectionEvent, removal: bool) -> Result<(), String> {
    let (shopper, products): (Option<&Shopper>, Vec<ProductKey>) = match projected {
        ProjectionEvent::Wishlist { shopper, items } => {
            (Some(shopper), items.iter().map(WishlistItem::product).collect())
        }
        ProjectionEvent::WishlistItem { shopper, item, .. } => (Some(shopper), vec![item.product()]),
        ProjectionEvent::Product { product, .. } => (None, vec![product.clone()]),
    };
    let checks = shopper
        .map(|s| ("shopper.id", s.id.as_str()))
        .into_iter()
        .chain(products.iter().flat_map(|p| {
            [
                Some(("product_id", p.product_id.as_str())),
                p.variant_id.as_deref().map(|v| ("variant_id", v)),
            ]
            .into_iter()
            .flatten()
        }));
    for (field, value) in checks {
        key_value(field, value).map_err(|e| format!("{}: {}", e.field, e.message))?;
    }
    if shopper.is_some_and(|s| !is_email_address(&s.email)) {
        return Err("shopper.email: must be an e-mail address".to_owned());
    }
    match projected {
        ProjectionEvent::Wishlist { .. } | ProjectionEvent::WishlistItem { .. } if removal => Ok(()),
        _ => check_links(projected),
    }
}

/// Links that go in e-mails are `https` ones: a `javascript:` or `data:` link
/// in a wishlist would reach shoppers' inboxes under the retailer's name.
fn check_links(projected: &ProjectionEvent) -> Result<(), String> {
    let item_links = |path: String, item: &WishlistItem| {
        [
            Some((format!("{path}.url"), item.url.clone())),
            item.image.clone().map(|image| (format!("{path}.image"), image)),
        ]
    };
    let links: Vec<(String, String)> = match projected {
        ProjectionEvent::Wishlist { items, .. } => items
            .iter()
            .enumerate()
            .flat_map(|(i, item)| item_links(format!("items[{i}]"), item))
            .flatten()
            .collect(),
        ProjectionEvent::WishlistItem { item, .. } => {
            item_links("item".to_owned(), item).into_iter().flatten().collect()
        }
        ProjectionEvent::Product {
            details: Some(details), ..
        } => [
            details.url.clone().map(|url| ("url".to_owned(), url)),
            details.image.clone().map(|image| ("image".to_owned(), image)),
        ]
        .into_iter()
        .flatten()
        .collect(),
        ProjectionEvent::Product { details: None, .. } => Vec::new(),
    };
    match links.into_iter().find(|(_, link)| !is_https_link(link)) {
        Some((field, _)) => Err(format!("{field}: must be an https:// link")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::{Value, json};

    use super::*;
    use crate::events::EventRequest;

    fn event(entity: &str, operation: &str, payload: Value) -> Event {
        let request: EventRequest = serde_json::from_value(json!({
            "id": "e1", "entity_id": "X-1", "entity_name": entity, "event_source": "SYSTEM",
            "event_type": "ENTITY_EVENT", "event_payload": {
                "operation": operation, "base64_encoded_payload_json": STANDARD.encode(payload.to_string())
            }
        }))
        .expect("request");
        request.into_event(chrono::Utc::now()).expect("valid")
    }

    #[test]
    fn schema_errors_name_the_place_but_never_quote_the_value() {
        let shopper = json!({"id": "shp-1", "email": ["ann@example.com"]});
        let err = projection_event(&event("WISHLIST", "UPDATE", json!({"shopper": shopper, "items": []})))
            .expect_err("not the schema")
            .to_string();
        assert!(err.contains("shopper.email"), "{err}");
        assert!(!err.contains("ann@example.com"), "{err}");
        let missing = projection_event(&event("WISHLIST", "UPDATE", json!({"items": []})))
            .expect_err("not the schema")
            .to_string();
        assert!(missing.contains("missing field `shopper`"), "{missing}");
    }

    #[test]
    fn links_for_e_mails_are_https_and_shopper_addresses_are_addresses() {
        // GIVEN a shopper and an item as a retailer would send them
        let shopper = json!({"id": "shp-1", "email": "ann@example.com"});
        let item = |url: &str, image: &str| json!({"product_id": "P1", "name": "Boots", "url": url, "image": image});
        let wishlist =
            |shopper: &Value, item: Value| event("WISHLIST", "UPDATE", json!({"shopper": shopper, "items": [item]}));
        let good = item("https://shop.example/p/1", "https://cdn.example/1.jpg");
        assert!(projection_event(&wishlist(&shopper, good.clone())).is_ok());
        // WHEN a link is not https, or the address is not one
        let cases = [
            (
                wishlist(&shopper, item("javascript:alert(1)", "https://cdn.example/1.jpg")),
                "items[0].url",
            ),
            (
                wishlist(&shopper, item("https://shop.example/p/1", "data:image/png;base64,AAAA")),
                "items[0].image",
            ),
            (
                event(
                    "WISHLIST_ITEM",
                    "CREATE",
                    json!({"shopper": shopper, "item": item("http://shop.example/p/1", "https://cdn.example/1.jpg")}),
                ),
                "item.url",
            ),
            (
                event(
                    "PRODUCT",
                    "UPDATE",
                    json!({"product_id": "P1", "image": "javascript:x"}),
                ),
                "image",
            ),
            (
                wishlist(&json!({"id": "shp-1", "email": "ann at example.com"}), good),
                "shopper.email",
            ),
        ];
        // THEN the event is refused, naming the member and never quoting it
        for (event, field) in cases {
            let err = check_projected_keys(&event).expect_err(field).to_string();
            assert!(err.contains(&format!("{field}: ")), "{err}");
            assert!(!err.contains("javascript") && !err.contains("ann at"), "{err}");
        }
        // AND a removal naming the item as stored before (an http link) is taken
        let stored_before =
            json!({"shopper": shopper, "item": item("http://shop.example/p/1", "https://cdn.example/1.jpg")});
        assert!(check_projected_keys(&event("WISHLIST_ITEM", "DELETE", stored_before)).is_ok());
        // AND not a removal's shopper address that is none (the shopper is
        // stored), nor a product removal's link (its details are)
        let linked = item("https://shop.example/p/1", "https://cdn.example/1.jpg");
        let no_address = json!({"shopper": {"id": "shp-1", "email": "nobody"}, "item": linked});
        assert!(check_projected_keys(&event("WISHLIST_ITEM", "DELETE", no_address)).is_err());
        let product = json!({"product_id": "P1", "url": "http://shop.example/p/1"});
        assert!(check_projected_keys(&event("PRODUCT", "DELETE", product)).is_err());
    }

    #[test]
    fn each_followed_entity_becomes_its_projection_event() {
        let shopper = json!({"id": "shp-1", "email": "ann@example.com"});
        let item = json!({"product_id": "P1", "name": "Boots", "url": "https://shop.example/p/1"});
        let occurred = "2026-11-20T10:00:00Z";
        let wishlist = projection_event(&event(
            "WISHLIST",
            "UPDATE",
            json!({"shopper": shopper, "items": [item], "occurred_at": occurred}),
        ))
        .expect("valid")
        .expect("followed");
        assert_eq!(
            wishlist.at.to_rfc3339(),
            "2026-11-20T10:00:00+00:00",
            "the payload's time wins"
        );
        assert!(matches!(wishlist.event, ProjectionEvent::Wishlist { ref items, .. } if items.len() == 1));
        let deleted = projection_event(&event(
            "WISHLIST",
            "DELETE",
            json!({"shopper": shopper, "items": [item]}),
        ))
        .expect("valid")
        .expect("followed");
        assert!(matches!(deleted.event, ProjectionEvent::Wishlist { ref items, .. } if items.is_empty()));
        let removed = projection_event(&event(
            "WISHLIST_ITEM",
            "DELETE",
            json!({"shopper": shopper, "item": item}),
        ))
        .expect("valid")
        .expect("followed");
        assert!(matches!(
            removed.event,
            ProjectionEvent::WishlistItem { removed: true, .. }
        ));
        let stock = projection_event(&event(
            "INVENTORY_LEVEL",
            "UPDATE",
            json!({"product_id": "P1", "variant_id": "", "quantity": 5}),
        ))
        .expect("valid")
        .expect("followed");
        assert_eq!(
            stock.event,
            ProjectionEvent::Product {
                product: ProductKey::new("P1", None),
                details: None,
                quantity: Some(5),
                price: None
            }
        );
        let price = projection_event(&event(
            "PRICE",
            "UPDATE",
            json!({"product_id": "P1", "price": 19.9, "quantity": 3}),
        ))
        .expect("valid")
        .expect("followed");
        assert!(
            matches!(price.event, ProjectionEvent::Product { quantity: None, price: Some((amount, None)), .. } if amount == 19.9)
        );
    }

    #[test]
    fn other_entities_are_ignored_and_bad_payloads_named() {
        assert!(
            projection_event(&event("ORDER", "CREATE", json!({})))
                .expect("ok")
                .is_none()
        );
        assert!(
            projection_event(&event("PRICE", "READ", json!({})))
                .expect("ok")
                .is_none()
        );
        let missing = projection_event(&event("INVENTORY_LEVEL", "UPDATE", json!({"product_id": "P1"})));
        assert!(missing.is_err_and(|e| e.to_string().contains("quantity")));
        assert!(projection_event(&event("WISHLIST", "CREATE", json!({"items": []}))).is_err());
    }
}
