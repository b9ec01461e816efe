//! The per-tenant state notification jobs read (docs/architecture.md): shoppers' wishlists
//! and products' stock and price over time, fed by WISHLIST, WISHLIST_ITEM,
//! INVENTORY_LEVEL, PRODUCT, VARIANT_PRODUCT and PRICE events. Event time, not
//! arrival order, decides which change wins.

mod history;
mod memory;
mod payload;
mod port;
mod product;
mod projector;
mod store;
mod wishlist;

pub use history::History;
pub use memory::InMemoryProjections;
pub use payload::{
    PayloadError, ProductDetails, ProductKey, ProjectionEvent, Shopper, Timed, WishlistItem, check_projected_keys,
    projection_event,
};
pub use port::{MAX_PROJECTION_BYTES, Projections};
pub use product::{DEFAULT_LOW_STOCK_THRESHOLD, Price, ProductState};
pub use projector::{Projector, ProjectorConfig};
pub use store::ProjectionStore;
pub use wishlist::{Stamped, Wishlist};
