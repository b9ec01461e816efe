//! Which items each shopper's e-mail lists (docs/architecture.md), as pure functions of the
//! job, the time of its last successful run, the wishlist and product states.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::links::with_utm;
use crate::jobs::{Job, Notification};
use crate::projections::{DEFAULT_LOW_STOCK_THRESHOLD, ProductKey, ProductState, Wishlist, WishlistItem};
use crate::sendgrid::{Address, Personalization};
use crate::util::text::is_https_link;

/// What a job needs to decide, besides each shopper's wishlist.
pub struct Composer<'a> {
    pub job: &'a Job,
    /// The last successful run's cut-off (or the job's creation, before its first run).
    pub since: DateTime<Utc>,
    /// This run's cut-off: it mails the changes recorded in `(since, until]`, and
    /// the next run those after, so no change is mailed by two runs.
    pub until: DateTime<Utc>,
    pub products: &'a HashMap<ProductKey, ProductState>,
}

impl Composer<'_> {
    /// The e-mail for this shopper, or `None` when there is nothing to send (or
    /// the shopper opted out).
    pub fn personalization(&self, wishlist: &Wishlist) -> Option<Personalization> {
        let shopper = &wishlist.shopper.value;
        if shopper.notifications_disabled {
            return None;
        }
        let limit = usize::try_from(self.job.number_of_items_in_email).unwrap_or(usize::MAX);
        let items: Vec<Value> = wishlist
            .present()
            .filter(|item| !item.purchased && self.selects(item))
            .take(limit)
            .map(|item| self.item(item))
            .collect();
        if items.is_empty() {
            return None;
        }
        Some(Personalization {
            to: vec![Address {
                email: shopper.email.clone(),
                name: shopper.name.clone(),
            }],
            dynamic_template_data: json!({
                "notification": self.job.notification,
                "shopper": {"id": shopper.id, "name": shopper.name, "email": shopper.email},
                "items": items,
            }),
        })
    }

    fn selects(&self, item: &WishlistItem) -> bool {
        if self.job.notification == Notification::WishlistReminder {
            return true;
        }
        let Some(state) = self.products.get(&item.product()) else {
            return false;
        };
        // By what the projection showed within the window (recording times, our
        // clock), not by event times (the retailers' clocks).
        let (since, until) = (self.since, self.until);
        match self.job.notification {
            Notification::WishlistReminder => true, // answered above, product state or not
            Notification::BackInStock => state.stock.came_to(since, until, |q| *q <= 0, |q| *q > 0),
            Notification::PriceDrop => state
                .prices
                .changed_between(since, until, |then, now| now.amount < then.amount),
            Notification::LowStock => {
                let line = self.low_stock_threshold();
                state
                    .stock
                    .came_to(since, until, |q| *q > line, |q| *q <= line && *q > 0)
            }
        }
    }

    fn low_stock_threshold(&self) -> i64 {
        self.job
            .job_parameters
            .get("low_stock_threshold")
            .and_then(Value::as_i64)
            .unwrap_or(DEFAULT_LOW_STOCK_THRESHOLD)
    }

    fn parameter(&self, name: &str) -> Option<&str> {
        self.job.job_parameters.get(name).and_then(Value::as_str)
    }

    /// An item as the template gets it: the wishlist's details, the current price
    /// and stock where known, and the link with the campaign's tracking.
    fn item(&self, item: &WishlistItem) -> Value {
        let state = self.products.get(&item.product());
        let price = state.and_then(|s| s.prices.current());
        let medium = self.parameter("utm_medium").unwrap_or("email");
        json!({
            "product_id": item.product_id,
            "variant_id": item.variant_id,
            "sku": item.sku,
            "name": item.name,
            // Checked at ingest; an item projected before that was is sent without its link.
            "url": is_https_link(&item.url).then(|| with_utm(&item.url, medium, self.parameter("campaign_id"))),
            "image": item.image.as_deref().filter(|image| is_https_link(image)),
            "price": price.map(|p| p.amount).or(item.price),
            "currency": price.and_then(|p| p.currency.clone()).or_else(|| item.currency.clone()),
            "stock": state.and_then(|s| s.stock.current()),
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::projections::{Price, Shopper};

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::hours(hours)
    }

    fn job(notification: &str, items: i32) -> Job {
        serde_json::from_value(json!({
            "id": "j", "notification": notification, "template_id": "d-1", "number_of_items_in_email": items,
            "job_parameters": {"campaign_id": "winter", "low_stock_threshold": 3},
            "schedule": null, "scheduleExpression": null, "scheduleTimezone": null,
            "is_active": true, "is_scheduled": true, "deleted": false, "schedule_status": "ENABLED",
            "schedule_error": null, "next_run_at": null, "last_run_at": null,
            "created_at": "1970-01-01T00:00:00.000Z", "updated_at": "1970-01-01T00:00:00.000Z"
        }))
        .expect("job")
    }

    fn item(product: &str, purchased: bool) -> WishlistItem {
        WishlistItem {
            product_id: product.into(),
            variant_id: None,
            sku: None,
            name: product.into(),
            url: format!("https://shop.example/p/{product}?ref=wl"),
            image: None,
            price: Some(10.0),
            currency: Some("EUR".into()),
            purchased,
        }
    }

    fn wishlist(shopper: &str, items: &[(&str, bool)], disabled: bool) -> Wishlist {
        let mut list = Wishlist::new(
            at(0),
            Shopper {
                id: shopper.into(),
                email: format!("{shopper}@example.com"),
                name: None,
                notifications_disabled: disabled,
            },
        );
        let shopper = list.shopper.value.clone();
        list.replace(
            at(0),
            shopper,
            items.iter().map(|(p, bought)| item(p, *bought)).collect(),
        );
        list
    }

    /// P1 always in stock at 40 €; P2 out of stock until restocked (5) after the
    /// last run at hour 10; P3 dropped from 50 € to 30 €; P4 fell from 8 to 2.
    fn products() -> HashMap<ProductKey, ProductState> {
        let price = |amount| {
            Some(Price {
                amount,
                currency: Some("EUR".into()),
            })
        };
        let mut products = HashMap::new();
        for (id, changes) in [
            ("P1", vec![(1, Some(9), price(40.0))]),
            ("P2", vec![(1, Some(0), None), (12, Some(5), None)]),
            ("P3", vec![(1, Some(9), price(50.0)), (12, None, price(30.0))]),
            ("P4", vec![(1, Some(8), None), (12, Some(2), None)]),
        ] {
            let key = ProductKey::new(id, None);
            let mut state = ProductState::new(key.clone());
            for (hour, quantity, price) in changes {
                state.apply(at(hour), at(hour), None, quantity, price);
            }
            products.insert(key, state);
        }
        products
    }

    fn listed(job: &Job, list: &Wishlist) -> Vec<String> {
        let products = products();
        let composer = Composer {
            job,
            since: at(10),
            until: at(100),
            products: &products,
        };
        composer
            .personalization(list)
            .map(|p| {
                p.dynamic_template_data["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .map(|i| i["product_id"].as_str().expect("id").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn each_notification_lists_what_changed_since_the_last_run() {
        let all = wishlist(
            "ann",
            &[("P1", false), ("P2", false), ("P3", false), ("P4", false)],
            false,
        );
        assert_eq!(listed(&job("BACK_IN_STOCK", -1), &all), ["P2"]);
        assert_eq!(listed(&job("PRICE_DROP", -1), &all), ["P3"]);
        assert_eq!(listed(&job("LOW_STOCK", -1), &all), ["P4"]);
        assert_eq!(listed(&job("WISHLIST_REMINDER", -1), &all), ["P1", "P2", "P3", "P4"]);
        assert_eq!(
            listed(&job("WISHLIST_REMINDER", 2), &all),
            ["P1", "P2"],
            "at most N items"
        );
        let nothing_new = wishlist("bob", &[("P1", false)], false);
        assert!(listed(&job("BACK_IN_STOCK", -1), &nothing_new).is_empty(), "no e-mail");
    }

    /// Whether ann, wishing for P9 whose stock went through `stock` (hour,
    /// quantity: recorded at that hour), is mailed by a back-in-stock run whose
    /// window is (`since`, `until`].
    fn p9_mailed(stock: &[(i64, i64)], since: i64, until: i64) -> bool {
        let key = ProductKey::new("P9", None);
        let mut state = ProductState::new(key.clone());
        for &(hour, quantity) in stock {
            state.apply(at(hour), at(hour), None, Some(quantity), None);
        }
        let products = HashMap::from([(key, state)]);
        let job = job("BACK_IN_STOCK", -1);
        let composer = Composer {
            job: &job,
            since: at(since),
            until: at(until),
            products: &products,
        };
        composer
            .personalization(&wishlist("ann", &[("P9", false)], false))
            .is_some()
    }

    #[test]
    fn consecutive_runs_mail_a_restock_once_whenever_it_is_read() {
        // GIVEN P9 out of stock, back at hour 15
        let back = [(1, 0), (15, 5)];
        // THEN of runs cut off at 20 and at 30, the one whose window holds the
        // restock mails it, the next does not (both read the same state)
        assert!(p9_mailed(&back, 10, 20));
        assert!(!p9_mailed(&back, 20, 30));
        // AND a run cut off before it leaves it to the next
        assert!(!p9_mailed(&back, 0, 12));
        assert!(p9_mailed(&back, 12, 20));
    }

    #[test]
    fn a_product_sold_out_again_since_the_cut_off_is_not_announced() {
        assert!(!p9_mailed(&[(1, 0), (15, 5), (25, 0)], 10, 20));
    }

    #[test]
    fn purchased_items_and_opted_out_shoppers_are_left_out() {
        let bought = wishlist("ann", &[("P2", true), ("P1", false)], false);
        assert!(listed(&job("BACK_IN_STOCK", -1), &bought).is_empty());
        assert_eq!(listed(&job("WISHLIST_REMINDER", -1), &bought), ["P1"]);
        let opted_out = wishlist("cy", &[("P2", false)], true);
        assert!(listed(&job("WISHLIST_REMINDER", -1), &opted_out).is_empty());
    }

    #[test]
    fn items_carry_current_price_stock_and_tracked_links() {
        let products = products();
        let job = job("PRICE_DROP", -1);
        let composer = Composer {
            job: &job,
            since: at(10),
            until: at(100),
            products: &products,
        };
        let mail = composer
            .personalization(&wishlist("ann", &[("P3", false)], false))
            .expect("an e-mail");
        assert_eq!(mail.to[0].email, "ann@example.com");
        let item = &mail.dynamic_template_data["items"][0];
        assert_eq!(item["price"], 30.0);
        assert_eq!(item["stock"], 9);
        assert_eq!(
            item["url"],
            "https://shop.example/p/P3?ref=wl&utm_medium=email&utm_campaign=winter"
        );
        assert_eq!(mail.dynamic_template_data["notification"], "PRICE_DROP");
    }
}
