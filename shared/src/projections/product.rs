//! A product's (or variant's) state as its events describe it: catalogue details,
//! stock and price over time, and the times of its last restock, price drop and
//! fall to low stock.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::history::History;
use super::payload::{ProductDetails, ProductKey};

/// The low-stock line for `last_low_stock_at`; jobs may use their own
/// (`job_parameters.low_stock_threshold`) against the stock history.
pub const DEFAULT_LOW_STOCK_THRESHOLD: i64 = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub amount: f64,
    pub currency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductState {
    pub product: ProductKey,
    /// The latest details, and the event time they are from.
    pub details: Option<(DateTime<Utc>, ProductDetails)>,
    pub stock: History<i64>,
    pub prices: History<Price>,
    pub last_restock_at: Option<DateTime<Utc>>,
    pub last_price_drop_at: Option<DateTime<Utc>>,
    pub last_low_stock_at: Option<DateTime<Utc>>,
}

impl ProductState {
    pub fn new(product: ProductKey) -> Self {
        Self {
            product,
            details: None,
            stock: History::default(),
            prices: History::default(),
            last_restock_at: None,
            last_price_drop_at: None,
            last_low_stock_at: None,
        }
    }

    /// Applies what an event at `at` says, recorded at `recorded_at`; false when
    /// it changes nothing (a duplicate, or details older than those held).
    pub fn apply(
        &mut self,
        at: DateTime<Utc>,
        recorded_at: DateTime<Utc>,
        details: Option<ProductDetails>,
        quantity: Option<i64>,
        price: Option<Price>,
    ) -> bool {
        let mut changed = false;
        if let Some(details) = details
            && self.details.as_ref().is_none_or(|(held, _)| *held < at)
        {
            self.details = Some((at, details));
            changed = true;
        }
        if let Some(quantity) = quantity {
            changed |= self.stock.record(at, recorded_at, quantity);
        }
        if let Some(price) = price {
            changed |= self.prices.record(at, recorded_at, price);
        }
        self.last_restock_at = self.stock.last_transition(|q| *q <= 0, |q| *q > 0);
        self.last_low_stock_at = self.stock.last_transition(
            |q| *q > DEFAULT_LOW_STOCK_THRESHOLD,
            |q| *q <= DEFAULT_LOW_STOCK_THRESHOLD,
        );
        self.last_price_drop_at = self
            .prices
            .last_change_where(|before, after| after.amount < before.amount);
        changed
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::seconds(seconds)
    }

    fn price(amount: f64) -> Option<Price> {
        Some(Price {
            amount,
            currency: Some("EUR".into()),
        })
    }

    #[test]
    fn restock_low_stock_and_price_drop_times_follow_event_time_not_arrival() {
        let mut p2 = ProductState::new(ProductKey::new("P2", None));
        assert!(p2.apply(at(10), at(10), None, Some(0), price(50.0)));
        // the restock (t=30) arrives before an older price cut (t=20)
        assert!(p2.apply(at(30), at(30), None, Some(5), None));
        assert!(p2.apply(at(20), at(20), None, None, price(40.0)));
        assert!(!p2.apply(at(30), at(30), None, Some(5), None), "duplicate");
        assert_eq!(p2.stock.current(), Some(&5));
        assert_eq!(p2.last_restock_at, Some(at(30)));
        assert_eq!(p2.last_price_drop_at, Some(at(20)));
        assert_eq!(p2.last_low_stock_at, None, "it never was above the line");
        assert!(p2.apply(at(40), at(40), None, Some(12), None));
        assert!(p2.apply(at(50), at(50), None, Some(4), None));
        assert_eq!(p2.last_low_stock_at, Some(at(50)));
    }

    #[test]
    fn older_details_never_replace_newer_ones() {
        let mut p = ProductState::new(ProductKey::new("P1", Some("V1")));
        let named = |name: &str| {
            Some(ProductDetails {
                name: Some(name.into()),
                ..ProductDetails::default()
            })
        };
        assert!(p.apply(at(20), at(20), named("Boots v2"), None, None));
        assert!(!p.apply(at(10), at(10), named("Boots"), None, None));
        assert_eq!(
            p.details.as_ref().and_then(|(_, d)| d.name.as_deref()),
            Some("Boots v2")
        );
    }
}
