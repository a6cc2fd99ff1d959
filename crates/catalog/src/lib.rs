//! The model price catalog of tally and the exact cost of a request.
//!
//! Prices are integers of nano-USD per million tokens ([`PerMillion`]); a
//! cost is [`Money`](tally_core::Money), an integer of nano-USD. No float is
//! involved anywhere: not in the embedded data, not in parsing, not in the
//! arithmetic.
//!
//! - [`cost`] prices one request's [`Usage`](tally_core::Usage) with a set of
//!   [`Prices`], rounding once, half away from zero, to the nano-USD.
//! - [`Catalog`] holds the prices of known models: [`Catalog::builtin`] is the
//!   catalog compiled into the binary (derived from LiteLLM's price list, see
//!   `data/README.md`), [`Catalog::prices`] finds the prices of a model served
//!   by a provider, and [`Catalog::canonical`] names the model independently
//!   of who served it.

mod catalog;
mod price;

pub use catalog::{Catalog, CatalogError, Entry};
pub use price::{Charge, PerMillion, Prices, Tier, ceiling, charges, cost};
