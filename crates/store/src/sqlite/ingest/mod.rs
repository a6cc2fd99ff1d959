//! The write side of the embedded store's analytics: raw events into the
//! main file (`events.rs`), and the rollup writer (`flusher.rs`) that sums
//! them and writes every rollup table from the sums: the 15-minute rows
//! (`quarters.rs`), the shapes' hours and days (`shapes.rs`, with the open
//! day of `open_day.rs`), their local days (`local_days.rs`) and the spans
//! of days of some (`spans.rs`), each
//! listing a row's values as `values.rs` does.

pub(super) mod events;
pub(super) mod flusher;
pub(super) mod local_days;
mod open_day;
mod quarters;
mod shapes;
mod spans;
mod values;
mod write;
