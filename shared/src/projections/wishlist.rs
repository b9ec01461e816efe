//! A shopper's wishlist as its events describe it. Every item keeps the event
//! time of its last change, and a removed item stays as a tombstone, so a late
//! older event neither reverts a change nor brings a removed item back.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::payload::{Shopper, WishlistItem};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stamped<T> {
    pub at: DateTime<Utc>,
    pub value: T,
}

/// Removed items remembered per wishlist (see `Wishlist::forget_oldest_removed`).
pub const MAX_REMOVED_KEPT: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wishlist {
    pub shopper: Stamped<Shopper>,
    /// By product key (`<product>[#<variant>]`); `None` once removed.
    pub items: BTreeMap<String, Stamped<Option<WishlistItem>>>,
}

impl Wishlist {
    pub fn new(at: DateTime<Utc>, shopper: Shopper) -> Self {
        Self {
            shopper: Stamped { at, value: shopper },
            items: BTreeMap::new(),
        }
    }

    /// The items on the wishlist now.
    pub fn present(&self) -> impl Iterator<Item = &WishlistItem> {
        self.items.values().filter_map(|s| s.value.as_ref())
    }

    /// The whole wishlist as of `at`: items not in `items` are removed.
    pub fn replace(&mut self, at: DateTime<Utc>, shopper: Shopper, items: Vec<WishlistItem>) -> bool {
        let mut changed = self.update_shopper(at, shopper);
        let mut listed: BTreeMap<String, WishlistItem> =
            items.into_iter().map(|item| (item.product().encoded(), item)).collect();
        let keys: BTreeSet<String> = self.items.keys().chain(listed.keys()).cloned().collect();
        for key in keys {
            let value = listed.remove(&key);
            changed |= self.set(at, key, value);
        }
        self.forget_oldest_removed();
        changed
    }

    /// One item added or changed (`Some`) or removed (`None`) as of `at`.
    pub fn set_item(&mut self, at: DateTime<Utc>, shopper: Shopper, key: String, item: Option<WishlistItem>) -> bool {
        let shopper_changed = self.update_shopper(at, shopper);
        let changed = self.set(at, key, item) | shopper_changed;
        self.forget_oldest_removed();
        changed
    }

    fn update_shopper(&mut self, at: DateTime<Utc>, shopper: Shopper) -> bool {
        if at <= self.shopper.at && self.shopper.value != shopper {
            return false;
        }
        let changed = self.shopper.value != shopper;
        self.shopper = Stamped {
            at: at.max(self.shopper.at),
            value: shopper,
        };
        changed
    }

    fn set(&mut self, at: DateTime<Utc>, key: String, value: Option<WishlistItem>) -> bool {
        match self.items.get(&key) {
            Some(held) if held.at >= at => false,
            Some(held) if held.value == value => false,
            None if value.is_none() => false,
            _ => {
                self.items.insert(key, Stamped { at, value });
                true
            }
        }
    }

    /// Keeps the newest `MAX_REMOVED_KEPT` removed items (which stop a late,
    /// older event from bringing an item back) and forgets older ones, so a
    /// wishlist's item never grows with every item ever taken off it.
    fn forget_oldest_removed(&mut self) {
        let mut removed: Vec<(DateTime<Utc>, String)> = self
            .items
            .iter()
            .filter(|(_, s)| s.value.is_none())
            .map(|(key, s)| (s.at, key.clone()))
            .collect();
        let Some(excess) = removed.len().checked_sub(MAX_REMOVED_KEPT).filter(|n| *n > 0) else {
            return;
        };
        // Oldest first; one time (a whole replace) ordered by key.
        removed.sort_unstable();
        for (_, key) in removed.into_iter().take(excess) {
            self.items.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::seconds(seconds)
    }

    fn ann() -> Shopper {
        Shopper {
            id: "shp-ann".into(),
            email: "ann@example.com".into(),
            name: Some("Ann".into()),
            notifications_disabled: false,
        }
    }

    fn item(product: &str) -> WishlistItem {
        WishlistItem {
            product_id: product.into(),
            variant_id: None,
            sku: None,
            name: format!("Product {product}"),
            url: format!("https://shop.example/p/{product}"),
            image: None,
            price: Some(10.0),
            currency: Some("EUR".into()),
            purchased: false,
        }
    }

    fn products(wishlist: &Wishlist) -> Vec<&str> {
        wishlist.present().map(|i| i.product_id.as_str()).collect()
    }

    #[test]
    fn a_late_older_event_neither_reverts_nor_resurrects() {
        let mut list = Wishlist::new(at(0), ann());
        assert!(list.replace(at(10), ann(), vec![item("P1"), item("P2")]));
        // P1 removed at t=30; an upsert of P1 from t=20 arrives afterwards
        assert!(list.set_item(at(30), ann(), "P1".into(), None));
        assert!(!list.set_item(at(20), ann(), "P1".into(), Some(item("P1"))));
        assert_eq!(products(&list), ["P2"]);
        // a whole-list event from before the removal changes nothing either
        assert!(!list.replace(at(15), ann(), vec![item("P1"), item("P2")]));
        assert_eq!(products(&list), ["P2"]);
        // a newer whole list replaces it
        assert!(list.replace(at(40), ann(), vec![item("P3")]));
        assert_eq!(products(&list), ["P3"]);
        assert!(
            !list.replace(at(40), ann(), vec![item("P3")]),
            "a duplicate changes nothing"
        );
    }

    #[test]
    fn the_newest_shopper_profile_wins() {
        let mut list = Wishlist::new(at(10), ann());
        let opted_out = Shopper {
            notifications_disabled: true,
            ..ann()
        };
        assert!(list.set_item(at(20), opted_out, "P1".into(), Some(item("P1"))));
        assert!(!list.set_item(at(15), ann(), "P2".into(), None));
        assert!(list.shopper.value.notifications_disabled);
    }

    #[test]
    fn removed_items_are_remembered_only_up_to_a_bound() {
        let mut list = Wishlist::new(at(0), ann());
        for i in 0..(MAX_REMOVED_KEPT as i64 + 50) {
            let key = format!("P{i}");
            list.set_item(at(2 * i), ann(), key.clone(), Some(item(&key)));
            list.set_item(at(2 * i + 1), ann(), key, None);
        }
        list.set_item(at(10_000), ann(), "KEEP".into(), Some(item("KEEP")));
        let removed: Vec<&String> = list
            .items
            .iter()
            .filter(|(_, s)| s.value.is_none())
            .map(|(k, _)| k)
            .collect();
        assert_eq!(removed.len(), MAX_REMOVED_KEPT);
        assert!(!list.items.contains_key("P0"), "the oldest removal is forgotten");
        assert!(
            list.items.contains_key(&format!("P{}", MAX_REMOVED_KEPT + 49)),
            "the newest is kept"
        );
        assert_eq!(products(&list), ["KEEP"]);
    }

    #[test]
    fn the_oldest_removals_are_forgotten_first_even_among_equal_times() {
        let mut list = Wishlist::new(at(0), ann());
        list.set_item(at(1), ann(), "Z".into(), Some(item("Z")));
        list.set_item(at(2), ann(), "Z".into(), None);
        let many: Vec<WishlistItem> = (0..=MAX_REMOVED_KEPT).map(|i| item(&format!("A{i:03}"))).collect();
        list.replace(at(3), ann(), many);
        // One replace removes them all at one time.
        list.replace(at(4), ann(), Vec::new());
        assert!(!list.items.contains_key("Z"), "the oldest removal goes first");
        assert_eq!(
            list.items.values().filter(|s| s.value.is_none()).count(),
            MAX_REMOVED_KEPT
        );
    }
}
