//! The rollup spec, as data and without IO: the columns of a raw event
//! ([`event::EVENT`]), the dimensions rollups are keyed by
//! ([`dim::DIMENSIONS`]), the measures they sum ([`measure::MEASURES`]),
//! and the shapes and grains they are kept in ([`shape::SHAPES`]). Each
//! engine generates its statements and row readers from these lists; the
//! tests in `tests/spec.rs` check them against the shipped migrations.

pub mod dim;
pub mod event;
pub mod grain;
pub(crate) mod key;
pub mod measure;
pub mod period;
pub mod shape;
